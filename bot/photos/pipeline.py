"""Photo pipeline: turn an untrusted upload into a small, clean, branded JPEG.

Apprentices (often minors, often on cheap phones) send whatever their phone produced:
12-48 MP JPEGs with GPS in the EXIF, HEIC, screenshots, sometimes junk. Everything here
treats the bytes as hostile: the header is checked before anything is decoded, every
failure from Pillow becomes one of a few refusals with a machine-readable ``code`` the
bot turns into a friendly message, and the output is rebuilt from pixels only, so no
metadata (location, camera, comments, profiles) can ever reach the public channel.

Bounded cost: what an upload may cost is known before it is decoded. JPEG markers and
PNG chunks are walked first (scan count, segment count, libjpeg's coefficient buffer);
the memory a decode needs is estimated from the header and refused above
:attr:`ImageOptions.max_decode_bytes`; the decoded pixels are converted and reduced in
strips of rows, so no full-size copy follows the decode; data that ran out early is
refused rather than published as a grey or black photo.

Plain synchronous functions on purpose: the bot runs them in worker processes
(:mod:`bot.photos.workers`), which also bound each job's wall time and memory.
Pillow only (no numpy), so the dependency set stays small and installs everywhere.
"""

from __future__ import annotations

import functools
import io
import math
import os
import re
import struct
import threading
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from PIL import Image, ImageCms, ImageDraw, ImageFilter, ImageFont, ImageStat

