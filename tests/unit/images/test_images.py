"""The photo pipeline on real Pillow images generated in memory (no mocks, no fixtures on
disk): orientation, metadata stripping, colour modes and profiles, size rules, hostile
input, draft-mode decoding, duplicate hash, sharpness and branding."""

from __future__ import annotations

import functools
import io
import math
import random
import struct
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps, ImageStat, PngImagePlugin

from bot.campaign.coach import Focus, focus
from bot.config import CoachSettings
from bot.photos.encode import THUMB_SIDE, thumbnail, thumbnail_size
from bot.photos.fingerprints import dhash
from bot.photos.pipeline import ImageOptions, ProcessedImage, process_image
from bot.photos.refusals import (
    AnimatedImage,
    ImageRejected,
    NotAnImage,
    TooElongated,
    TooManyPixels,
    TooSmall,
)
from bot.photos.sharpness import sharpness
from models.dhash import hamming
from tests.support import imagegen

PLAIN = ImageOptions(branding=False)


def decoded(result: ProcessedImage) -> Image.Image:
    img = Image.open(io.BytesIO(result.jpeg))
    assert img.format == "JPEG"
    assert img.mode == "RGB"
    assert img.size == (result.width, result.height)
    img.load()
    return img


def near(pixel: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 16) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio in dB between two RGB images of the same size."""
    assert a.size == b.size
    stat = ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB")))
    mse = sum(stat.sum2) / (len(stat.sum2) * a.width * a.height)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def mean(img: Image.Image, box: tuple[int, int, int, int]) -> tuple[float, ...]:
    return tuple(ImageStat.Stat(img.crop(box)).mean)


@functools.cache
def large_jpeg() -> bytes:
    return imagegen.photo_jpeg(6000, 4000, seed=3)


# --- orientation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orientation", "expected_size"),
    [(None, (1200, 900)), (1, (1200, 900)), (3, (1200, 900)), (6, (900, 1200)), (8, (900, 1200))],
)
def test_exif_orientation_is_applied(orientation: int | None, expected_size: tuple[int, int]):
    data = imagegen.photo_jpeg(1200, 900, orientation=orientation, marker=True)
    result = process_image(data, PLAIN)
    img = decoded(result)
    assert img.size == expected_size
    assert (result.original_width, result.original_height) == expected_size
    w, h = img.size
    # The red marker was drawn in the *visual* top-left corner; only there is it red.
    assert near(img.getpixel((10, 10)), imagegen.MARKER_COLOUR, 40)
    for corner in [(w - 10, 10), (10, h - 10), (w - 10, h - 10)]:
        assert not near(img.getpixel(corner), imagegen.MARKER_COLOUR, 40)


@pytest.mark.parametrize("orientation", [6, 8])
def test_orientation_with_draft_decoding(orientation: int):
    # Stored landscape 4032x3024 (sensor), shown portrait: decoded at 1/2, then rotated.
    data = imagegen.photo_jpeg(4032, 3024, orientation=orientation, marker=True)
    result = process_image(data, PLAIN)
    img = decoded(result)
    assert img.size == (1200, 1600)
    assert result.draft_scale == 2
    assert (result.original_width, result.original_height) == (3024, 4032)
    assert near(img.getpixel((20, 20)), imagegen.MARKER_COLOUR, 40)
    assert not near(img.getpixel((1180, 1580)), imagegen.MARKER_COLOUR, 40)


# --- metadata ----------------------------------------------------------------------------


def test_jpeg_metadata_is_removed():
    data = imagegen.photo_jpeg(
        1000,
        750,
        orientation=6,
        gps=True,
        xmp=True,
        comment=b"taken at 12 rue des Lilas",
        icc_profile=imagegen.srgb_profile(),
    )
    original = Image.open(io.BytesIO(data))
    # The input really carries everything we want gone.
    assert original.getexif().get_ifd(0x8825)  # GPS IFD
    assert {"icc_profile", "xmp", "comment", "exif"} <= original.info.keys()

    result = process_image(data, ImageOptions(band_text="Fiers d'être apprentis"))
    img = decoded(result)
    assert not img.getexif()
    assert not {"icc_profile", "xmp", "comment", "exif", "XML:com.adobe.xmp"} & img.info.keys()
    markers = {marker for marker, _ in imagegen.jpeg_segments(result.jpeg)}
    assert not markers & {0xE1, 0xE2, 0xFE}  # APP1 (EXIF/XMP), APP2 (ICC), COM
    for needle in (b"Exif\0\0", b"ns.adobe.com/xap", b"ICC_PROFILE", b"Phonix", b"Lilas"):
        assert needle not in result.jpeg


def test_png_metadata_is_removed():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "home address")
    out = io.BytesIO()
    imagegen.scene(800, 600).save(
        out, "PNG", pnginfo=info, exif=imagegen.exif_bytes(gps=True), icc_profile=b""
    )
    img = decoded(process_image(out.getvalue(), PLAIN))
    assert not img.getexif()
    assert set(img.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density"}


# --- colour modes and profiles -----------------------------------------------------------


def test_cmyk_jpeg_becomes_rgb():
    img = decoded(process_image(imagegen.cmyk_jpeg(800, 600), PLAIN))
    assert near(img.getpixel((100, 100)), (0, 255, 255))  # cyan ink patch


def test_palette_png_transparency_is_white():
    source = Image.open(io.BytesIO(imagegen.palette_png(800, 600)))
    assert source.mode == "P" and "transparency" in source.info
    img = decoded(process_image(imagegen.palette_png(800, 600), PLAIN))
    # The transparent index is bright green in the palette: it must not show.
    assert near(img.getpixel((700, 300)), (255, 255, 255), 4)


def test_rgba_png_is_composited_on_white():
    img = decoded(process_image(imagegen.png_rgba(800, 600), PLAIN))
    assert near(img.getpixel((700, 300)), (255, 255, 255), 4)  # transparent half
    opaque = mean(img, (0, 0, 300, 600))
    half = mean(img, (330, 0, 390, 600))
    assert min(half) > min(opaque)  # 50 % alpha over white is lighter


def test_16_bit_grayscale_is_scaled_not_clipped():
    source = Image.open(io.BytesIO(imagegen.gray16_png(800, 600)))
    assert source.mode.startswith("I")
    img = decoded(process_image(imagegen.gray16_png(800, 600), PLAIN))
    left, middle, right = (img.getpixel((x, 300)) for x in (5, 400, 794))
    assert left[0] < 10 and right[0] > 245
    assert near(middle, (128, 128, 128), 6)


@pytest.mark.parametrize(
    ("make", "size", "draft_scale"),
    [
        (lambda: imagegen.gray_jpeg(800, 600), (800, 600), 1),
        (lambda: imagegen.webp_photo(800, 600), (800, 600), 1),
        (lambda: imagegen.mpo_jpeg(800, 600), (800, 600), 1),  # 2 frames, not an animation
        (lambda: imagegen.mpo_jpeg(3200, 1200), (1600, 600), 2),  # drafted like a JPEG
    ],
    ids=["L-jpeg", "webp", "mpo", "mpo-large"],
)
def test_other_inputs_become_rgb_jpeg(make, size: tuple[int, int], draft_scale: int):
    result = process_image(make(), PLAIN)
    assert decoded(result).size == size
    assert result.draft_scale == draft_scale


def test_still_gif_is_accepted():
    out = io.BytesIO()
    imagegen.scene(640, 480).save(out, "GIF")
    assert process_image(out.getvalue(), PLAIN).format == "GIF"


def test_non_srgb_profile_is_converted_to_srgb():
    # A value of 128 in a linear-light profile is 50 % light: about 188 in sRGB.
    linear = imagegen.with_icc(800, 600, imagegen.rgb_profile(gamma=1.0))
    assert near(decoded(process_image(linear, PLAIN)).getpixel((400, 300)), (188,) * 3, 4)
    png = imagegen.with_icc(800, 600, imagegen.rgb_profile(gamma=1.0), fmt="PNG")
    assert near(decoded(process_image(png, PLAIN)).getpixel((400, 300)), (188,) * 3, 4)
    # Adobe-RGB-like primaries: a saturated green is more saturated than sRGB can show.
    adobe = imagegen.rgb_profile(gamma=2.2, primaries="adobe")
    green = decoded(process_image(imagegen.with_icc(800, 600, adobe, fill=(40, 160, 40)), PLAIN))
    r, g, b = green.getpixel((400, 300))
    assert r < 25 and b < 25 and g > 150


@pytest.mark.parametrize(
    "profile", [imagegen.srgb_profile(), b"not an ICC profile at all"], ids=["srgb", "garbage"]
)
def test_srgb_or_broken_profile_leaves_pixels_alone(profile: bytes):
    data = imagegen.with_icc(800, 600, profile)
    assert near(decoded(process_image(data, PLAIN)).getpixel((400, 300)), (128,) * 3, 3)


# --- sizes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: imagegen.photo_jpeg(3200, 2400), (1600, 1200)),
        (lambda: imagegen.photo_jpeg(2400, 3200), (1200, 1600)),
        (lambda: imagegen.photo_jpeg(1000, 800), (1000, 800)),  # never upscaled
        (lambda: imagegen.png_rgba(2000, 1000), (1600, 800)),  # no draft for PNG
    ],
    ids=["landscape", "portrait", "small", "png"],
)
def test_long_side_is_limited(make, expected: tuple[int, int]):
    assert decoded(process_image(make(), PLAIN)).size == expected


def test_custom_long_side():
    result = process_image(imagegen.photo_jpeg(1200, 900), ImageOptions(long_side=800))
    assert (result.width, result.height) == (800, 600)


def test_too_small_is_refused():
    data = imagegen.photo_jpeg(640, 479, orientation=6)
    with pytest.raises(TooSmall) as caught:
        process_image(data, PLAIN)
    assert caught.value.code == "too_small"
    assert (caught.value.width, caught.value.height) == (640, 479)
    assert process_image(data, ImageOptions(min_short_side=479)).height == 640


@pytest.mark.parametrize(
    ("width", "height", "max_pixels"),
    [
        (10_000, 6_000, 50_000_000),  # our own limit, from the header
        (10_000, 10_000, 10**12),  # over Pillow's warning limit: warning becomes refusal
        (20_000, 10_000, 10**12),  # over Pillow's hard limit: DecompressionBombError
    ],
)
def test_decompression_bomb_refused_without_decoding(width: int, height: int, max_pixels: int):
    bomb = imagegen.bomb_png(width, height)
    assert len(bomb) < 64_000
    assert struct.unpack(">II", bomb[16:24]) == (width, height)  # IHDR
    assert _inflated_size(bomb[41:-16]) == height * (1 + (width + 7) // 8)  # complete IDAT
    before = Image.core.get_stats()["new_count"]
    with pytest.raises(TooManyPixels) as caught:
        process_image(bomb, ImageOptions(max_pixels=max_pixels))
    assert caught.value.code == "too_many_pixels"
    assert Image.core.get_stats()["new_count"] == before  # no image memory allocated


def _inflated_size(zlib_chunk: bytes) -> int:
    """Size of the decompressed stream, inflated piecewise (never held in memory)."""
    inflater = zlib.decompressobj()
    total, pending = 0, zlib_chunk
    while pending:
        total += len(inflater.decompress(pending, 1 << 20))
        pending = inflater.unconsumed_tail
    return total + len(inflater.flush())


def test_concurrent_calls_keep_warning_filters_intact():
    # The bot runs the pipeline in worker threads; bomb checks swap warning filters.
    filters_before = list(warnings.filters)
    inputs = [imagegen.bomb_png(10_000, 10_000), imagegen.photo_jpeg(800, 600)] * 6
    options = ImageOptions(max_pixels=10**12, branding=False)

    def outcome(data: bytes) -> str:
        try:
            return process_image(data, options).format
        except ImageRejected as rejection:
            return rejection.code

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(outcome, inputs))
    assert outcomes == ["too_many_pixels", "JPEG"] * 6
    assert warnings.filters == filters_before


def test_exceptions_have_distinct_codes():
    classes = [ImageRejected, NotAnImage, TooManyPixels, AnimatedImage, TooSmall]
    assert all(issubclass(cls, ImageRejected) for cls in classes)
    assert len({cls.code for cls in classes}) == len(classes)


def test_options_are_validated():
    with pytest.raises(ValueError):
        ImageOptions(jpeg_quality=0)
    with pytest.raises(ValueError):
        ImageOptions(long_side=0)


# --- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: imagegen.animated_gif(640, 640),
        lambda: imagegen.animated_webp(640, 640),
        lambda: imagegen.animated_png(640, 640),
    ],
    ids=["gif", "webp", "apng"],
)
def test_animated_images_are_refused(make):
    with pytest.raises(AnimatedImage) as caught:
        process_image(make(), PLAIN)
    assert caught.value.code == "animated"


def _tiff() -> bytes:
    out = io.BytesIO()
    imagegen.scene(640, 480).save(out, "TIFF")
    return out.getvalue()


@pytest.mark.parametrize(
    "make",
    [
        lambda: b"",
        lambda: imagegen.HTML_BYTES,
        lambda: imagegen.random_bytes(20_000),
        lambda: b"\xff\xd8\xff" + imagegen.random_bytes(5_000),  # JPEG magic, then junk
        lambda: imagegen.truncated(imagegen.photo_jpeg(800, 600)),
        lambda: imagegen.truncated(imagegen.palette_png(800, 600), 0.8),
        lambda: imagegen.truncated(imagegen.webp_photo(800, 600)),
        lambda: imagegen.broken_jpeg(imagegen.photo_jpeg(800, 600)),
        lambda: imagegen.corrupted(imagegen.palette_png(800, 600)),
        _tiff,  # a real image, but not an accepted format
    ],
    ids=[
        "empty",
        "html",
        "random",
        "jpeg-magic-junk",
        "truncated-jpeg",
        "truncated-png",
        "truncated-webp",
        "broken-jpeg-header",
        "corrupted-png",
        "tiff",
    ],
)
def test_unreadable_data_is_not_an_image(make):
    with pytest.raises(NotAnImage) as caught:
        process_image(make(), PLAIN)
    assert caught.value.code == "not_an_image"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_random_damage_never_leaks_other_exceptions():
    rng = random.Random(7)
    sources = [
        imagegen.photo_jpeg(640, 480, orientation=6, gps=True),
        imagegen.palette_png(640, 480),
        imagegen.webp_photo(640, 480),
        imagegen.animated_gif(500, 500),
        imagegen.gray16_png(640, 480),
    ]
    for _ in range(150):
        data = bytearray(rng.choice(sources))
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        try:
            result = process_image(bytes(data), ImageOptions(min_short_side=100))
        except ImageRejected:
            continue
        decoded(result)  # whatever was accepted is a clean JPEG


# --- large originals: draft mode ---------------------------------------------------------


def naive_pipeline(data: bytes, quality: int = 85) -> Image.Image:
    """The obvious implementation the draft-mode pipeline is compared with."""
    img = Image.open(io.BytesIO(data))
    img = ImageOps.exif_transpose(img)
    img = img.convert("RGB")
    img.thumbnail((1600, 1600), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return Image.open(io.BytesIO(out.getvalue())).convert("RGB")


def test_large_jpeg_is_decoded_at_reduced_scale():
    data = large_jpeg()
    result = process_image(data, PLAIN)
    assert (result.original_width, result.original_height) == (6000, 4000)
    # 6000x4000 -> 1600x1067: libjpeg decoded 3000x2000, a quarter of the pixels.
    assert result.draft_scale == 2
    img = decoded(result)
    assert img.size == (1600, 1067)
    # Same JPEG settings on both sides: the difference measured is the resampling path.
    # (Against the naive *unencoded* pixels both outputs score ~32 dB: that is JPEG q85.)
    assert psnr(img, naive_pipeline(data)) >= 35


def test_draft_never_goes_below_target():
    # 3300 -> 1600 is a factor 2.06: a 1/2 decode (1650 px) is allowed, 1/4 is not.
    result = process_image(imagegen.photo_jpeg(3300, 2200), PLAIN)
    assert result.draft_scale == 2
    assert (result.width, result.height) == (1600, 1067)
    # 3100 -> 1600 is < 2: full decode.
    assert process_image(imagegen.photo_jpeg(3100, 2000), PLAIN).draft_scale == 1


# --- duplicate hash and sharpness --------------------------------------------------------


def test_dhash_survives_reencoding_and_resizing():
    original = process_image(imagegen.photo_jpeg(1600, 1200, seed=11), PLAIN)
    img = decoded(original).resize((1500, 1125), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=60)
    copy = process_image(out.getvalue(), PLAIN)
    assert hamming(original.dhash, copy.dhash) <= 8
    other = process_image(imagegen.photo_jpeg(1600, 1200, seed=12), PLAIN)
    assert hamming(original.dhash, other.dhash) > 16


def test_dhash_and_hamming_basics():
    value = dhash(imagegen.scene(320, 240))
    assert 0 <= value < 2**64
    assert hamming(value, value) == 0
    assert hamming(0, 2**64 - 1) == 64
    assert dhash(Image.new("RGB", (100, 100), "gray")) == 0  # flat: no gradients


def test_sharpness_drops_when_blurred():
    sharp = imagegen.scene(1600, 1200, seed=5)
    blurred = sharp.filter(ImageFilter.GaussianBlur(3))
    assert sharpness(sharp) > 4 * sharpness(blurred)
    coach = CoachSettings()
    assert focus(sharpness(sharp), coach) is Focus.SHARP
    assert focus(sharpness(blurred), coach) is Focus.BLURRY
    assert focus(sharpness(Image.new("RGB", (800, 600), "white")), coach) is Focus.BLURRY

    out = io.BytesIO()
    blurred.save(out, "JPEG", quality=90)
    result = process_image(out.getvalue(), PLAIN)
    assert focus(result.sharpness, coach) is Focus.BLURRY
    photo = process_image(imagegen.photo_jpeg(1600, 1200, seed=5), PLAIN)
    assert focus(photo.sharpness, coach) is Focus.SHARP


# --- branding ----------------------------------------------------------------------------

FRAME_COLOUR = (230, 0, 140)


@pytest.fixture
def frame_path(tmp_path):
    """A 400x300 frame: opaque magenta border (10 %), transparent middle."""
    frame = Image.new("RGBA", (400, 300), (*FRAME_COLOUR, 255))
    ImageDraw.Draw(frame).rectangle((40, 30, 359, 269), fill=(0, 0, 0, 0))
    path = tmp_path / "frame.png"
    frame.save(path)
    return path


def test_frame_is_laid_over_the_photo(frame_path):
    data = imagegen.photo_jpeg(1600, 1200, seed=2)
    plain = decoded(process_image(data, PLAIN))
    branded_result = process_image(data, ImageOptions(frame_path=frame_path))
    branded = decoded(branded_result)
    assert branded.size == plain.size
    assert near(branded.getpixel((30, 30)), FRAME_COLOUR, 12)  # frame stretched to output
    assert near(branded.getpixel((1570, 1170)), FRAME_COLOUR, 12)
    assert psnr(branded.crop((400, 300, 1200, 900)), plain.crop((400, 300, 1200, 900))) > 40
    # Hash and sharpness describe the photo, not the frame.
    assert branded_result.dhash == process_image(data, PLAIN).dhash


def test_band_text_changes_only_the_bottom(frame_path):
    data = imagegen.photo_jpeg(1600, 1200, seed=4)
    plain = decoded(process_image(data, PLAIN))
    branded = decoded(process_image(data, ImageOptions(band_text="Fiers d'être apprentis")))
    band = (0, 1110, 1600, 1200)  # bottom 8 %: 96 px
    top = (0, 0, 1600, 1000)
    assert psnr(branded.crop(top), plain.crop(top)) > 40
    # The band is dark with white text: darker on average, with bright text pixels.
    assert sum(mean(branded, band)) < sum(mean(plain, band)) - 60
    assert max(ImageStat.Stat(branded.crop(band).convert("L")).extrema[0]) > 230

    disabled = ImageOptions(band_text="x", frame_path=frame_path, branding=False)
    assert psnr(decoded(process_image(data, disabled)), plain) == math.inf


def test_long_band_text_still_fits():
    data = imagegen.photo_jpeg(900, 1200)
    text = "Fiers d'être apprentis — campagne régionale de Bourgogne-Franche-Comté 2026"
    img = decoded(process_image(data, ImageOptions(band_text=text)))
    band = img.crop((0, img.height - 80, img.width, img.height)).convert("L")
    # No text pixel touches the left/right edges (the font shrank to fit).
    assert ImageStat.Stat(band.crop((0, 0, 8, 80))).extrema[0][1] < 200
    assert ImageStat.Stat(band.crop((img.width - 8, 0, img.width, 80))).extrema[0][1] < 200


def test_missing_frame_is_an_operator_error_not_a_refusal(tmp_path):
    options = ImageOptions(frame_path=tmp_path / "missing.png")
    with pytest.raises(FileNotFoundError):
        process_image(imagegen.photo_jpeg(800, 600), options)


def test_too_elongated_is_refused_before_decoding():
    # 500 x 10 500: short side fine, but a ratio Telegram refuses for photos.
    data = imagegen.photo_jpeg(500, 10_500)
    with pytest.raises(TooElongated) as caught:
        process_image(data, PLAIN)
    assert (caught.value.width, caught.value.height) == (500, 10_500)


@pytest.mark.parametrize("size", [(3000, 4000), (1200, 900), (500, 500)])
def test_a_processed_photo_comes_with_its_thumbnails(size: tuple[int, int]) -> None:
    result = process_image(imagegen.photo_jpeg(*size), ImageOptions(band_text="Fiers"))

    thumbs = result.thumbnail
    assert thumbs is not None
    expected = thumbnail_size((result.width, result.height), THUMB_SIDE)
    assert (thumbs.width, thumbs.height) == expected and max(expected) == min(THUMB_SIDE, max(size))
    with Image.open(io.BytesIO(thumbs.webp)) as webp, Image.open(io.BytesIO(thumbs.jpeg)) as jpg:
        assert (webp.format, jpg.format) == ("WEBP", "JPEG")
        assert webp.size == jpg.size == expected
        assert not jpg.info.get("exif") and "icc_profile" not in jpg.info
        # The same picture as the thumbnail of the published JPEG (branding included).
        from_jpeg = Image.open(io.BytesIO(thumbnail(result.jpeg, THUMB_SIDE).jpeg))
        assert psnr(jpg.convert("RGB"), from_jpeg.convert("RGB")) > 30
