"""Photo-like test images generated in memory with Pillow (no binary fixtures in git).

A "scene" is a smooth random colour field (a small grid of random colours upscaled with a
bicubic filter), a few random shapes and Gaussian sensor-like noise: enough texture that
JPEG sizes and decode times are realistic and that blur is measurable, while staying
deterministic for a given ``seed``. Different seeds give different colours and shapes.

Shared by the image pipeline tests and the benchmarks, so keep it dependency-free and
reasonably fast (a 12 MP JPEG takes well under a second).
"""

from __future__ import annotations

import functools
import io
import random
import statistics
import struct
import zlib
from collections.abc import Sequence

from PIL import Image, ImageChops, ImageCms, ImageDraw

from bot.sandbox.samples import exif_bytes as sandbox_exif

RGB = tuple[int, int, int]

MARKER_COLOUR: RGB = (255, 0, 0)
"""Colour of the square drawn in the visual top-left corner when ``marker=True``."""

# Stored pixels = upright scene transposed by the inverse of what EXIF tells viewers to do.
_INVERSE_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}

HTML_BYTES = b"<!DOCTYPE html>\n<html><head><title>Not a photo</title></head><body></body></html>\n"


def scene(width: int, height: int, *, seed: int = 0, noise: float = 6.0) -> Image.Image:
    """An RGB photo-like image: colour gradients, shapes, noise."""
    rng = random.Random(seed)
    grid = Image.new("RGB", (4, 3))
    grid.putdata([_colour(rng) for _ in range(12)])
    img = grid.resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    short = min(width, height)
    for _ in range(14):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randint(short // 20, short // 4)
        box = (x - r, y - r, x + r, y + r)
        kind = rng.randrange(3)
        if kind == 0:
            draw.ellipse(box, fill=_colour(rng))
        elif kind == 1:
            draw.rectangle(box, fill=_colour(rng), outline=_colour(rng), width=max(1, r // 10))
        else:
            points = [(rng.randrange(width), rng.randrange(height)) for _ in range(3)]
            draw.polygon(points, fill=_colour(rng))
    for _ in range(30):  # thin lines: fine detail for sharpness and resampling checks
        draw.line(
            [(rng.randrange(width), rng.randrange(height)) for _ in range(2)],
            fill=_colour(rng),
            width=max(1, short // 400),
        )
    if noise:
        grain = _noise_tile(noise, seed)
        tiled = Image.new("L", (width, height))
        for top in range(0, height, grain.height):
            for left in range(0, width, grain.width):
                tiled.paste(grain, (left, top))
        img = ImageChops.add(img, Image.merge("RGB", (tiled, tiled, tiled)), offset=-128)
    return img


def _colour(rng: random.Random) -> RGB:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


@functools.lru_cache(maxsize=16)
def _noise_tile(sigma: float, seed: int) -> Image.Image:
    """Gaussian noise around 128, tiled by :func:`scene` (full-size noise is slow).

    Uniform random bytes mapped through the normal law's quantiles by Pillow's lookup
    table: the same grain as drawing each pixel with ``gauss``, a hundred times faster
    (drawing 259,081 pixels one by one in Python took 1.3 s per seed). Cached; read-only.
    """
    rng = random.Random(seed * 7919 + 1)
    side = 509  # prime: the tiling does not line up with JPEG's 8x8 blocks
    law = statistics.NormalDist(128, sigma)
    quantiles = [max(0, min(255, round(law.inv_cdf((u + 0.5) / 256)))) for u in range(256)]
    return Image.frombytes("L", (side, side), rng.randbytes(side * side)).point(quantiles)


def exif_bytes(*, orientation: int | None = None, gps: bool = False) -> bytes:
    """EXIF with camera make/model, optional Orientation and a GPS position (Dijon)."""
    return sandbox_exif(orientation=orientation, gps=gps, make="Phonix", model="P9")


XMP_PACKET = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'exif:GPSLatitude="47,19.34N"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def _stored_scene(
    width: int,
    height: int,
    orientation: int | None,
    *,
    seed: int,
    marker: bool,
    noise: float = 6.0,
) -> Image.Image:
    """A scene as a camera stores it: turned by the inverse of ``orientation``, with the
    marker (if asked) in the corner that is top-left once displayed."""
    upright = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    img = scene(*upright, seed=seed, noise=noise)
    if marker:
        side = max(8, min(upright) // 8)
        ImageDraw.Draw(img).rectangle((0, 0, side - 1, side - 1), fill=MARKER_COLOUR)
    if orientation in _INVERSE_ORIENTATION:
        img = img.transpose(_INVERSE_ORIENTATION[orientation])
    return img


def photo_jpeg(
    width: int,
    height: int,
    *,
    orientation: int | None = None,
    gps: bool = False,
    quality: int = 90,
    seed: int = 0,
    marker: bool = False,
    xmp: bool = False,
    comment: bytes | None = None,
    icc_profile: bytes | None = None,
) -> bytes:
    """A camera-like JPEG of ``width`` x ``height`` *stored* pixels.

    As a phone does, the pixels are stored in sensor orientation and EXIF ``orientation``
    says how to show them: ``photo_jpeg(4032, 3024, orientation=6)`` is a portrait photo
    displayed 3024 x 4032. With ``marker=True`` a red square sits in the *displayed*
    top-left corner. EXIF always has Make/Model; ``gps`` adds a GPS IFD, ``xmp`` an XMP
    packet with a location, ``comment`` a JPEG COM segment.
    """
    img = _stored_scene(width, height, orientation, seed=seed, marker=marker)
    params: dict[str, object] = {
        "quality": quality,
        "exif": exif_bytes(orientation=orientation, gps=gps),
    }
    if xmp:
        params["xmp"] = XMP_PACKET
    if comment is not None:
        params["comment"] = comment
    if icc_profile is not None:
        params["icc_profile"] = icc_profile
    return _save(img, "JPEG", **params)


def _save(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def png_rgba(width: int, height: int, *, seed: int = 0) -> bytes:
    """RGBA PNG: left half opaque scene, right half fully transparent, a 50 % band between."""
    img = scene(width, height, seed=seed).convert("RGBA")
    alpha = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(alpha)
    draw.rectangle((width // 2, 0, width, height), fill=0)
    draw.rectangle((width * 2 // 5, 0, width // 2 - 1, height), fill=128)
    img.putalpha(alpha)
    return _save(img, "PNG")


CMYK_PATCH = (255, 0, 0, 0)
"""Pure cyan ink painted in the top-left quarter of :func:`cmyk_jpeg`."""


def cmyk_jpeg(width: int, height: int, *, seed: int = 0, quality: int = 90) -> bytes:
    """CMYK JPEG (as print-oriented tools export) with a pure cyan top-left quarter."""
    img = scene(width, height, seed=seed).convert("CMYK")
    ImageDraw.Draw(img).rectangle((0, 0, width // 2, height // 2), fill=CMYK_PATCH)
    return _save(img, "JPEG", quality=quality)


def palette_png(width: int, height: int, *, seed: int = 0, transparent: bool = True) -> bytes:
    """Palette PNG (64 colours); with ``transparent``, the right half is a transparent
    index whose palette colour is bright green (so "ignored transparency" is visible)."""
    img = scene(width, height, seed=seed, noise=0).quantize(colors=63)
    palette = img.getpalette() or []
    palette = palette[: 63 * 3] + [0] * (63 * 3 - len(palette[: 63 * 3]))
    img.putpalette([*palette, 0, 255, 0])
    if transparent:
        ImageDraw.Draw(img).rectangle((width // 2, 0, width, height), fill=63)
        return _save(img, "PNG", transparency=63)
    return _save(img, "PNG")


def gray16_png(width: int, height: int) -> bytes:
    """16-bit grayscale PNG: a horizontal ramp from 0 (left) to 65535 (right)."""
    row = [round(x * 65535 / max(1, width - 1)) for x in range(width)]
    data = struct.pack(f"<{width}H", *row) * height
    return _save(Image.frombytes("I;16", (width, height), data), "PNG")


def gray_jpeg(width: int, height: int, *, seed: int = 0) -> bytes:
    """8-bit grayscale ("L") JPEG."""
    return _save(scene(width, height, seed=seed).convert("L"), "JPEG", quality=90)


_FRAME_COLOURS: Sequence[RGB] = ((200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 40))


def _frames(width: int, height: int, count: int) -> list[Image.Image]:
    frames = []
    for i in range(count):
        frame = Image.new("RGB", (width, height), _FRAME_COLOURS[i % len(_FRAME_COLOURS)])
        ImageDraw.Draw(frame).ellipse((i * 10, i * 10, width // 2 + i * 10, height // 2))
        frames.append(frame)
    return frames


def animated_gif(width: int, height: int, *, frames: int = 3) -> bytes:
    first, *rest = _frames(width, height, frames)
    return _save(first, "GIF", save_all=True, append_images=rest, duration=100, loop=0)


def animated_webp(width: int, height: int, *, frames: int = 3) -> bytes:
    first, *rest = _frames(width, height, frames)
    return _save(first, "WEBP", save_all=True, append_images=rest, duration=100, loop=0)


def animated_png(width: int, height: int, *, frames: int = 3) -> bytes:
    """APNG: a PNG whose acTL chunk announces several frames."""
    first, *rest = _frames(width, height, frames)
    return _save(first, "PNG", save_all=True, append_images=rest, duration=100, loop=0)


def mpo_jpeg(width: int, height: int, *, seed: int = 0) -> bytes:
    """A JPEG with a second embedded image (MPO, as some Android cameras write)."""
    main = scene(width, height, seed=seed)
    extra = main.resize((width // 4, height // 4)).convert("L").convert("RGB")
    return _save(main, "MPO", save_all=True, append_images=[extra], quality=90)


def webp_photo(width: int, height: int, *, seed: int = 0) -> bytes:
    return _save(scene(width, height, seed=seed), "WEBP", quality=85)


def bomb_png(width: int, height: int) -> bytes:
    """A valid, tiny PNG of a huge all-black 1-bit image (a decompression bomb).

    Written chunk by chunk so building it never holds the raw image in memory: the
    file is a few kB per 10 million pixels.
    """
    row = b"\0" * (1 + (width + 7) // 8)  # filter byte + packed 1-bit pixels
    rows_per_step = max(1, (1 << 22) // len(row))
    compressor = zlib.compressobj(9)
    parts = []
    for start in range(0, height, rows_per_step):
        parts.append(compressor.compress(row * min(rows_per_step, height - start)))
    parts.append(compressor.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def truncated(data: bytes, fraction: float = 0.5) -> bytes:
    """The first ``fraction`` of a file, as an interrupted upload leaves it."""
    return data[: max(1, int(len(data) * fraction))]


def corrupted(data: bytes, *, seed: int = 0, count: int = 200) -> bytes:
    """``count`` random bytes overwritten after the first 2 kB (header kept intact)."""
    rng = random.Random(seed)
    buf = bytearray(data)
    for _ in range(count):
        buf[rng.randrange(min(2048, len(buf) - 1), len(buf))] = rng.randrange(256)
    return bytes(buf)


def random_bytes(size: int, *, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


# ICC profiles. ImageCms can only *create* sRGB, LAB and XYZ profiles, and a JPEG in RGB
# needs an RGB profile that is *not* sRGB to exercise a real conversion. So we write a
# minimal ICC v2 matrix/TRC display profile by hand (header, tag table, desc, wtpt, the
# three colorants and one gamma curve per channel): that is the structure of common
# "gamma + primaries" profiles such as Adobe RGB. Colorants are the published D50-adapted
# primaries of the colour spaces named below.
COLORANTS = {
    "srgb": ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)),
    "adobe": ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446)),
}
_D50 = (0.9642, 1.0, 0.8249)


def rgb_profile(
    *, gamma: float, primaries: str = "srgb", description: str = "", padding: int = 0
) -> bytes:
    """Bytes of an ICC v2 RGB display profile with a pure-gamma tone curve.

    ``rgb_profile(gamma=1.0)`` is "linear light with sRGB primaries": a stored value of
    128 means 50 % light, which sRGB encodes as about 188. Visible and easy to assert.
    ``padding`` adds a private tag of that many bytes (a huge but valid profile).
    """
    description = description or f"Test RGB, gamma {gamma:g}, {primaries} primaries"

    def xyz(values: Sequence[float]) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(struct.pack(">i", round(v * 65536)) for v in values)

    text = description.encode("ascii") + b"\0"
    desc = (
        b"desc\0\0\0\0"
        + struct.pack(">I", len(text))
        + text
        + struct.pack(">II", 0, 0)  # no Unicode description
        + struct.pack(">HB", 0, 0)
        + b"\0" * 67  # no ScriptCode description
    )
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    red, green, blue = COLORANTS[primaries]
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(_D50)),
        (b"rXYZ", xyz(red)),
        (b"gXYZ", xyz(green)),
        (b"bXYZ", xyz(blue)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
        (b"cprt", b"text\0\0\0\0No copyright, test data\0"),
    ]
    if padding:
        tags.append((b"zzzz", b"data\0\0\0\0\0\0\0\0" + bytes(padding)))
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table = struct.pack(">I", len(tags))
    body = b""
    for signature, payload in tags:
        payload += b"\0" * (-len(payload) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(payload))
        body += payload
    size = 128 + table_size + len(body)
    header = (
        struct.pack(">I", size)
        + b"\0\0\0\0"  # preferred CMM
        + struct.pack(">I", 0x02100000)  # version 2.1
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 24  # platform, flags, manufacturer, model, attributes
        + struct.pack(">I", 0)  # perceptual intent
        + b"".join(struct.pack(">i", round(v * 65536)) for v in _D50)
        + b"\0" * 48  # creator, profile ID, reserved
    )
    assert len(header) == 128
    return header + table + body


def srgb_profile() -> bytes:
    """Bytes of the sRGB profile LittleCMS builds (what most Android phones embed)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def with_icc(
    width: int,
    height: int,
    profile: bytes,
    *,
    fill: RGB = (128, 128, 128),
    fmt: str = "JPEG",
) -> bytes:
    """A flat ``fill`` image tagged with the ICC ``profile`` (JPEG, PNG or WEBP)."""
    img = Image.new("RGB", (width, height), fill)
    params: dict[str, object] = {"icc_profile": profile}
    if fmt == "JPEG":
        params["quality"] = 95
    return _save(img, fmt, **params)


def jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of each JPEG segment before the image data (SOS).

    For tests that inspect the raw file: APP1 = 0xE1 (EXIF, XMP), APP2 = 0xE2 (ICC),
    COM = 0xFE (comment).
    """
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    segments = []
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError(f"bad marker at {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        segments.append((marker, data[pos + 4 : pos + 2 + length]))
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        pos += 2 + length
    return segments


def broken_jpeg(data: bytes) -> bytes:
    """A JPEG whose frame header (SOF) announces 7 colour components: structurally invalid."""
    sof = data.find(b"\xff\xc0")
    if sof < 0:
        sof = data.find(b"\xff\xc2")  # progressive
    if sof < 0:
        raise ValueError("no SOF segment")
    buf = bytearray(data)
    buf[sof + 9] = 7
    return bytes(buf)


# --- large, odd and damaged files (tests/hostile.py builds its corpus from these) ---------


def gradient(width: int, height: int, *, alpha: bool = False) -> Image.Image:
    """A smooth RGB (or RGBA) image of any size, fast: a large :func:`scene` takes seconds."""
    across = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_270)
    down = Image.linear_gradient("L")
    bands = [across, down, across.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    if alpha:
        bands.append(down.point(lambda v: 64 + v // 2))
    small = Image.merge("RGBA" if alpha else "RGB", bands)
    return small.resize((width, height), Image.Resampling.BILINEAR)


def progressive_jpeg(
    img: Image.Image, *, quality: int = 90, subsampling: int = 2, **params: object
) -> bytes:
    """``img`` as a progressive JPEG (libjpeg's standard 10-scan script for colour).

    ``subsampling``: 2 = 4:2:0 (what phones write), 0 = 4:4:4.
    """
    return _save(img, "JPEG", progressive=True, quality=quality, subsampling=subsampling, **params)


def png_rows(
    width: int, height: int, row: bytes, *, colour_type: int = 6, bit_depth: int = 8
) -> bytes:
    """A PNG of ``height`` copies of one row of raw pixels, built in milliseconds at any size.

    The row is compressed once with a full flush, which makes its deflate blocks stand
    alone; the stream is that piece repeated, a final empty block and the Adler-32 of
    the whole: a 7000x7000 RGBA PNG takes ~50 ms instead of seconds of zlib.
    ``row`` holds the packed pixels, without PNG's filter byte.
    """
    line = b"\0" + row  # filter type 0 (None)
    block = line * max(1, (1 << 20) // len(line))
    lines_per_block = len(block) // len(line)
    whole, rest = divmod(height, lines_per_block)
    piece = zlib.compressobj(9, zlib.DEFLATED, -15)
    repeated = piece.compress(block) + piece.flush(zlib.Z_FULL_FLUSH)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    last = tail.compress(line * rest) + tail.flush()
    checksum = 1
    for _ in range(whole):
        checksum = zlib.adler32(block, checksum)
    checksum = zlib.adler32(line * rest, checksum)
    stream = b"\x78\xda" + repeated * whole + last + struct.pack(">I", checksum)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", stream)
        + _png_chunk(b"IEND", b"")
    )


def rgba_row(width: int) -> bytes:
    """One RGBA row for :func:`png_rows`: colour ramps, alpha from opaque to see-through."""
    return b"".join(
        bytes((x * 255 // width, 128, 255 - x * 255 // width, 255 - x * 255 // width))
        for x in range(width)
    )


def png_short_stream(img: Image.Image, rows: int, *, interlaced: bool = False) -> bytes:
    """A PNG whose complete zlib stream holds only the first ``rows`` rows of ``img``.

    Every chunk is well formed (CRCs, IEND): only the count of rows is short, as when a
    writer stops early. Not interlaced, the missing rows are the bottom ones; interlaced
    (Adam7), the stream stops inside the passes, so rows go missing all over the image.
    """
    full = _save(img.convert("RGB"), "PNG", interlace=interlaced)
    raw = zlib.decompress(_png_data(full))
    stride = 1 + img.width * 3
    kept = raw[: rows * stride] if not interlaced else raw[: len(raw) * rows // img.height]
    return _replace_png_data(full, zlib.compress(kept, 9))


def _png_data(png: bytes) -> bytes:
    """The concatenated IDAT payloads of a PNG."""
    data, position = b"", 8
    while position < len(png):
        length, kind = struct.unpack_from(">I4s", png, position)
        if kind == b"IDAT":
            data += png[position + 8 : position + 8 + length]
        position += 12 + length
    return data


def _replace_png_data(png: bytes, stream: bytes) -> bytes:
    """``png`` with its IDAT chunks replaced by one holding ``stream``."""
    chunks: list[bytes] = []
    position = 8
    while position < len(png):
        length, kind = struct.unpack_from(">I4s", png, position)
        chunk = png[position : position + 12 + length]
        if kind == b"IDAT":
            if not any(c[4:8] == b"IDAT" for c in chunks):
                chunks.append(_png_chunk(b"IDAT", stream))
        else:
            chunks.append(chunk)
        position += 12 + length
    return png[:8] + b"".join(chunks)


def cut_keeping_end(data: bytes, fraction: float) -> bytes:
    """The first ``fraction`` of a JPEG followed by its end marker (EOI).

    What a writer that stops early but closes the file leaves: libjpeg meets the end
    marker inside the scan and, without an error, fills the rest with grey.
    """
    return data[: int(len(data) * fraction)] + b"\xff\xd9"


def white_wall_jpeg(width: int, height: int, *, seed: int = 0) -> bytes:
    """A photo whose bottom half is an overexposed wall: exactly flat white (255)."""
    img = scene(width, height, seed=seed)
    ImageDraw.Draw(img).rectangle((0, height // 2, width, height), fill=(255, 255, 255))
    return _save(img, "JPEG", quality=90, exif=exif_bytes())


def screenshot_png(width: int, height: int, *, seed: int = 0) -> bytes:
    """A phone screenshot: content above a pure black navigation bar (zero bytes, as the
    rows a short PNG stream leaves behind)."""
    img = scene(width, height, seed=seed, noise=0)
    ImageDraw.Draw(img).rectangle((0, height * 15 // 16, width, height), fill=(0, 0, 0))
    return _save(img, "PNG")


def heic_photo(
    width: int,
    height: int,
    *,
    orientation: int | None = None,
    gps: bool = False,
    xmp: bool = False,
    seed: int = 0,
    marker: bool = False,
) -> bytes:
    """An iPhone-like HEIC (pillow-heif's x265 encoder) with EXIF, optional GPS and XMP.

    As with :func:`photo_jpeg`, the pixels are stored turned by the inverse of
    ``orientation`` and ``marker`` draws a red square in the displayed top-left corner;
    pillow-heif writes the orientation as HEIF's own rotation and mirror boxes.
    Smooth pixels (no noise): x265 takes seconds on noise.
    """
    from pillow_heif import register_heif_opener

    register_heif_opener()
    img = _stored_scene(width, height, orientation, seed=seed, marker=marker, noise=0)
    params: dict[str, object] = {
        "quality": 60,
        "exif": exif_bytes(orientation=orientation, gps=gps),
    }
    if xmp:
        params["xmp"] = XMP_PACKET
    return _save(img, "HEIF", **params)
