"""Photo pipeline: turn an untrusted upload into a small, clean, branded JPEG.

Apprentices (often minors, often on cheap phones) send whatever their phone produced:
12-48 MP JPEGs with GPS in the EXIF, HEIC, screenshots, sometimes junk. Everything here
treats the bytes as hostile: the header is checked before anything is decoded, every
failure from Pillow becomes one of a few refusals with a machine-readable ``code`` the
bot turns into a friendly message, and the output is rebuilt from pixels only, so no
metadata (location, camera, comments, profiles) can ever reach the public channel.

Plain synchronous functions on purpose: the bot runs them with ``asyncio.to_thread``.
Pillow only (no numpy), so the dependency set stays small and installs everywhere.
"""

from __future__ import annotations

import functools
import io
import math
import os
import threading
import warnings
from dataclasses import dataclass
from typing import ClassVar

from PIL import Image, ImageCms, ImageDraw, ImageFilter, ImageFont, ImageStat

__all__ = [
    "BLUR_THRESHOLD",
    "AnimatedImage",
    "ImageOptions",
    "ImageRejected",
    "NotAnImage",
    "ProcessedImage",
    "TooManyPixels",
    "TooSmall",
    "dhash",
    "hamming",
    "is_blurry",
    "process_image",
    "sharpness",
]

# Formats we are willing to parse. Restricting ``Image.open`` to these keeps Pillow's
# rarer (and less battle-tested) decoders away from untrusted bytes. MPO is how Pillow
# names a JPEG carrying extra images (depth maps, previews: common on Android phones);
# its first frame is the photo. GIF is parsed only so an animated one gets the right
# refusal; a still GIF is accepted like a PNG.
_OPEN_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
_ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "GIF", "HEIF"})
# Multi-frame formats whose extra frames are not an animation.
_STILL_MULTIFRAME_FORMATS = frozenset({"MPO"})

# Sharpness is measured on a copy whose long side is this many pixels, so the score
# does not depend on the upload resolution.
_SHARPNESS_SIDE = 640

MAX_RATIO = 20
"""Telegram's limit on a photo's long side / short side."""

BLUR_THRESHOLD = 100.0
"""Default :func:`is_blurry` threshold, in the units of :func:`sharpness`.

Calibrated on generated photo-like images at 1600 px: in focus they score 500-900, a
Gaussian blur of radius 1 px about 300, radius 2 px about 60, radius 4 px under 10. A
hint shown to moderators, not an automatic refusal: dim or plain photos also score low.
Revisit with real submissions.
"""


class ImageRejected(Exception):
    """Base of every refusal; ``code`` is stable and meant for the bot's message lookup."""

    code: ClassVar[str] = "image_rejected"

    def __init__(self, message: str, *, width: int | None = None, height: int | None = None):
        super().__init__(message)
        self.width = width
        self.height = height


class NotAnImage(ImageRejected):
    """Corrupt, truncated, unsupported or hostile data: nothing we can show."""

    code = "not_an_image"


class TooManyPixels(ImageRejected):
    """Declared dimensions exceed ``max_pixels``: a decompression bomb or absurd upload."""

    code = "too_many_pixels"


class AnimatedImage(ImageRejected):
    """Animated GIF/WebP/PNG: the campaign publishes still photos only."""

    code = "animated"


class TooSmall(ImageRejected):
    """Short side below ``min_short_side``: too small to look good in the channel."""

    code = "too_small"


class TooElongated(ImageRejected):
    """Long side over :data:`MAX_RATIO` times the short one: Telegram refuses such photos."""

    code = "too_elongated"


@dataclass(frozen=True)
class ImageOptions:
    """What the pipeline produces; built once from the campaign configuration.

    ``frame_path`` is a PNG with transparency laid over the whole photo (stretched to the
    output size, so design it at the usual 4:3 / 3:4 ratios). ``band_text`` is written in
    a dark band along the bottom edge. ``branding=False`` skips both (moderation previews
    of the raw photo, tests).
    """

    max_pixels: int = 50_000_000
    long_side: int = 1600
    min_short_side: int = 480
    jpeg_quality: int = 85
    frame_path: str | os.PathLike[str] | None = None
    band_text: str | None = None
    branding: bool = True

    def __post_init__(self) -> None:
        if self.max_pixels <= 0 or self.long_side <= 0 or self.min_short_side < 0:
            raise ValueError("max_pixels and long_side must be > 0, min_short_side >= 0")
        if not 1 <= self.jpeg_quality <= 95:
            raise ValueError("jpeg_quality must be between 1 and 95")


