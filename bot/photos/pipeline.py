"""Photo pipeline: turn an untrusted upload into a small, clean, branded JPEG.

Apprentices (often minors, often on cheap phones) send whatever their phone produced:
12-48 MP JPEGs with GPS in the EXIF, HEIC, screenshots, sometimes junk. This module only
chains the stages of :mod:`bot.photos` in the order that keeps the cost bounded and the
output clean (:mod:`~bot.photos.limits` read from the header, :mod:`~bot.photos.decode` at
reduced scale, :mod:`~bot.photos.resize`, :mod:`~bot.photos.colour`, then
:mod:`~bot.photos.fingerprints`, the coach's measures (:mod:`~bot.photos.sharpness`,
:mod:`~bot.photos.exposure`, :mod:`~bot.photos.faces`), :mod:`~bot.photos.branding` and
:mod:`~bot.photos.encode`), and turns any failure from Pillow into a refusal. Plain
synchronous functions on purpose: the bot runs them in worker processes
(:mod:`bot.photos.workers`), which also bound each job's wall time and memory. Pillow
throughout; OpenCV (with numpy) only for the face search.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

from PIL import Image

from bot.photos.branding import brand
from bot.photos.colour import to_srgb
from bot.photos.decode import (
    ACCEPTED_FORMATS,
    check_complete,
    draft,
    load_pixels,
    open_upload,
    orientation_of,
    upright,
)
from bot.photos.encode import THUMB_SIDE, Thumbnail, encode_jpeg, thumbnail_of
from bot.photos.exposure import exposure
from bot.photos.faces import Face, blur_faces, find_faces
from bot.photos.fingerprints import dhash
from bot.photos.limits import Upload, check_decode_cost, check_size, read_layout
from bot.photos.refusals import ImageRejected, NotAnImage
from bot.photos.resize import fit, shrink
from bot.photos.sharpness import sharpness


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
    faces_min_px: int | None = None
    """Faces are searched down to this width in the output; None: no face search."""

    def __post_init__(self) -> None:
        if self.max_pixels <= 0 or self.long_side <= 0 or self.min_short_side < 0:
            raise ValueError("max_pixels and long_side must be > 0, min_short_side >= 0")
        if not 1 <= self.jpeg_quality <= 95:
            raise ValueError("jpeg_quality must be between 1 and 95")
        if self.max_decode_bytes <= 0:
            raise ValueError("max_decode_bytes must be > 0")
        if self.faces_min_px is not None and self.faces_min_px < 1:
            raise ValueError("faces_min_px must be >= 1")


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
    object itself. ``brightness``, ``burnt`` and ``faces`` are the coach's measures
    (:mod:`~bot.photos.exposure`, :mod:`~bot.photos.faces`), on the photo before branding;
    ``faces`` in the output's pixels, the apprentice's first, empty when not searched.
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
    brightness: float = 0.5
    burnt: float = 0.0
    faces: tuple[Face, ...] = ()


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
    light = exposure(img)
    faces = find_faces(img, options.faces_min_px) if options.faces_min_px else ()
    if options.branding:
        img = brand(img, options.frame_path, options.band_text)
    return ProcessedImage(
        jpeg=encode_jpeg(img, options.jpeg_quality),
        width=img.width,
        height=img.height,
        dhash=photo_hash,
        sharpness=score,
        original_width=original_size[0],
        original_height=original_size[1],
        format=fmt,
        draft_scale=draft_scale,
        thumbnail=thumbnail_of(img, THUMB_SIDE),
        brightness=light.brightness,
        burnt=light.burnt,
        faces=faces,
    )


def hide_faces(jpeg: bytes, faces: tuple[Face, ...], quality: int) -> tuple[bytes, Thumbnail]:
    """A processed photo (trusted: made by :func:`process_image`) with ``faces`` hidden
    (:func:`~bot.photos.faces.blur_faces`), and its new thumbnails: what replaces the
    stored photo, so nothing unblurred is kept."""
    with Image.open(io.BytesIO(jpeg)) as source:
        img = blur_faces(source.convert("RGB"), faces)
    return encode_jpeg(img, quality), thumbnail_of(img, THUMB_SIDE)


def _decode(data: Upload, options: ImageOptions) -> tuple[Image.Image, str, tuple[int, int], int]:
    """Structure and header checks, reduced-scale decode, orientation, sRGB at the target size."""
    layout = read_layout(data)
    img = open_upload(data)
    fmt = img.format or "?"
    if fmt not in ACCEPTED_FORMATS:
        raise NotAnImage(f"format {fmt} not accepted")
    width, height = img.size
    check_size(img, fmt, max_pixels=options.max_pixels, min_short_side=options.min_short_side)

    icc = img.info.get("icc_profile")
    # The target is scaled by the long side only, so the EXIF rotation applied afterwards
    # does not change it.
    draft_scale = draft(img, fmt, fit(img.size, options.long_side))
    check_decode_cost(
        img,
        fmt,
        layout,
        (width, height),
        max_decode_bytes=options.max_decode_bytes,
        max_pixels=options.max_pixels,
    )
    pixels = load_pixels(img, fmt, data)
    check_complete(pixels, layout, data)

    orientation = orientation_of(img)
    # Resized before the EXIF rotation, which then moves fewer pixels (the long side
    # rule does not depend on the orientation). After a JPEG draft less than 2x is left
    # to do and bilinear matches a full-size Lanczos reduction (> 39 dB) at ~60 % of
    # bicubic's cost; a full decode keeps bicubic.
    resample = Image.Resampling.BILINEAR if draft_scale > 1 else Image.Resampling.BICUBIC
    img = shrink(pixels, fit(pixels.size, options.long_side), resample)
    del pixels  # the decoded full-size pixels go now, before the steps at output size
    img = upright(img, orientation)
    # Orientations 5-8 swap the sides.
    original_size = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    img = to_srgb(img, icc)
    return img, fmt, original_size, draft_scale