__all__ = [
    "BLUR_THRESHOLD",
    "MAX_JPEG_SCANS",
    "MAX_JPEG_SCAN_PIXELS",
    "THUMB_SIDE",
    "AnimatedImage",
    "ImageOptions",
    "ImageRejected",
    "NotAnImage",
    "ProcessedImage",
    "Thumbnail",
    "TooManyPixels",
    "TooSmall",
    "Upload",
    "dhash",
    "is_blurry",
    "process_image",
    "sharpness",
    "thumbnail",
    "thumbnail_of",
    "thumbnail_size",
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

THUMB_SIDE = 400
"""Long side of the public site's thumbnails, made here with the photo (see
:attr:`ProcessedImage.thumbnail`) so that the site's build only links files: two columns
on a phone, four on a desktop; a quarter of the default 1600, so an older photo's JPEG is
decoded at 1/4 scale straight to that size."""

THUMB_QUALITY = 75
"""WebP and JPEG quality of the thumbnails."""

BLUR_THRESHOLD = 100.0
"""Default :func:`is_blurry` threshold, in the units of :func:`sharpness`.

Calibrated on generated photo-like images at 1600 px: in focus they score 500-900, a
Gaussian blur of radius 1 px about 300, radius 2 px about 60, radius 4 px under 10. A
hint shown to moderators, not an automatic refusal: dim or plain photos also score low.
Revisit with real submissions.
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

# Conversions and reductions work on strips of about this many bytes of decoded pixels,
# so flattening alpha or expanding a palette never copies the full-size image.
_STRIP_BYTES = 2 << 20
# Reduce by the integer part of the scale before resampling (Pillow's ``reducing_gap``):
# the reduced copy stays under 4x the output's area whatever the upload's size.
# Measured against a full Lanczos resize of photo-like PNGs: 40-43 dB.
_REDUCING_GAP = 1.0
# A JPEG whose bottom hundredth of rows is the decoder's fill colour was cut short.
_TRUNCATION_SHARE = 100


class ImageRejected(Exception):
    """Base of every refusal; ``code`` is stable and meant for the bot's message lookup."""

    code: ClassVar[str] = "image_rejected"

    def __init__(self, message: str, *, width: int | None = None, height: int | None = None):
        super().__init__(message)
        self.width = width
        self.height = height


class NotAnImage(ImageRejected):
    """Corrupt, truncated, unsupported or hostile data: nothing we can show.

    Also files whose structure alone would cost too much to decode (thousands of scans
    or segments): no real photo looks like that.
    """

    code = "not_an_image"


class TooManyPixels(ImageRejected):
    """Too large to decode: over ``max_pixels``, or over ``max_decode_bytes`` for its format.

    ``max_pixels`` is the largest pixel count accepted for an image of this kind (format,
    mode, progressive or not), for a message naming the limit that applied.
    """

    code = "too_many_pixels"

    def __init__(
        self,
        message: str,
        *,
        width: int | None = None,
        height: int | None = None,
        max_pixels: int | None = None,
    ):
        super().__init__(message, width=width, height=height)
        self.max_pixels = max_pixels


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

    ``max_decode_bytes`` bounds the memory one decode may take, estimated from the header
    before decoding: the full-size pixels of lossless formats (4 bytes per pixel for RGB
    and RGBA in Pillow), 16 per pixel for WebP, 4.5 for HEIF, libjpeg's coefficient buffer
    for progressive JPEGs (3 bytes per pixel at 4:2:0), the reduced-scale pixels of other
    JPEGs. The default keeps any upload under ~200 MB of added memory: 50 MP for
    baseline JPEG, GIF and palette or grayscale PNG, ~50 MP progressive JPEG (4:2:0),
    40 MP RGB(A) PNG, 35 MP HEIC, 10 MP WebP.
    """

    max_pixels: int = 50_000_000
    long_side: int = 1600
    min_short_side: int = 480
    jpeg_quality: int = 85
    frame_path: str | os.PathLike[str] | None = None
    band_text: str | None = None
    branding: bool = True
    max_decode_bytes: int = 160_000_000

    def __post_init__(self) -> None:
        if self.max_pixels <= 0 or self.long_side <= 0 or self.min_short_side < 0:
            raise ValueError("max_pixels and long_side must be > 0, min_short_side >= 0")
        if not 1 <= self.jpeg_quality <= 95:
            raise ValueError("jpeg_quality must be between 1 and 95")
        if self.max_decode_bytes <= 0:
            raise ValueError("max_decode_bytes must be > 0")


@dataclass(frozen=True)
class Thumbnail:
    """A small copy of a processed photo for the public site: WebP, and JPEG for the
    browsers without WebP."""

    webp: bytes
    jpeg: bytes
    width: int
    height: int


@dataclass(frozen=True)
class ProcessedImage:
    """The publishable JPEG and the facts moderators and duplicate detection need.

    ``dhash`` and ``sharpness`` describe the photo before branding, so a changed frame
    does not hide a duplicate and frame edges do not look like focus.
    ``original_width``/``original_height`` are the upload's size as displayed (after EXIF
    rotation); ``format`` is Pillow's name for it (JPEG, MPO, PNG, WEBP, GIF, HEIF).
    ``draft_scale`` is the JPEG DCT reduction used while decoding (1 = full decode; 2, 4,
    8 = decoded at 1/2, 1/4, 1/8 size), kept for benchmarks and tests. ``thumbnail`` is
    the public site's small copy of the published photo (branding included), made from
    the pixels in memory rather than from the JPEG; None only where a caller built this
    object itself.
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
    thumbnail: Thumbnail | None = None


def process_image(data: Upload, options: ImageOptions) -> ProcessedImage:
    """Validate, normalise, shrink, brand and re-encode one uploaded photo.

    Raises a subclass of :class:`ImageRejected` for anything unusable; any other error
    raised while reading the upload is reported as :class:`NotAnImage`, so a hostile
    file can never surface as a traceback. Errors in the operator's own branding files
    (missing frame PNG) are not the apprentice's fault and propagate unchanged.
    """
    try:
        img, fmt, original_size, draft_scale = _decode(data, options)
    except ImageRejected as rejection:
        raise rejection from None  # a refusal, never a chain of Pillow's errors
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
        thumbnail=thumbnail_of(img, THUMB_SIDE),
    )