@dataclass(frozen=True)
class ProcessedImage:
    """The publishable JPEG and the facts moderators and duplicate detection need.

    ``dhash`` and ``sharpness`` describe the photo before branding, so a changed frame
    does not hide a duplicate and frame edges do not look like focus.
    ``original_width``/``original_height`` are the upload's size as displayed (after EXIF
    rotation); ``format`` is Pillow's name for it (JPEG, MPO, PNG, WEBP, GIF, HEIF).
    ``draft_scale`` is the JPEG DCT reduction used while decoding (1 = full decode; 2, 4,
    8 = decoded at 1/2, 1/4, 1/8 size), kept for benchmarks and tests.
    """

    jpeg: bytes
    width: int
    height: int
    dhash: int
    sharpness: float
    original_width: int
    original_height: int
    format: str
    draft_scale: int = 1

    @property
    def blurry(self) -> bool:
        """Whether :func:`is_blurry` flags this photo with the default threshold."""
        return is_blurry(self.sharpness)


def process_image(data: bytes, options: ImageOptions) -> ProcessedImage:
    """Validate, normalise, shrink, brand and re-encode one uploaded photo.

    Raises a subclass of :class:`ImageRejected` for anything unusable; any other error
    raised while reading the upload is reported as :class:`NotAnImage`, so a hostile
    file can never surface as a traceback. Errors in the operator's own branding files
    (missing frame PNG) are not the apprentice's fault and propagate unchanged.
    """
    try:
        img, fmt, original_size, draft_scale = _decode(data, options)
    except ImageRejected:
        raise
    except Exception as exc:  # hostile input can make Pillow raise almost anything
        raise NotAnImage(f"unreadable image: {type(exc).__name__}") from None

    photo_hash = dhash(img)
    score = sharpness(img)
    if options.branding:
        img = _brand(img, options)
    return ProcessedImage(
        jpeg=_encode(img, options.jpeg_quality),
        width=img.width,
        height=img.height,
        dhash=photo_hash,
        sharpness=score,
        original_width=original_size[0],
        original_height=original_size[1],
        format=fmt,
        draft_scale=draft_scale,
    )


def _encode(img: Image.Image, quality: int) -> bytes:
    """JPEG bytes of the pixels only.

    A plain Image with an empty ``info``: nothing from the upload (EXIF, XMP, ICC,
    comments, PNG text) can follow the pixels into the output. A resize, rotation or
    branding already made a new plain Image of our own: no need to copy its pixels.
    No ``optimize``: Huffman optimisation saves ~3 % of the bytes for 3x the encoding time.
    """
    clean = img if type(img) is Image.Image else img.copy()
    clean.info = {}
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=quality, exif=b"")
    return out.getvalue()


def _decode(data: bytes, options: ImageOptions) -> tuple[Image.Image, str, tuple[int, int], int]:
    """Header checks, reduced-scale decode, orientation, sRGB RGB at the target size."""
    img = _open(data)
    fmt = img.format or "?"
    if fmt not in _ACCEPTED_FORMATS:
        raise NotAnImage(f"format {fmt} not accepted")
    width, height = img.size
    if width <= 0 or height <= 0:
        raise NotAnImage("empty image")
    if width * height > options.max_pixels:
        raise TooManyPixels(f"{width}x{height} declared", width=width, height=height)
    if min(width, height) < options.min_short_side:
        # The short side does not change with EXIF rotation, so check before decoding.
        raise TooSmall(f"{width}x{height}", width=width, height=height)
    if max(width, height) > MAX_RATIO * min(width, height):
        raise TooElongated(f"{width}x{height}", width=width, height=height)
    if fmt not in _STILL_MULTIFRAME_FORMATS and (
        getattr(img, "is_animated", False) or getattr(img, "n_frames", 1) > 1
    ):
        raise AnimatedImage(f"{fmt} with several frames", width=width, height=height)

    icc = img.info.get("icc_profile")
    target = _fit(img.size, options.long_side)
    draft_scale = 1
    if fmt in ("JPEG", "MPO") and target != img.size:
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale, never below the target size:
        # a 48 MP photo yields 3 MP of pixels (the compressed data is still read in
        # full, which is what remains of the cost). The target is scaled by the long
        # side only, so the EXIF rotation applied afterwards does not change it.
        before = img.width
        img.draft("RGB", target)
        draft_scale = max(1, round(before / img.width))
    img.load()

    orientation = _orientation(img)
    img = _to_working_mode(img)
    target = _fit(img.size, options.long_side)
    if target != img.size:
        # Resized before the EXIF rotation, which then moves fewer pixels (the long side
        # rule does not depend on the orientation). After a JPEG draft less than 2x is
        # left to do and bilinear matches a full-size Lanczos reduction (> 39 dB) at
        # ~60 % of bicubic's cost; a full decode keeps bicubic. For PNG/WebP
        # ``reducing_gap`` first box-reduces by an integer factor.
        resample = Image.Resampling.BILINEAR if draft_scale > 1 else Image.Resampling.BICUBIC
        img = img.resize(target, resample, reducing_gap=2.0)
    transpose = _ORIENTATION_TRANSPOSE.get(orientation)
    if transpose is not None:
        img = img.transpose(transpose)
    # Orientations 5-8 swap the sides.
    original_size = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    img = _to_srgb(img, icc)
    return img, fmt, original_size, draft_scale


