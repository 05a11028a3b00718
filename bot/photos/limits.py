"""Limits: what an upload may cost, known before a single pixel is decoded.

The bytes are hostile until shown to be cheap: the header's size, short side, ratio and
frame count are checked against the campaign's bounds, JPEG markers and PNG chunks are
walked first (scan count, segment count, libjpeg's coefficient buffer), and the memory a
decode needs is estimated from the header and refused above the budget, so a file that
would take seconds of CPU or gigabytes of memory is refused before Pillow decodes it. The
walk also notes where a JPEG's first scan and a PNG's image data lie, which
:mod:`bot.photos.decode` uses to tell a file that was cut short.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass

from PIL import Image

from bot.photos.refusals import AnimatedImage, NotAnImage, TooElongated, TooManyPixels, TooSmall

Upload = bytes | bytearray
"""An upload as it comes: PTB downloads into a bytearray, taken as it is so that the bot
holds one copy of a 20 MB document, not two."""

MAX_RATIO = 20
"""Telegram's limit on a photo's long side / short side."""

MAX_JPEG_SCANS = 100
"""Most scans a JPEG may have; above it the file is refused before decoding.

Each scan of a progressive JPEG is a pass over the whole image (~18 ms at 49 MP), and
nothing in the format stops a file from repeating its last refinement scan thousands of
times (800 kB, ~54 s of CPU). libjpeg's standard progressive script uses 10 scans (6 for
grayscale), encoders that tune their scripts (mozjpeg, Photoshop) stay within a few
dozen, and libjpeg-turbo's tools offer ``-maxscans`` for this attack. 100 is far above
any phone or editor; :data:`MAX_JPEG_SCAN_PIXELS` bounds the work at full size.
"""

MAX_JPEG_SCAN_PIXELS = 1_500_000_000
"""Most pixels times scans a JPEG may ask to decode; above it, refused before decoding.