def thumbnail_size(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """The size :func:`thumbnail` gives a photo of ``size``, known without opening it (a
    page states it in ``width``/``height`` so the layout does not jump)."""
    return _fit(size, long_side)


def thumbnail(jpeg: bytes, long_side: int, quality: int = THUMB_QUALITY) -> Thumbnail:
    """Thumbnails of a JPEG this pipeline made (trusted: no hostile-input checks), decoded
    at a reduced DCT scale when the JPEG is much larger. For photos stored before the
    pipeline made them (:attr:`ProcessedImage.thumbnail`)."""
    with Image.open(io.BytesIO(jpeg)) as source:
        target = _fit(source.size, long_side)
        source.draft("RGB", target)
        return thumbnail_of(source.convert("RGB"), long_side, quality)


def thumbnail_of(img: Image.Image, long_side: int, quality: int = THUMB_QUALITY) -> Thumbnail:
    """Thumbnails of decoded pixels (RGB or L): Lanczos to ``long_side``, WebP and JPEG."""
    target = _fit(img.size, long_side)
    small = img if img.mode == "RGB" else img.convert("RGB")
    if small.size != target:
        small = small.resize(target, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
    webp = io.BytesIO()
    small.save(webp, "WEBP", quality=quality, method=2)
    return Thumbnail(webp.getvalue(), _encode(small, quality), *small.size)


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


def _decode(data: Upload, options: ImageOptions) -> tuple[Image.Image, str, tuple[int, int], int]:
    """Structure and header checks, reduced-scale decode, orientation, sRGB at the target size."""
    layout = _inspect(data)
    img = _open(data)
    fmt = img.format or "?"
    if fmt not in _ACCEPTED_FORMATS:
        raise NotAnImage(f"format {fmt} not accepted")
    width, height = img.size
    _check_size(img, fmt, options)

    icc = img.info.get("icc_profile")
    target = _fit(img.size, options.long_side)
    draft_scale = 1
    if fmt in ("JPEG", "MPO") and target != img.size:
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale, never below the target size:
        # a 48 MP photo yields 3 MP of pixels (the compressed data is still read in
        # full, which is what remains of the cost). The target is scaled by the long
        # side only, so the EXIF rotation applied afterwards does not change it.
        img.draft("RGB", target)
        draft_scale = max(1, round(width / img.width))
    _check_decode_cost(img, fmt, layout, (width, height), options)
    pixels = _load(img, fmt, data)
    _check_complete(pixels, layout, data)

    orientation = _orientation(img)
    # Resized before the EXIF rotation, which then moves fewer pixels (the long side
    # rule does not depend on the orientation). After a JPEG draft less than 2x is left
    # to do and bilinear matches a full-size Lanczos reduction (> 39 dB) at ~60 % of
    # bicubic's cost; a full decode keeps bicubic.
    resample = Image.Resampling.BILINEAR if draft_scale > 1 else Image.Resampling.BICUBIC
    img = _shrink(pixels, _fit(pixels.size, options.long_side), resample)
    del pixels  # the decoded full-size pixels go now, before the steps at output size
    transpose = _ORIENTATION_TRANSPOSE.get(orientation)
    if transpose is not None:
        img = img.transpose(transpose)
    # Orientations 5-8 swap the sides.
    original_size = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    img = _to_srgb(img, icc)
    return img, fmt, original_size, draft_scale


def _check_size(img: Image.Image, fmt: str, options: ImageOptions) -> None:
    """Refusals read from the header: pixel count, short side, ratio, animation."""
    width, height = img.size
    if width <= 0 or height <= 0:
        raise NotAnImage("empty image")
    if width * height > options.max_pixels:
        raise TooManyPixels(
            f"{width}x{height} declared", width=width, height=height, max_pixels=options.max_pixels
        )
    if min(width, height) < options.min_short_side:
        # The short side does not change with EXIF rotation, so check before decoding.
        raise TooSmall(f"{width}x{height}", width=width, height=height)
    if max(width, height) > MAX_RATIO * min(width, height):
        raise TooElongated(f"{width}x{height}", width=width, height=height)
    if fmt not in _STILL_MULTIFRAME_FORMATS and (
        getattr(img, "is_animated", False) or getattr(img, "n_frames", 1) > 1
    ):
        raise AnimatedImage(f"{fmt} with several frames", width=width, height=height)


# --- what decoding will cost, read before decoding ----------------------------------------


@dataclass(frozen=True)
class _JpegFrame:
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
            across = _ceil_div(_ceil_div(self.width * h, h_max), 8)
            down = _ceil_div(_ceil_div(self.height * v, v_max), 8)
            total += _ceil_div(across, h) * h * _ceil_div(down, v) * v * 128
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
class _PngHeader:
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
            columns = _ceil_div(self.width - x0, dx)
            rows = _ceil_div(self.height - y0, dy)
            if columns > 0 and rows > 0:
                total += rows * (1 + _ceil_div(columns * bits, 8))
        return total


_Layout = _JpegFrame | _PngHeader | None

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
# What libjpeg's zero coefficients decode to: mid-grey (127 once Adobe CMYK is inverted).
_JPEG_FILL = (127, 128)
# DCT frames libjpeg decodes: baseline, extended and progressive, Huffman (SOF0-2) or
# arithmetic (SOF9-10) coded.
_JPEG_DCT_FRAMES = frozenset({0xC0, 0xC1, 0xC2, 0xC9, 0xCA})
_JPEG_PROGRESSIVE_FRAMES = frozenset({0xC2, 0xCA})
_JPEG_ARITHMETIC_FRAMES = frozenset({0xC9, 0xCA})
# Lossless and hierarchical frames: no phone writes them, and libjpeg cannot decode them
# at reduced scale, so they would cost full-size memory.
_JPEG_OTHER_FRAMES = frozenset({0xC3, 0xC5, 0xC6, 0xC7, 0xCB, 0xCD, 0xCE, 0xCF})


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _inspect(data: Upload) -> _Layout:
    """Walk the structure of a JPEG or PNG before Pillow parses it; refuse costly ones."""
    if data.startswith(_JPEG_SIGNATURE):
        return _jpeg_frame(data)
    if data.startswith(_PNG_SIGNATURE):
        return _png_header(data)
    return None


def _jpeg_frame(data: Upload) -> _JpegFrame:
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
    return _JpegFrame(
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


def _png_header(data: Upload) -> _PngHeader | None:
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
    return _PngHeader(width, height, bit_depth, colour_type, interlace == 1, tuple(idat))


def _bytes_per_pixel(mode: str) -> int:
    """How many bytes Pillow stores per pixel of ``mode``."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


def _decode_bytes(img: Image.Image, fmt: str, layout: _Layout) -> int:
    """Peak memory decoding ``img`` will take (after any draft), from its header alone."""
    pixels = img.width * img.height
    if fmt == "WEBP":
        return pixels * _WEBP_BYTES_PER_PIXEL
    if fmt == "HEIF":
        return math.ceil(pixels * (_HEIF_PLANES_BYTES_PER_PIXEL + len(img.getbands())))
    decoded = pixels * _bytes_per_pixel(img.mode)
    if isinstance(layout, _JpegFrame) and layout.multi_scan:
        decoded += layout.coefficient_bytes()
    return decoded


def _check_decode_cost(
    img: Image.Image, fmt: str, layout: _Layout, size: tuple[int, int], options: ImageOptions
) -> None:
    """Refuse, before decoding, an image whose decode would need over ``max_decode_bytes``."""
    cost = _decode_bytes(img, fmt, layout)
    if cost <= options.max_decode_bytes:
        return
    width, height = size
    fitting = width * height * options.max_decode_bytes // cost
    raise TooManyPixels(
        f"{width}x{height} {fmt} {img.mode}: decoding needs ~{cost // 1_000_000} MB",
        width=width,
        height=height,
        max_pixels=min(options.max_pixels, fitting),
    )


# --- decoding ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pixels:
    """Decoded pixels at their decoded size, read as strips of rows.

    ``image`` is the Pillow image when there is one (it can then be resized in place);
    HEIF pixels stay in pillow_heif's buffer and only strips become Pillow images.
    """

    size: tuple[int, int]
    mode: str
    rows: Callable[[int, int], Image.Image]
    image: Image.Image | None = None


def _load(img: Image.Image, fmt: str, data: Upload) -> _Pixels:
    """Decode the pixels (the one full-size allocation of the pipeline)."""
    if fmt == "HEIF":
        return _load_heif(data, img.size)
    img.load()
    width = img.width
    return _Pixels(img.size, img.mode, lambda top, bottom: img.crop((0, top, width, bottom)), img)


def _load_heif(data: Upload, declared: tuple[int, int]) -> _Pixels:
    """Decode HEIF with pillow_heif and read its rows where they lie.

    Pillow's HEIF plugin would copy libheif's RGB (3 bytes per pixel) into a Pillow image
    (4 bytes per pixel); strips read from the buffer itself avoid that second full copy.
    libheif refuses an image whose coded size exceeds what its header declares.
    """
    from pillow_heif import open_heif

    heif = open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
    decoded = heif[heif.primary_index]
    buffer = memoryview(decoded.data)
    if tuple(decoded.size) != declared:
        raise NotAnImage(f"HEIF decoded at {decoded.size}, declared {declared}")
    mode, stride, width = decoded.mode, decoded.stride, declared[0]

    def rows(top: int, bottom: int) -> Image.Image:
        strip = bytes(buffer[top * stride : bottom * stride])
        return Image.frombytes(mode, (width, bottom - top), strip, "raw", mode, stride, 1)

    return _Pixels(declared, mode, rows)


def _check_complete(pixels: _Pixels, layout: _Layout, data: Upload) -> None:
    """Refuse pixels the decoder made up because the data ran out.

    Pillow reports most short files; two come through silently. libjpeg meeting an end
    marker inside a scan fills the rest with zero coefficients, which decode as flat
    mid-grey; zlib meeting the end of a PNG's stream leaves the missing rows as zero
    bytes. A JPEG is refused when its bottom hundredth of rows is exactly that grey
    across the full width while something else lies above (camera noise is never that
    flat; a white wall or a dark floor is another colour), or, all grey, when its scan
    is too short to hold the pixels. Zero bytes are common in screenshots (a black bar),
    so for a PNG they only trigger a count of what the stream really holds; an
    interlaced PNG, whose missing rows are spread out, is always counted.
    """
    height = pixels.size[1]
    if pixels.image is None or height == 0:
        return
    if isinstance(layout, _JpegFrame):
        rows = min(height, max(2, height // _TRUNCATION_SHARE))
        if _is_flat(pixels.rows(height - rows, height), _JPEG_FILL) and (
            not _is_flat(pixels.image, _JPEG_FILL) or layout.first_scan_too_short(data)
        ):
            raise NotAnImage(f"JPEG data ends early: bottom {rows} rows are filler grey")
    elif isinstance(layout, _PngHeader):
        suspect = layout.interlaced or _is_flat(pixels.rows(height - 1, height), (0,))
        if suspect and not _png_stream_complete(data, layout):
            raise NotAnImage("PNG data ends before the last row")


def _is_flat(strip: Image.Image, values: tuple[int, ...]) -> bool:
    """Whether every band of ``strip`` holds one single value, one of ``values``."""
    extrema = strip.getextrema()
    bands = (extrema,) if len(strip.getbands()) == 1 else extrema
    return all(low == high and low in values for low, high in bands)  # type: ignore[misc]


def _png_stream_complete(data: Upload, header: _PngHeader) -> bool:
    """Whether the IDAT data inflates to every row the header announces.

    Inflated a megabyte at a time and thrown away: the cost is one more inflate of the
    image data, paid only for PNGs whose last row is all zeros or that are interlaced.
    """
    needed = header.raw_size()
    if needed is None:
        return True
    view = memoryview(data)
    inflater = zlib.decompressobj()
    produced = 0
    for start, end in header.idat:
        pending: bytes | memoryview = view[start:end]
        while pending:
            produced += len(inflater.decompress(pending, 1 << 20))
            if produced >= needed:
                return True
            pending = inflater.unconsumed_tail
        if inflater.eof:
            break
    return produced >= needed


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
_XMP_ORIENTATION = re.compile(rb'tiff:Orientation(?:="|>)([0-9])')
_EXIF_ORIENTATION_TAG = 0x0112


def _orientation(img: Image.Image) -> int:
    """The EXIF Orientation tag (else XMP's, as Pillow's ``getexif``); 1 when absent.

    Read with a walk of the first IFD's entries rather than ``getexif``, which reads every
    entry's value and warns about each bad one: an EXIF block of 60,000 entries sharing
    one large value (PNG eXIf, WebP: any size) cost a second and 60,000 log lines.
    pillow_heif has already set HEIF's EXIF orientation to 1: libheif applies the
    rotation itself.
    """
    info = img.info
    exif = info.get("exif")
    raw_profile = info.get("Raw profile type exif")  # ImageMagick's PNG text chunk
    if not exif and isinstance(raw_profile, str):
        try:
            exif = bytes.fromhex("".join(raw_profile.split("\n")[3:]))
        except ValueError:
            exif = None
    if isinstance(exif, bytes | bytearray):
        value = _exif_orientation(bytes(exif))
        if value is not None:
            return value
    xmp = info.get("xmp") or info.get("XML:com.adobe.xmp")
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8", "replace")
    if isinstance(xmp, bytes) and (match := _XMP_ORIENTATION.search(xmp)):
        return int(match[1])
    return 1


def _exif_orientation(exif: bytes) -> int | None:
    """Orientation from a TIFF-structured EXIF block; None when absent or unreadable."""
    tiff = exif[6:] if exif.startswith(b"Exif\0\0") else exif
    order = {b"II*\0": "<", b"MM\0*": ">"}.get(tiff[:4])
    if order is None or len(tiff) < 8:
        return None
    (ifd,) = struct.unpack_from(order + "I", tiff, 4)
    if ifd + 2 > len(tiff):
        return None
    (count,) = struct.unpack_from(order + "H", tiff, ifd)
    count = min(count, (len(tiff) - ifd - 2) // 12)
    table = memoryview(tiff)[ifd + 2 : ifd + 2 + 12 * count]
    for tag, kind, number, value in struct.iter_unpack(order + "HHI4s", table):
        if tag != _EXIF_ORIENTATION_TAG:
            continue
        if number < 1 or kind not in (3, 4):  # SHORT, or LONG from lax writers
            return None
        return int(struct.unpack_from(order + ("H" if kind == 3 else "I"), value)[0])
    return None


@functools.cache
def _open_formats() -> tuple[str, ...]:
    """Formats for ``Image.open``, HEIF included (iPhones' "send as file").

    pillow_heif registers at the first upload, in the worker: importing this module (the
    bot's start) stays cheap.
    """
    from pillow_heif import register_heif_opener

    register_heif_opener()
    return (*_OPEN_FORMATS, "HEIF")


# ``warnings.catch_warnings`` swaps process-wide state; the lock keeps two threads
# (tests and benchmarks call us from threads) from restoring each other's filters.
# Only the header parse runs under it, which takes microseconds to milliseconds.
_open_lock = threading.Lock()


def _open(data: Upload) -> Image.Image:
    """``Image.open`` (header only) with Pillow's own bomb checks turned into refusals.

    Pillow's other warnings are silenced: a JPEG's EXIF is parsed while opening, and one
    with thousands of broken entries would write thousands of lines to the bot's log.
    """
    formats = _open_formats()
    try:
        with _open_lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
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


# --- from decoded pixels to the working image at the target size ------------------------

# Modes the rest of the pipeline takes as they are (ICC profiles describe RGB, L, CMYK).
_WORKING_MODES = frozenset({"RGB", "L", "CMYK"})


def _shrink(pixels: _Pixels, target: tuple[int, int], resample: Image.Resampling) -> Image.Image:
    """The pixels in a working mode at ``target`` size, with no full-size copy on the way.

    An image already in a working mode is resized directly: Pillow's reduce-then-resample
    only allocates the reduced copy. Any other mode (alpha, palette, 16-bit, a HEIF
    buffer) is converted strip by strip while it is reduced, and only then resampled.
    Both give what ``convert`` then ``resize(..., reducing_gap=_REDUCING_GAP)`` of the
    whole image would.
    """
    image = pixels.image
    if image is not None and image.mode in _WORKING_MODES:
        if target == image.size:
            return image
        return image.resize(target, resample, reducing_gap=_REDUCING_GAP)
    width, height = pixels.size
    factor = (
        max(1, int(width / target[0] / _REDUCING_GAP)),
        max(1, int(height / target[1] / _REDUCING_GAP)),
    )
    extrema = _float_extrema(image) if image is not None and image.mode == "F" else None
    convert = functools.partial(_to_working_mode, extrema=extrema)
    reduced = _reduce_in_strips(pixels, factor, convert)
    if reduced.size == target:
        return reduced
    box = (0.0, 0.0, width / factor[0], height / factor[1])
    return reduced.resize(target, resample, box=box)


def _reduce_in_strips(
    pixels: _Pixels,
    factor: tuple[int, int],
    convert: Callable[[Image.Image], Image.Image],
) -> Image.Image:
    """``convert`` then box-reduce by ``factor``, a strip of rows at a time.

    Strips start on multiples of the vertical factor, so the result equals reducing the
    whole converted image at once.
    """
    width, height = pixels.size
    step_x, step_y = factor
    rows = max(1, _STRIP_BYTES // (4 * width) // step_y) * step_y
    reduced: Image.Image | None = None
    for top in range(0, height, rows):
        strip = convert(pixels.rows(top, min(height, top + rows)))
        if factor != (1, 1):
            strip = strip.reduce(factor)
        if reduced is None:
            size = (_ceil_div(width, step_x), _ceil_div(height, step_y))
            reduced = Image.new(strip.mode, size)
        reduced.paste(strip, (0, top // step_y))
    assert reduced is not None  # height > 0: checked from the header
    return reduced


def _to_working_mode(img: Image.Image, extrema: tuple[float, float] | None = None) -> Image.Image:
    """Bring any mode Pillow decoded to RGB, L or CMYK (the modes ICC profiles describe).

    Transparency is flattened onto white (a selfie with a see-through background would
    otherwise turn black); 16/32-bit grayscale is scaled, not clipped, to 8 bits; floating
    point is stretched over ``extrema`` (the whole image's, as this may see a strip).
    """
    mode = img.mode
    if mode in _WORKING_MODES:
        return img
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        if mode != "I;16":
            img = img.convert("I")
        return img.point(lambda v: v / 256).convert("L")
    if mode == "F":
        low, high = extrema if extrema is not None else _float_extrema(img)
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


def _float_extrema(img: Image.Image) -> tuple[float, float]:
    extrema = img.getextrema()
    assert isinstance(extrema[0], float | int) and isinstance(extrema[1], float | int)
    return float(extrema[0]), float(extrema[1])


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
    hashes with :func:`models.dhash.hamming`: up to ~8 differing bits is very likely the
    same photo.
    """
    small = img.convert("L").resize((9, 8), Image.Resampling.LANCZOS, reducing_gap=2.0)
    pixels = small.tobytes()
    value = 0
    for row in range(8):
        offset = row * 9
        for col in range(8):
            value = (value << 1) | (pixels[offset + col] > pixels[offset + col + 1])
    return value


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