# EXIF Orientation -> the transposition that shows the pixels upright (as exif_transpose).
_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _orientation(img: Image.Image) -> int:
    """The EXIF Orientation tag; 1 (as stored) when absent or unreadable."""
    try:
        value = img.getexif().get(0x0112)  # ExifTags.Base.Orientation
    except Exception:  # unreadable EXIF: keep the photo as stored
        return 1
    return value if isinstance(value, int) else 1


_heif_lock = threading.Lock()
_heif_registered: bool | None = None


def _open_formats() -> tuple[str, ...]:
    """Formats for ``Image.open``, adding HEIF when ``pillow_heif`` is installed.

    Registration is lazy (first upload) so importing this module stays cheap and the
    optional dependency is only touched when present.
    """
    global _heif_registered
    with _heif_lock:
        if _heif_registered is None:
            try:
                from pillow_heif import register_heif_opener  # type: ignore[import-not-found]
            except ImportError:
                _heif_registered = False
            else:
                register_heif_opener()
                _heif_registered = True
    return (*_OPEN_FORMATS, "HEIF") if _heif_registered else _OPEN_FORMATS


# ``warnings.catch_warnings`` swaps process-wide state; the lock keeps two threads
# (the bot calls us through ``asyncio.to_thread``) from restoring each other's filters.
# Only the header parse runs under it, which takes microseconds to milliseconds.
_open_lock = threading.Lock()


def _open(data: bytes) -> Image.Image:
    """``Image.open`` (header only) with Pillow's own bomb checks turned into refusals."""
    formats = _open_formats()
    try:
        with _open_lock, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=formats)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooManyPixels(str(exc)) from None
    except Image.UnidentifiedImageError:
        raise NotAnImage("unknown or unsupported format") from None


def _fit(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """Size with the long side at most ``long_side``, same aspect ratio, never larger."""
    width, height = size
    longest = max(width, height)
    if longest <= long_side:
        return size
    ratio = long_side / longest
    return max(1, round(width * ratio)), max(1, round(height * ratio))


def _to_working_mode(img: Image.Image) -> Image.Image:
    """Bring any mode Pillow decoded to RGB, L or CMYK (the modes ICC profiles describe).

    Transparency is flattened onto white (a selfie with a see-through background would
    otherwise turn black); 16/32-bit grayscale is scaled, not clipped, to 8 bits.
    """
    mode = img.mode
    if mode in ("RGB", "L", "CMYK"):
        return img
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        if mode != "I;16":
            img = img.convert("I")
        return img.point(lambda v: v / 256).convert("L")
    if mode == "F":
        extrema = img.getextrema()
        assert isinstance(extrema[0], float | int) and isinstance(extrema[1], float | int)
        low, high = float(extrema[0]), float(extrema[1])
        span = (high - low) or 1.0
        return img.point(lambda v: (v - low) * 255.0 / span).convert("L")
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode == "PA":
        img = img.convert("RGBA")
    elif mode == "1":
        return img.convert("L")
    elif mode == "La":
        img = img.convert("LA")
    elif mode in ("RGBa", "RGBX", "YCbCr", "HSV", "LAB"):
        img = img.convert("RGBA" if mode == "RGBa" else "RGB")
    if img.mode == "LA":
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, img).convert("RGB")
    return img.convert("RGB")