A scan costs about a nanosecond a pixel on a small server (a 48 MP scan bomb of 100 scans
took 5.4 s on one loaded core, over the 10 s worker limit when four came at once): the
limit keeps any accepted JPEG under ~2 s. At 48 MP it allows 31 scans, three times the
standard script's 10; a 12 MP photo keeps the full :data:`MAX_JPEG_SCANS`.
"""

# Markers a JPEG may hold in total (header segments, tables between scans). Pillow
# parses the header in Python at ~1 us per marker; real files have tens (EXIF, XMP,
# an ICC profile in up to 255 pieces, tables). Millions of empty comments cost seconds.
_MAX_JPEG_MARKERS = 2_000
# Bytes before the first scan that are not part of any segment: libjpeg and Pillow skip
# them one by one (Pillow in Python), so megabytes of them are a CPU cost, not a photo.
_MAX_JPEG_HEADER_JUNK = 64 * 1024
# PNG chunks Pillow reads in Python (~5 us each); libpng writes 8 kB IDAT chunks, so
# 50,000 chunks is a 400 MB file. A million empty chunks took 6 s.
_MAX_PNG_CHUNKS = 50_000
# zTXt, iTXt and iCCP chunks: Pillow inflates each up to 1 MB and keeps up to 64 MB of
# text, which adds to the pixels' memory. Real files carry a handful.
_MAX_PNG_COMPRESSED_CHUNKS = 16

# Peak memory of decoding, in bytes per pixel of the declared size, where it is not the
# decoded image itself. WebP: libwebp's animation decoder (which Pillow uses for every
# WebP) keeps two canvases, Pillow copies the frame to bytes and then into the image:
# 4 x 4 bytes (measured: 753 MB for 7000x7000). HEIF: libheif's YCbCr planes (1.5 bytes)
# beside its interleaved RGB(A) output (measured: 224 MB for 8064x6048 RGB).
_WEBP_BYTES_PER_PIXEL = 16
_HEIF_PLANES_BYTES_PER_PIXEL = 1.5
# Multi-frame formats whose extra frames are not an animation.
_STILL_MULTIFRAME_FORMATS = frozenset({"MPO"})


def check_size(img: Image.Image, fmt: str, *, max_pixels: int, min_short_side: int) -> None:
    """Refusals read from the header: pixel count, short side, ratio, animation."""
    width, height = img.size
    if width <= 0 or height <= 0:
        raise NotAnImage("empty image")
    if width * height > max_pixels:
        raise TooManyPixels(
            f"{width}x{height} declared", width=width, height=height, max_pixels=max_pixels
        )
    if min(width, height) < min_short_side:
        # The short side does not change with EXIF rotation, so check before decoding.
        raise TooSmall(f"{width}x{height}", width=width, height=height)
    if max(width, height) > MAX_RATIO * min(width, height):
        raise TooElongated(f"{width}x{height}", width=width, height=height)
    if fmt not in _STILL_MULTIFRAME_FORMATS and (
        getattr(img, "is_animated", False) or getattr(img, "n_frames", 1) > 1
    ):
        raise AnimatedImage(f"{fmt} with several frames", width=width, height=height)


@dataclass(frozen=True)
class JpegFrame:
    """A JPEG's frame header and scan count, from walking its markers.

    ``multi_scan`` is libjpeg's ``has_multiple_scans``: a progressive frame, or a first
    scan that does not interleave every component. libjpeg then keeps every DCT
    coefficient of the image in memory until the last scan, whatever the output scale.
    """

    width: int
    height: int
    sampling: tuple[tuple[int, int], ...]
    arithmetic: bool
    multi_scan: bool
    scans: int
    first_scan: int  # where the first scan's entropy-coded data starts

    def coefficient_bytes(self) -> int:
        """Size of libjpeg's whole-image coefficient buffer (two bytes per coefficient).

        Per component: its blocks across and down, rounded up to whole MCUs as
        ``jdcoefct.c`` allocates them, 64 coefficients of 2 bytes each.
        """
        h_max = max(h for h, _ in self.sampling)
        v_max = max(v for _, v in self.sampling)
        total = 0
        for h, v in self.sampling:
            across = ceil_div(ceil_div(self.width * h, h_max), 8)
            down = ceil_div(ceil_div(self.height * v, v_max), 8)
            total += ceil_div(across, h) * h * ceil_div(down, v) * v * 128
        return total

    def first_scan_too_short(self, data: Upload) -> bool:
        """Whether a sequential scan holds under one bit per block: cut before its pixels.

        Huffman coding spends at least two bits on a block (its DC difference and the end
        of block), even one of flat colour. Only sequential Huffman-coded frames are
        judged: a progressive first scan may cover some components, and arithmetic
        coding can spend less than a bit.
        """
        if self.multi_scan or self.arithmetic:
            return False
        end = _JPEG_NEXT_MARKER.search(data, self.first_scan)
        size = (end.start() if end else len(data)) - self.first_scan
        return size * 8 < self.coefficient_bytes() // 128


@dataclass(frozen=True)
class PngHeader:
    """What a PNG's chunks say about its pixel data: enough to tell a short stream."""

    width: int
    height: int
    bit_depth: int
    colour_type: int
    interlaced: bool
    idat: tuple[tuple[int, int], ...]  # (start, end) of each IDAT chunk's data

    def raw_size(self) -> int | None:
        """Bytes the image data inflates to (filter byte + packed row, per row and pass)."""
        channels = _PNG_CHANNELS.get(self.colour_type)
        if channels is None:
            return None
        bits = channels * self.bit_depth
        passes = _ADAM7 if self.interlaced else ((0, 0, 1, 1),)
        total = 0
        for x0, y0, dx, dy in passes:
            columns = ceil_div(self.width - x0, dx)
            rows = ceil_div(self.height - y0, dy)
            if columns > 0 and rows > 0:
                total += rows * (1 + ceil_div(columns * bits, 8))
        return total


Layout = JpegFrame | PngHeader | None

_JPEG_SIGNATURE = b"\xff\xd8\xff"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Adam7 passes: first column, first row, column step, row step.
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)

