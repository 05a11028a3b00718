"""Hostile uploads, generated: what an attacker, a broken phone or a cut transfer can send.

Every case is a file name, a deterministic generator and the outcome the pipeline owes it
(``accepted``, or the ``code`` of its refusal). Decompression and scan bombs, images whose
decode alone is huge, truncated data that decoders turn into grey or black pixels without
an error, amplifying EXIF blocks, a huge ICC profile, marker and chunk floods, animations,
unusual colour modes, HEIC, junk, and a few ordinary photos as controls (a hostile-file
guard that refuses a real photo is worse than none).

``heavy`` marks the worst cases for memory: the tests and ``python -m benchmarks
hostile`` measure those in a child process of their own.

``python -m tests.hostile DIR`` writes the corpus to DIR (about 5 s, 60 MB).
"""

from __future__ import annotations

import io
import random
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from tests.support import imagegen

ACCEPTED = "accepted"


@dataclass(frozen=True)
class Case:
    """One hostile (or control) file and what ``process_image`` must make of it."""

    name: str
    make: Callable[[], bytes]
    expected: str  # ACCEPTED or an ImageRejected code
    why: str
    heavy: bool = False


# --- JPEG surgery ------------------------------------------------------------------------


def _jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each segment and scan of a well-formed JPEG, up to EOI.

    A scan's end includes its entropy-coded data. For surgery on files Pillow wrote,
    not for hostile input (the pipeline has its own walker).
    """
    segments = []
    position = 2
    while position < len(data):
        marker = data[position + 1]
        if marker == 0xD9:
            break
        (length,) = struct.unpack_from(">H", data, position + 2)
        end = position + 2 + length
        if marker == 0xDA:
            while not (data[end] == 0xFF and data[end + 1] not in (0, *range(0xD0, 0xD8))):
                end += 1
        segments.append((marker, position, end))
        position = end
    return segments


def scan_bomb(width: int, height: int, scans: int) -> bytes:
    """A progressive JPEG whose last refinement scan (with its tables) is repeated.

    libjpeg warns about the pointless repetition and decodes every copy: each is a pass
    over the whole image. On a flat image a copy is a few dozen bytes.
    """
    data = imagegen.progressive_jpeg(Image.new("RGB", (width, height), (180, 120, 60)))
    segments = _jpeg_segments(data)
    last_scan = max(i for i, (marker, _, _) in enumerate(segments) if marker == 0xDA)
    first = last_scan
    while segments[first - 1][0] == 0xC4:  # the Huffman tables sent for that scan
        first -= 1
    start, end = segments[first][1], segments[last_scan][2]
    repeats = scans - sum(1 for marker, _, _ in segments if marker == 0xDA)
    return data[:end] + data[start:end] * repeats + b"\xff\xd9"


def scan_bomb_with_junk(width: int, height: int, scans: int) -> bytes:
    """:func:`scan_bomb` with a stray byte and a comment claiming length 1 between scans.

    libjpeg skips stray bytes before a marker (a warning) and a segment length under 2
    skips nothing: a walker trusting either would lose count of the scans that follow.
    """
    data = scan_bomb(width, height, scans)
    return data.replace(b"\xff\xc4", b"\x00\xff\xfe\x00\x01\xff\xc4")


def with_sof(
    data: bytes, *, size: tuple[int, int] | None = None, marker: int | None = None
) -> bytes:
    """A JPEG whose frame header declares another size, or another frame type."""
    sof = next(start for m, start, _ in _jpeg_segments(data) if m in (0xC0, 0xC1, 0xC2))
    buf = bytearray(data)
    if size is not None:
        struct.pack_into(">HH", buf, sof + 5, size[1], size[0])
    if marker is not None:
        buf[sof + 1] = marker
    return bytes(buf)


def insert_after_soi(data: bytes, extra: bytes) -> bytes:
    return data[:2] + extra + data[2:]


def marker_flood(count: int) -> bytes:
    """A small photo preceded by ``count`` empty comment segments."""
    return insert_after_soi(imagegen.photo_jpeg(800, 600), b"\xff\xfe\x00\x02" * count)


def header_junk(size: int) -> bytes:
    """A small photo with ``size`` stray bytes after its first segment (Pillow walks them
    one by one in Python)."""
    data = imagegen.photo_jpeg(800, 600)
    _, _, end = _jpeg_segments(data)[0]
    return data[:end] + bytes(size) + data[end:]


def bad_segment_length() -> bytes:
    """A JPEG whose quantisation table claims to run far past the end of the file."""
    data = imagegen.photo_jpeg(800, 600)
    dqt = next(start for marker, start, _ in _jpeg_segments(data) if marker == 0xDB)
    buf = bytearray(data)
    struct.pack_into(">H", buf, dqt + 2, 0xFFF0)
    return bytes(buf[: dqt + 200])


def cut_inside_first_scan(data: bytes, keep: int) -> bytes:
    """``data`` cut ``keep`` bytes into its first scan, end marker kept."""
    sos = next(start for marker, start, _ in _jpeg_segments(data) if marker == 0xDA)
    (length,) = struct.unpack_from(">H", data, sos + 2)
    return data[: sos + 2 + length + keep] + b"\xff\xd9"


def exif_amplifier(entries: int, value_size: int) -> bytes:
    """EXIF whose first IFD has ``entries`` tags all pointing at one ``value_size`` blob.

    Small on disk; a parser that copies each tag's value makes entries x value_size bytes.
    """
    offset = 8 + 2 + 12 * entries + 4
    table = b"".join(
        struct.pack("<HHII", 0x1000 + i, 7, value_size, offset) for i in range(entries)
    )
    tiff = b"II*\0" + struct.pack("<IH", 8, entries) + table + b"\0\0\0\0" + b"A" * value_size
    return b"Exif\0\0" + tiff


def jpeg_with_exif(exif: bytes) -> bytes:
    """A small photo whose EXIF segment (APP1) is ``exif`` (at most 64 kB)."""
    data = imagegen.photo_jpeg(800, 600)
    app1 = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    _, start, end = next(s for s in _jpeg_segments(data) if s[0] == 0xE1)
    return data[:start] + app1 + data[end:]


# --- other formats -----------------------------------------------------------------------


def png_with_chunks(png: bytes, chunks: bytes) -> bytes:
    """``png`` with ``chunks`` inserted right after its IHDR."""
    return png[:33] + chunks + png[33:]


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def webp_lossless_canvas(width: int, height: int, colour: tuple[int, int, int, int]) -> bytes:
    """A lossless WebP of one colour at any size, in a few dozen bytes.

    A one-colour VP8L bitstream spends no bits per pixel, so the 16x16 image Pillow
    writes becomes a width x height one by rewriting the 14-bit sizes of its header.
    """
    out = io.BytesIO()
    Image.new("RGBA", (16, 16), colour).save(out, "WEBP", lossless=True)
    buf = bytearray(out.getvalue())
    assert buf[12:16] == b"VP8L" and buf[20] == 0x2F, "Pillow wrote an unexpected WebP"
    (bits,) = struct.unpack_from("<I", buf, 21)
    bits = (bits & ~0x0FFFFFFF) | (width - 1) | ((height - 1) << 14)
    struct.pack_into("<I", buf, 21, bits)
    return bytes(buf)


def gif_declared(width: int, height: int) -> bytes:
    """A small GIF whose screen and image descriptor claim ``width`` x ``height``."""
    out = io.BytesIO()
    Image.new("P", (64, 64), 1).save(out, "GIF")
    buf = bytearray(out.getvalue())
    struct.pack_into("<HH", buf, 6, width, height)
    descriptor = buf.index(b",", 13)
    struct.pack_into("<HH", buf, descriptor + 5, width, height)
    return bytes(buf)


def stripes_gif(width: int, height: int) -> bytes:
    """A still GIF of horizontal colour bands: full-size palette pixels, a small file."""
    img = Image.new("P", (width, height), 0)
    img.putpalette([v for i in range(16) for v in (i * 16, 255 - i * 16, 128)])
    draw = ImageDraw.Draw(img)
    for band in range(16):
        draw.rectangle((0, band * height // 16, width, (band + 1) * height // 16), fill=band)
    out = io.BytesIO()
    img.save(out, "GIF")
    return out.getvalue()


def heic_lying_size() -> bytes:
    """A HEIC whose declared size (``ispe``) is smaller than the picture it codes."""
    data = bytearray(imagegen.heic_photo(1000, 750))
    position = data.find(b"ispe")
    while position > 0:
        struct.pack_into(">II", data, position + 8, 640, 480)
        position = data.find(b"ispe", position + 4)
    return bytes(data)


def save(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


# --- the corpus ----------------------------------------------------------------------------

NOT_AN_IMAGE = "not_an_image"
_MEGABYTE_OF_TEXT = zlib.compress(b"A" * 1_000_000, 9)
TOO_MANY_PIXELS = "too_many_pixels"

CASES: tuple[Case, ...] = (
    # Controls: what phones really send must keep working.
    Case(
        "photo.jpg",
        lambda: imagegen.photo_jpeg(1600, 1200, orientation=6, gps=True, xmp=True),
        ACCEPTED,
        "a phone photo with GPS in EXIF and XMP",
    ),
    Case(
        "photo-progressive.jpg",
        lambda: imagegen.progressive_jpeg(imagegen.scene(1600, 1200, seed=2)),
        ACCEPTED,
        "progressive, 10 scans",
    ),
    Case(
        "photo-48mp.jpg",
        lambda: save(imagegen.gradient(8000, 6000), "JPEG", quality=90),
        ACCEPTED,
        "48 MP baseline JPEG: decoded at 1/4 scale",
        heavy=True,
    ),
    Case(
        "white-wall.jpg",
        lambda: imagegen.white_wall_jpeg(1600, 1200),
        ACCEPTED,
        "bottom half flat white: not mistaken for missing data",
    ),
    Case(
        "grey.jpg",
        lambda: imagegen.with_icc(800, 600, imagegen.srgb_profile()),
        ACCEPTED,
        "a whole image of mid-grey, complete: not mistaken for missing data",
    ),
    Case(
        "screenshot.png",
        lambda: imagegen.screenshot_png(1080, 2340),
        ACCEPTED,
        "black bar at the bottom: zero bytes, but a complete stream",
    ),
    Case("photo.webp", lambda: imagegen.webp_photo(1200, 900), ACCEPTED, "lossy WebP"),
    Case(
        "photo.heic",
        lambda: imagegen.heic_photo(1000, 750, orientation=6, gps=True, xmp=True),
        ACCEPTED,
        "iPhone HEIC sent as a file, with GPS",
    ),
    Case("cmyk.jpg", lambda: imagegen.cmyk_jpeg(800, 600), ACCEPTED, "CMYK JPEG"),
    Case("gray16.png", lambda: imagegen.gray16_png(800, 600), ACCEPTED, "16-bit grayscale PNG"),
    Case(
        "palette-transparent.png",
        lambda: imagegen.palette_png(800, 600),
        ACCEPTED,
        "palette PNG with a transparent index",
    ),
    Case(
        "gray-alpha.png",
        lambda: save(imagegen.scene(800, 600).convert("LA"), "PNG"),
        ACCEPTED,
        "grayscale with alpha",
    ),
    Case(
        "one-bit.png",
        lambda: save(imagegen.scene(800, 600).convert("1"), "PNG"),
        ACCEPTED,
        "1-bit PNG",
    ),
    Case("mpo.jpg", lambda: imagegen.mpo_jpeg(1600, 1200), ACCEPTED, "JPEG + depth map (MPO)"),
    Case(
        "still.gif",
        lambda: save(imagegen.scene(640, 480), "GIF"),
        ACCEPTED,
        "still GIF",
    ),
    # Scan bombs: each scan is a pass over the whole image.
    Case(
        "scan-bomb.jpg",
        lambda: scan_bomb(4000, 3000, 3000),
        NOT_AN_IMAGE,
        "12 MP progressive, last scan repeated: 3000 scans",
    ),
    Case(
        "scan-bomb-hidden.jpg",
        lambda: scan_bomb_with_junk(4000, 3000, 3000),
        NOT_AN_IMAGE,
        "the same with stray bytes and length-1 comments between scans",
    ),
    Case(
        "scans-100.jpg",
        lambda: scan_bomb(1000, 750, 100),
        ACCEPTED,
        "exactly the scan limit",
    ),
    Case(
        "scans-101.jpg",
        lambda: scan_bomb(1000, 750, 101),
        NOT_AN_IMAGE,
        "one scan over the limit",
    ),
    Case(
        "scans-49mp-40.jpg",
        lambda: scan_bomb(7000, 7000, 40),
        NOT_AN_IMAGE,
        "49 MP with 40 scans: under the scan limit, over the pixel-scan budget",
        heavy=True,
    ),
    # Bombs: small files declaring or decoding to huge images.
    Case(
        "bomb-400mp.png",
        lambda: imagegen.bomb_png(20_000, 20_000),
        TOO_MANY_PIXELS,
        "1-bit PNG bomb, over Pillow's own limit",
    ),
    Case(
        "bomb-60mp.png",
        lambda: imagegen.bomb_png(10_000, 6_000),
        TOO_MANY_PIXELS,
        "1-bit PNG bomb over our 50 MP",
    ),
    Case(
        "bomb-declared.jpg",
        lambda: with_sof(imagegen.photo_jpeg(800, 600), size=(30_000, 30_000)),
        TOO_MANY_PIXELS,
        "JPEG frame header claiming 900 MP",
    ),
    Case(
        "bomb-declared.gif",
        lambda: gif_declared(20_000, 20_000),
        TOO_MANY_PIXELS,
        "GIF claiming 400 MP",
    ),
    Case(
        "bomb-declared.webp",
        lambda: webp_lossless_canvas(16_383, 16_383, (0, 0, 0, 0)),
        TOO_MANY_PIXELS,
        "38-byte WebP of 268 MP",
    ),
    Case(
        "alpha-49mp.png",
        lambda: imagegen.png_rows(7000, 7000, imagegen.rgba_row(7000)),
        TOO_MANY_PIXELS,
        "RGBA PNG under 50 MP whose decode is 196 MB",
        heavy=True,
    ),
    Case(
        "lossless-49mp.webp",
        lambda: webp_lossless_canvas(7000, 7000, (200, 30, 30, 128)),
        TOO_MANY_PIXELS,
        "38-byte lossless WebP of 49 MP (784 MB through libwebp and Pillow)",
        heavy=True,
    ),
    Case(
        "progressive-444-27mp.jpg",
        lambda: imagegen.progressive_jpeg(imagegen.gradient(6000, 4500), subsampling=0),
        TOO_MANY_PIXELS,
        "progressive 4:4:4: 6 bytes of coefficients per pixel",
        heavy=True,
    ),
    # The largest of each kind still accepted: the memory bound is about these.
    Case(
        "alpha-39mp.png",
        lambda: imagegen.png_rows(7200, 5400, imagegen.rgba_row(7200)),
        ACCEPTED,
        "largest RGBA PNG accepted, flattened in strips",
        heavy=True,
    ),
    Case(
        "progressive-49mp.jpg",
        lambda: imagegen.progressive_jpeg(imagegen.gradient(7000, 7000)),
        ACCEPTED,
        "progressive 4:2:0 at 49 MP: libjpeg's coefficient buffer is 147 MB",
        heavy=True,
    ),
    Case(
        "photo-9.9mp.webp",
        lambda: save(imagegen.gradient(3640, 2730), "WEBP", quality=80, method=0),
        ACCEPTED,
        "largest WebP accepted (16 bytes per pixel to decode)",
        heavy=True,
    ),
    Case(
        "stripes-49mp.gif",
        lambda: stripes_gif(7000, 7000),
        ACCEPTED,
        "49 MP still GIF, palette expanded in strips",
        heavy=True,
    ),
    # Truncated: decoders say nothing, the pixels are grey or black.
    Case(
        "cut-keeping-end.jpg",
        lambda: imagegen.cut_keeping_end(imagegen.photo_jpeg(1600, 1200), 0.4),
        NOT_AN_IMAGE,
        "40 % of a JPEG, then its end marker: the rest decodes grey",
    ),
    Case(
        "cut-keeping-end-progressive.jpg",
        lambda: imagegen.cut_keeping_end(
            imagegen.progressive_jpeg(imagegen.scene(1600, 1200, seed=3)), 0.02
        ),
        NOT_AN_IMAGE,
        "progressive JPEG cut inside its first (DC) scan, end marker kept",
    ),
    Case(
        "cut-keeping-end-first-row.jpg",
        lambda: cut_inside_first_scan(imagegen.photo_jpeg(1600, 1200), 20),
        NOT_AN_IMAGE,
        "20 bytes of pixel data then the end marker: all grey",
    ),
    Case(
        "truncated.jpg",
        lambda: imagegen.truncated(imagegen.photo_jpeg(1600, 1200)),
        NOT_AN_IMAGE,
        "half a JPEG",
    ),
    Case(
        "short-stream.png",
        lambda: imagegen.png_short_stream(imagegen.scene(800, 600), 300),
        NOT_AN_IMAGE,
        "complete zlib stream holding half the rows: black bottom half",
    ),
    Case(
        "short-stream-interlaced.png",
        lambda: imagegen.png_short_stream(imagegen.scene(800, 600), 400, interlaced=True),
        NOT_AN_IMAGE,
        "interlaced, stream stops in the last passes: black rows everywhere",
    ),
    Case(
        "truncated.png",
        lambda: imagegen.truncated(imagegen.palette_png(800, 600), 0.8),
        NOT_AN_IMAGE,
        "80 % of a PNG",
    ),
    Case(
        "truncated.gif",
        lambda: imagegen.truncated(save(imagegen.scene(640, 480), "GIF")),
        NOT_AN_IMAGE,
        "half a GIF",
    ),
    Case(
        "truncated.webp",
        lambda: imagegen.truncated(imagegen.webp_photo(800, 600)),
        NOT_AN_IMAGE,
        "half a WebP",
    ),
    Case(
        "truncated.heic",
        lambda: imagegen.truncated(imagegen.heic_photo(800, 600), 0.9),
        NOT_AN_IMAGE,
        "90 % of a HEIC",
    ),
    Case(
        "lying-size.heic",
        heic_lying_size,
        NOT_AN_IMAGE,
        "HEIC declaring 640x480 around a 1000x750 picture",
    ),
    # Structure floods: cheap to send, slow to parse in Python.
    Case(
        "marker-flood.jpg",
        lambda: marker_flood(100_000),
        NOT_AN_IMAGE,
        "100,000 empty comments",
    ),
    Case("header-junk.jpg", lambda: header_junk(1 << 20), NOT_AN_IMAGE, "1 MB of stray bytes"),
    Case(
        "bad-segment-length.jpg",
        bad_segment_length,
        NOT_AN_IMAGE,
        "a table claiming 64 kB at the end of a cut file",
    ),
    Case(
        "lossless-frame.jpg",
        lambda: with_sof(imagegen.photo_jpeg(800, 600), marker=0xC3),
        NOT_AN_IMAGE,
        "lossless JPEG frame type (no reduced-scale decode)",
    ),
    Case(
        "chunk-flood.png",
        lambda: png_with_chunks(imagegen.palette_png(800, 600), png_chunk(b"teXx", b"") * 60_000),
        NOT_AN_IMAGE,
        "60,000 empty chunks",
    ),
    Case(
        "text-flood.png",
        lambda: png_with_chunks(
            imagegen.palette_png(800, 600),
            b"".join(png_chunk(b"zTXt", b"k%d\0\0" % i + _MEGABYTE_OF_TEXT) for i in range(40)),
        ),
        NOT_AN_IMAGE,
        "40 compressed text chunks of 1 MB each",
    ),
    # Metadata: broken or built to amplify.
    Case(
        "exif-broken.jpg",
        lambda: jpeg_with_exif(b"Exif\0\0" + random.Random(1).randbytes(2000)),
        ACCEPTED,
        "EXIF that is noise: the photo is kept, upright as stored",
    ),
    Case(
        "exif-amplifier.jpg",
        lambda: jpeg_with_exif(exif_amplifier(2600, 33_000)),
        ACCEPTED,
        "64 kB EXIF: 2600 tags sharing one 33 kB value",
    ),
    Case(
        "exif-amplifier.png",
        lambda: png_with_chunks(
            imagegen.palette_png(800, 600), png_chunk(b"eXIf", exif_amplifier(60_000, 4 << 20)[6:])
        ),
        ACCEPTED,
        "5 MB EXIF: 60,000 tags sharing one 4 MB value (240 GB if each were copied)",
        heavy=True,
    ),
    Case(
        "exif-amplifier.webp",
        lambda: save(imagegen.scene(800, 600), "WEBP", exif=exif_amplifier(60_000, 1 << 20)),
        ACCEPTED,
        "the same amplifier in a WebP",
    ),
    Case(
        "icc-huge.jpg",
        lambda: imagegen.with_icc(
            800, 600, imagegen.rgb_profile(gamma=1.0, padding=8 << 20), fill=(90, 140, 200)
        ),
        ACCEPTED,
        "valid 8 MB ICC profile in 129 pieces",
    ),
    Case(
        "icc-garbage.png",
        lambda: imagegen.with_icc(800, 600, b"not a profile" * 100, fmt="PNG"),
        ACCEPTED,
        "ICC chunk that is not a profile: ignored",
    ),
    # Refused for what they are, not for their cost.
    Case("animated.gif", lambda: imagegen.animated_gif(640, 640), "animated", "animated GIF"),
    Case("animated.webp", lambda: imagegen.animated_webp(640, 640), "animated", "animated WebP"),
    Case("animated.png", lambda: imagegen.animated_png(640, 640), "animated", "APNG"),
    Case("too-small.jpg", lambda: imagegen.photo_jpeg(640, 400), "too_small", "400 px short side"),
    Case(
        "too-elongated.png",
        lambda: save(imagegen.gradient(500, 10_500), "PNG"),
        "too_elongated",
        "21:1",
    ),
    Case(
        "tiff.tif",
        lambda: save(imagegen.scene(640, 480), "TIFF"),
        NOT_AN_IMAGE,
        "a real image in a format not accepted",
    ),
    # Junk.
    Case("empty.jpg", lambda: b"", NOT_AN_IMAGE, "zero bytes"),
    Case(
        "random.jpg", lambda: imagegen.random_bytes(100_000, seed=5), NOT_AN_IMAGE, "random bytes"
    ),
    Case(
        "jpeg-magic-junk.jpg",
        lambda: b"\xff\xd8\xff" + imagegen.random_bytes(50_000, seed=6),
        NOT_AN_IMAGE,
        "JPEG signature, then noise",
    ),
    Case("page.jpg", lambda: imagegen.HTML_BYTES, NOT_AN_IMAGE, "an HTML page named .jpg"),
)


def generate(folder: Path) -> list[tuple[Case, Path]]:
    """Write every case into ``folder``; each case with the path of its file."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for case in CASES:
        path = folder / case.name
        path.write_bytes(case.make())
        written.append((case, path))
    return written


def by_name() -> dict[str, Case]:
    return {case.name: case for case in CASES}


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus")
    for case, path in generate(target):
        print(f"{path.stat().st_size:>10,}  {case.expected:<16} {case.name}")
