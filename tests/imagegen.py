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

    Cached: generating it in Python is the slowest part of a small scene. Read-only.
    """
    rng = random.Random(seed * 7919 + 1)
    side = 509  # prime: the tiling does not line up with JPEG's 8x8 blocks
    data = bytes(max(0, min(255, round(rng.gauss(128, sigma)))) for _ in range(side * side))
    return Image.frombytes("L", (side, side), data)


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
    upright = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    img = scene(*upright, seed=seed)
    if marker:
        side = max(8, min(upright) // 8)
        ImageDraw.Draw(img).rectangle((0, 0, side - 1, side - 1), fill=MARKER_COLOUR)
    if orientation in _INVERSE_ORIENTATION:
        img = img.transpose(_INVERSE_ORIENTATION[orientation])
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


def rgb_profile(*, gamma: float, primaries: str = "srgb", description: str = "") -> bytes:
    """Bytes of an ICC v2 RGB display profile with a pure-gamma tone curve.

    ``rgb_profile(gamma=1.0)`` is "linear light with sRGB primaries": a stored value of
    128 means 50 % light, which sRGB encodes as about 188. Visible and easy to assert.
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