# The next marker as libjpeg finds it: 0xFF (after any fill 0xFF) then a byte that is
# neither a stuffed zero nor a restart marker (RSTn carry no length and are skipped both
# inside entropy-coded data and between segments). Searching with this pattern skips
# entropy-coded data and stray bytes the way libjpeg's ``next_marker`` does, so a junk
# byte between scans cannot hide the scans after it.
_JPEG_NEXT_MARKER = re.compile(rb"\xff[^\x00\xff\xd0-\xd7]")
_JPEG_SOS, _JPEG_EOI, _JPEG_SOI, _JPEG_TEM = 0xDA, 0xD9, 0xD8, 0x01


# DCT frames libjpeg decodes: baseline, extended and progressive, Huffman (SOF0-2) or
# arithmetic (SOF9-10) coded.
_JPEG_DCT_FRAMES = frozenset({0xC0, 0xC1, 0xC2, 0xC9, 0xCA})
_JPEG_PROGRESSIVE_FRAMES = frozenset({0xC2, 0xCA})
_JPEG_ARITHMETIC_FRAMES = frozenset({0xC9, 0xCA})
# Lossless and hierarchical frames: no phone writes them, and libjpeg cannot decode them
# at reduced scale, so they would cost full-size memory.
_JPEG_OTHER_FRAMES = frozenset({0xC3, 0xC5, 0xC6, 0xC7, 0xCB, 0xCD, 0xCE, 0xCF})


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def read_layout(data: Upload) -> Layout:
    """Walk the structure of a JPEG or PNG before Pillow parses it; refuse costly ones."""
    if data.startswith(_JPEG_SIGNATURE):
        return _jpeg_frame(data)
    if data.startswith(_PNG_SIGNATURE):
        return _png_header(data)
    return None


def _jpeg_frame(data: Upload) -> JpegFrame:
    """Walk a JPEG's markers as libjpeg will, counting scans, without decoding anything.

    Segment lengths are taken as libjpeg takes them (a length under 2 skips nothing), and
    the walk never skips a byte the decoder would read as a marker, so a hostile length
    can make it count more scans, never fewer. It stops at the first EOI, where libjpeg
    stops (an MPO's extra images follow it). A single-scan JPEG (every phone photo) is
    walked up to its first scan only: libjpeg decodes one scan of it and stops.
    """
    frame: tuple[int, Upload] | None = None  # the first SOF: marker, body
    first_scan = scans = markers = junk = 0
    interleaved = True
    position = 2
    while match := _JPEG_NEXT_MARKER.search(data, position):
        start = match.start()
        if scans == 0:
            junk += start - position
            if junk > _MAX_JPEG_HEADER_JUNK:
                raise NotAnImage("JPEG header padded with junk")
        markers += 1
        if markers > _MAX_JPEG_MARKERS:
            raise NotAnImage(f"JPEG with over {_MAX_JPEG_MARKERS} markers")
        marker = data[start + 1]
        if marker == _JPEG_EOI:
            break
        if marker in (_JPEG_SOI, _JPEG_TEM):  # no length follows
            position = start + 2
            continue
        length = max(2, int.from_bytes(data[start + 2 : start + 4], "big"))
        body = data[start + 4 : start + 2 + length]
        position = start + 2 + length
        if marker in _JPEG_OTHER_FRAMES:
            raise NotAnImage(f"JPEG frame type {marker:#x} not supported")
        if marker in _JPEG_DCT_FRAMES and frame is None:
            frame = (marker, body)
        elif marker == _JPEG_SOS:
            if frame is None or not body:
                raise NotAnImage("JPEG scan without a frame header")
            scans += 1
            if scans > MAX_JPEG_SCANS:
                raise NotAnImage(f"JPEG with over {MAX_JPEG_SCANS} scans")
            if scans == 1:
                first_scan, scan_components = position, body[0]
                interleaved = scan_components >= len(_jpeg_sampling(frame[1]))
                if interleaved and frame[0] not in _JPEG_PROGRESSIVE_FRAMES:
                    break
    if frame is None:
        raise NotAnImage("JPEG without a frame header")
    marker, body = frame
    height, width = struct.unpack_from(">HH", body, 1)
    if width * height * scans > MAX_JPEG_SCAN_PIXELS:
        raise NotAnImage(f"JPEG of {width}x{height} with {scans} scans: too much to decode")
    return JpegFrame(
        width=width,
        height=height,
        sampling=_jpeg_sampling(body),
        arithmetic=marker in _JPEG_ARITHMETIC_FRAMES,
        multi_scan=marker in _JPEG_PROGRESSIVE_FRAMES or not interleaved,
        scans=scans,
        first_scan=first_scan,
    )


