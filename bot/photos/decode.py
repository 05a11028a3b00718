"""Decoding: from the upload's bytes to its pixels, the right way up, with nothing made up.

Only a few formats are parsed (HEIF through pillow_heif, registered at the first upload so
the bot's start stays cheap), Pillow's own bomb checks become refusals and its warnings are
silenced, a large JPEG is decoded at a reduced DCT scale, HEIF rows are read from libheif's
buffer instead of being copied into a Pillow image, pixels the decoder invented because the
data ran out are refused rather than published as a grey or black photo, and the EXIF or
XMP orientation is read without parsing every EXIF entry of a hostile file.
"""

from __future__ import annotations

import functools
import io
import re
import struct
import threading
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from bot.photos.limits import JpegFrame, Layout, PngHeader, Upload
from bot.photos.refusals import NotAnImage, TooManyPixels

# Formats we are willing to parse. Restricting ``Image.open`` to these keeps Pillow's
# rarer (and less battle-tested) decoders away from untrusted bytes. MPO is how Pillow
# names a JPEG carrying extra images (depth maps, previews: common on Android phones);
# its first frame is the photo. GIF is parsed only so an animated one gets the right
# refusal; a still GIF is accepted like a PNG.
_OPEN_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "GIF", "HEIF"})
# A JPEG whose bottom hundredth of rows is the decoder's fill colour was cut short.
_TRUNCATION_SHARE = 100
# What libjpeg's zero coefficients decode to: mid-grey (127 once Adobe CMYK is inverted).
_JPEG_FILL = (127, 128)


def draft(img: Image.Image, fmt: str, target: tuple[int, int]) -> int:
    """Set up a JPEG's decode at a reduced DCT scale; the scale chosen (1 = full decode).

    libjpeg decodes at 1/2, 1/4 or 1/8 scale, never below ``target``: a 48 MP photo yields
    3 MP of pixels (the compressed data is still read in full, which is what remains of the
    cost). Other formats, and JPEGs already at ``target``, are decoded at full size.
    """
    if fmt not in ("JPEG", "MPO") or target == img.size:
        return 1
    width = img.width
    img.draft("RGB", target)
    return max(1, round(width / img.width))


@dataclass(frozen=True)
class Pixels:
    """Decoded pixels at their decoded size, read as strips of rows.

    ``image`` is the Pillow image when there is one (it can then be resized in place);
    HEIF pixels stay in pillow_heif's buffer and only strips become Pillow images.
    """

    size: tuple[int, int]
    mode: str
    rows: Callable[[int, int], Image.Image]
    image: Image.Image | None = None


def load_pixels(img: Image.Image, fmt: str, data: Upload) -> Pixels:
    """Decode the pixels (the one full-size allocation of the pipeline)."""
    if fmt == "HEIF":
        return _load_heif(data, img.size)
    img.load()
    width = img.width
    return Pixels(img.size, img.mode, lambda top, bottom: img.crop((0, top, width, bottom)), img)


def _load_heif(data: Upload, declared: tuple[int, int]) -> Pixels:
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

    return Pixels(declared, mode, rows)


def check_complete(pixels: Pixels, layout: Layout, data: Upload) -> None:
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
    if isinstance(layout, JpegFrame):
        rows = min(height, max(2, height // _TRUNCATION_SHARE))
        if _is_flat(pixels.rows(height - rows, height), _JPEG_FILL) and (
            not _is_flat(pixels.image, _JPEG_FILL) or layout.first_scan_too_short(data)
        ):
            raise NotAnImage(f"JPEG data ends early: bottom {rows} rows are filler grey")
    elif isinstance(layout, PngHeader):
        suspect = layout.interlaced or _is_flat(pixels.rows(height - 1, height), (0,))
        if suspect and not _png_stream_complete(data, layout):
            raise NotAnImage("PNG data ends before the last row")


def _is_flat(strip: Image.Image, values: tuple[int, ...]) -> bool:
    """Whether every band of ``strip`` holds one single value, one of ``values``."""
    extrema = strip.getextrema()
    bands = (extrema,) if len(strip.getbands()) == 1 else extrema
    return all(low == high and low in values for low, high in bands)  # type: ignore[misc]


def _png_stream_complete(data: Upload, header: PngHeader) -> bool:
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


def upright(img: Image.Image, orientation: int) -> Image.Image:
    """``img`` turned as the EXIF ``orientation`` says, so that it shows the right way up."""
    transpose = _ORIENTATION_TRANSPOSE.get(orientation)
    return img if transpose is None else img.transpose(transpose)


def orientation_of(img: Image.Image) -> int:
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


def open_upload(data: Upload) -> Image.Image:
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
