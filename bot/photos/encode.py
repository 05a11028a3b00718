"""Encoding: the pipeline's outputs, rebuilt from pixels only.

This is where the privacy promise is kept: the published JPEG is encoded from a plain image
with an empty ``info``, so nothing of the upload (EXIF with its GPS position, XMP, ICC,
comments, PNG text) can reach the public channel. The public site's thumbnails (WebP, and
JPEG for browsers without WebP) are made here as well, from the pixels in memory for a new
photo or from the stored JPEG of an older one, so that the site's build only links files.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from bot.photos.resize import REDUCING_GAP, fit

THUMB_SIDE = 400
"""Long side of the public site's thumbnails, made with the photo (see
:attr:`~bot.photos.pipeline.ProcessedImage.thumbnail`) so that the site's build only links
files: two columns on a phone, four on a desktop; a quarter of the default 1600, so an
older photo's JPEG is decoded at 1/4 scale straight to that size."""

THUMB_QUALITY = 75
"""WebP and JPEG quality of the thumbnails."""

SCREEN_SIDE = 1000
"""Long side of the WebP a profile page shows (750 px wide for a 3:4 photo: a phone's
screen at its pixel density, a desktop's column); browsers without WebP take the JPEG."""

SCREEN_QUALITY = 80


@dataclass(frozen=True)
class Thumbnail:
    """The public site's copies of a processed photo: the thumbnail in WebP, and JPEG for
    the browsers without WebP (``width`` by ``height``), and the WebP of the profile page
    (:data:`SCREEN_SIDE`)."""

    webp: bytes
    jpeg: bytes
    width: int
    height: int
    screen: bytes


def thumbnail_size(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """The size :func:`thumbnail` gives a photo of ``size``, known without opening it (a
    page states it in ``width``/``height`` so the layout does not jump)."""
    return fit(size, long_side)


def thumbnail(jpeg: bytes, long_side: int, quality: int = THUMB_QUALITY) -> Thumbnail:
    """Thumbnails of a JPEG this pipeline made (trusted: no hostile-input checks), decoded
    at a reduced DCT scale when the JPEG is much larger. For photos stored before the
    pipeline made them (:attr:`~bot.photos.pipeline.ProcessedImage.thumbnail`)."""
    with Image.open(io.BytesIO(jpeg)) as source:
        source.draft("RGB", fit(source.size, max(long_side, SCREEN_SIDE)))
        return thumbnail_of(source.convert("RGB"), long_side, quality)


def thumbnail_of(img: Image.Image, long_side: int, quality: int = THUMB_QUALITY) -> Thumbnail:
    """The site's copies of decoded pixels (RGB or L): Lanczos to :data:`SCREEN_SIDE` in
    WebP, and from that to ``long_side``, WebP and JPEG."""
    rgb = img if img.mode == "RGB" else img.convert("RGB")
    screen = _resized(rgb, fit(rgb.size, SCREEN_SIDE))
    # Sized from the photo's own size, as pages state it (:func:`thumbnail_size`).
    small = _resized(screen, fit(rgb.size, long_side))
    return Thumbnail(
        _webp(small, quality),
        encode_jpeg(small, quality),
        *small.size,
        screen=_webp(screen, SCREEN_QUALITY),
    )


def _resized(img: Image.Image, target: tuple[int, int]) -> Image.Image:
    if img.size == target:
        return img
    return img.resize(target, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)


def _webp(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, "WEBP", quality=quality, method=2)
    return out.getvalue()


def encode_jpeg(img: Image.Image, quality: int) -> bytes:
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