def _jpeg_sampling(sof: Upload) -> tuple[tuple[int, int], ...]:
    """(horizontal, vertical) sampling factors of each component of a frame header."""
    count = sof[5] if len(sof) >= 6 else 0
    if count == 0 or len(sof) < 6 + 3 * count:
        raise NotAnImage("bad JPEG frame header")
    sampling = tuple((sof[7 + 3 * i] >> 4, sof[7 + 3 * i] & 15) for i in range(count))
    if not all(1 <= h <= 4 and 1 <= v <= 4 for h, v in sampling):
        raise NotAnImage("bad JPEG sampling factors")
    return sampling


def _png_header(data: Upload) -> PngHeader | None:
    """Walk a PNG's chunks (lengths only) and refuse those Pillow would take long over."""
    chunks = compressed = 0
    ihdr: tuple[int, ...] | None = None
    idat: list[tuple[int, int]] = []
    position = len(_PNG_SIGNATURE)
    while position + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        chunks += 1
        if chunks > _MAX_PNG_CHUNKS:
            raise NotAnImage(f"PNG with over {_MAX_PNG_CHUNKS} chunks")
        start = position + 8
        if kind == b"IHDR" and ihdr is None and length == 13 and start + 13 <= len(data):
            ihdr = struct.unpack_from(">IIBBBBB", data, start)
        elif kind == b"IDAT":
            idat.append((start, min(start + length, len(data))))
        elif kind in (b"zTXt", b"iTXt", b"iCCP"):
            compressed += 1
            if compressed > _MAX_PNG_COMPRESSED_CHUNKS:
                raise NotAnImage("PNG with too many compressed text chunks")
        elif kind == b"IEND":
            break
        position = start + length + 4  # data, then CRC
    if ihdr is None:
        return None  # Pillow refuses it
    width, height, bit_depth, colour_type, _, _, interlace = ihdr
    return PngHeader(width, height, bit_depth, colour_type, interlace == 1, tuple(idat))


def _bytes_per_pixel(mode: str) -> int:
    """How many bytes Pillow stores per pixel of ``mode``."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


def _decode_bytes(img: Image.Image, fmt: str, layout: Layout) -> int:
    """Peak memory decoding ``img`` will take (after any draft), from its header alone."""
    pixels = img.width * img.height
    if fmt == "WEBP":
        return pixels * _WEBP_BYTES_PER_PIXEL
    if fmt == "HEIF":
        return math.ceil(pixels * (_HEIF_PLANES_BYTES_PER_PIXEL + len(img.getbands())))
    decoded = pixels * _bytes_per_pixel(img.mode)
    if isinstance(layout, JpegFrame) and layout.multi_scan:
        decoded += layout.coefficient_bytes()
    return decoded


def check_decode_cost(
    img: Image.Image,
    fmt: str,
    layout: Layout,
    size: tuple[int, int],
    *,
    max_decode_bytes: int,
    max_pixels: int,
) -> None:
    """Refuse, before decoding, an image whose decode would need over ``max_decode_bytes``.

    ``size`` is the declared size (before any draft); the refusal names the largest pixel
    count that would have fitted, at most ``max_pixels``.
    """
    cost = _decode_bytes(img, fmt, layout)
    if cost <= max_decode_bytes:
        return
    width, height = size
    fitting = width * height * max_decode_bytes // cost
    raise TooManyPixels(
        f"{width}x{height} {fmt} {img.mode}: decoding needs ~{cost // 1_000_000} MB",
        width=width,
        height=height,
        max_pixels=min(max_pixels, fitting),
    )