@functools.cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB pixels in sRGB, which is what Telegram clients and browsers assume.

    Runs on the already-resized image (cheap). A profile that is sRGB already is skipped;
    a broken or mismatched profile is ignored rather than refusing the photo.
    """
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            description = ImageCms.getProfileDescription(source) or ""
            if not description.strip().lower().startswith("srgb"):
                converted = ImageCms.profileToProfile(
                    img, source, _srgb_profile(), outputMode="RGB"
                )
                if converted is not None:
                    return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass
    return img if img.mode == "RGB" else img.convert("RGB")


def _brand(img: Image.Image, options: ImageOptions) -> Image.Image:
    """Lay the campaign frame over the photo, then write the campaign name at the bottom.

    The band goes on top of the frame so the text stays readable whatever the frame does.
    """
    if options.frame_path is not None:
        frame_file = os.fspath(options.frame_path)
        frame = _load_frame(frame_file, os.stat(frame_file).st_mtime_ns, img.size)
        img = img.copy()
        img.paste(frame, (0, 0), frame)
    if options.band_text:
        img = _draw_band(img, options.band_text)
    return img


@functools.lru_cache(maxsize=8)
def _load_frame(path: str, mtime_ns: int, size: tuple[int, int]) -> Image.Image:
    """The frame as RGBA at ``size``; cached per file version and output size.

    ``mtime_ns`` is only part of the cache key: replacing the file mid-campaign is
    picked up on the next photo.
    """
    with Image.open(path) as frame:
        return frame.convert("RGBA").resize(size, Image.Resampling.LANCZOS)


# Fonts with French accents (Pillow's built-in one has no "ê"): Debian's DejaVu or Noto.
_BAND_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    "DejaVuSans-Bold.ttf",
)


def _band_font(size: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in _BAND_FONTS:
        try:
            return ImageFont.truetype(name, size=size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _draw_band(img: Image.Image, text: str) -> Image.Image:
    """A translucent dark band along the bottom with ``text`` centred in white.

    Sizes follow the image (band = 8 % of the height) and the font shrinks until the
    text fits in 92 % of the width, so long campaign names are not cut.
    """
    width, height = img.size
    band_height = max(16, round(height * 0.08))
    base = img.convert("RGBA")
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rectangle((0, height - band_height, width, height), fill=(0, 0, 0, 150))
    size = band_height * 0.55
    font = _band_font(size)
    text_width = draw.textlength(text, font=font)
    if text_width > width * 0.92:
        size = max(6.0, size * width * 0.92 / text_width)
        font = _band_font(size)
    draw.text(
        (width / 2, height - band_height / 2),
        text,
        font=font,
        fill=(255, 255, 255, 255),
        anchor="mm",
    )
    return Image.alpha_composite(base, overlay).convert("RGB")


def dhash(img: Image.Image) -> int:
    """64-bit difference hash: survives re-encoding and resizing, spots resubmissions.

    The image is reduced to 9x8 grayscale and each bit says whether a pixel is brighter
    than its right-hand neighbour (row by row, most significant bit first). Compare two
    hashes with :func:`hamming`: up to ~8 differing bits is very likely the same photo.
    """
    small = img.convert("L").resize((9, 8), Image.Resampling.LANCZOS, reducing_gap=2.0)
    pixels = small.tobytes()
    value = 0
    for row in range(8):
        offset = row * 9
        for col in range(8):
            value = (value << 1) | (pixels[offset + col] > pixels[offset + col + 1])
    return value


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two hashes."""
    return (a ^ b).bit_count()


# Discrete Laplacian. Its weights sum to 0, so Pillow needs an explicit scale; /2 keeps
# almost every real edge inside the 8-bit output (offset 128 = no edge), and the
# variance is multiplied back by 4 below.
_LAPLACIAN = ImageFilter.Kernel((3, 3), (0, 1, 0, 1, -4, 1, 0, 1, 0), scale=2, offset=128)


def sharpness(img: Image.Image) -> float:
    """Variance of the Laplacian of a grayscale copy; low means blurred or featureless.

    Focus shows as strong pixel-to-pixel changes, which the Laplacian picks out; blur
    flattens them. The copy is reduced to a fixed size first so that scores of a 12 MP
    photo and of a screenshot are comparable. See :data:`BLUR_THRESHOLD`.
    """
    gray = img.convert("L")
    target = _fit(gray.size, _SHARPNESS_SIDE)
    if target != gray.size:
        gray = gray.resize(target, Image.Resampling.BOX, reducing_gap=2.0)
    edges = gray.filter(_LAPLACIAN)
    # Ignore the 1-pixel border, where the filter sees the image edge.
    if edges.width > 2 and edges.height > 2:
        edges = edges.crop((1, 1, edges.width - 1, edges.height - 1))
    return float(ImageStat.Stat(edges).var[0] * 4.0)


def is_blurry(score: float, threshold: float = BLUR_THRESHOLD) -> bool:
    """Whether a :func:`sharpness` score suggests an out-of-focus or shaken photo."""
    return math.isfinite(score) and score < threshold
