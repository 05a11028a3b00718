"""Image facts computed with Pillow: dimensions and the PhotoSize ladder Telegram produces.

Telegram re-encodes every photo as JPEG thumbnails of 90, 320 and 800 pixels on the long side
plus a largest size capped at 1280 (sizes not smaller than the original are skipped, the
original is kept when it is small). The emulator does the same so that file sizes, widths and
downloaded bytes are real.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import bad_request

LADDER = (90, 320, 800)
LARGEST = 1280
MAX_PHOTO_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    data: bytes


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of an image, reading only its header; None when not an image."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def check_photo(data: bytes) -> tuple[int, int]:
    """Telegram's upload rules for photos: <= 10 MB, width + height <= 10000, ratio <= 20."""
    if not data:
        raise bad_request("file must be non-empty")
    if len(data) > MAX_PHOTO_BYTES:
        raise bad_request("PHOTO_SAVE_FILE_INVALID: photo is larger than 10 MB")
    size = image_size(data)
    if size is None:
        raise bad_request("IMAGE_PROCESS_FAILED")
    width, height = size
    if (
        width < 1
        or height < 1
        or width + height > 10000
        or max(width, height) > 20 * min(width, height)
    ):
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    return width, height


def photo_renditions(data: bytes) -> list[Rendition]:
    """The JPEG renditions Telegram would store for this photo, smallest first (CPU-bound).

    Each size is resized from the next larger one, with a reducing gap: Telegram does
    this work on its servers, so the emulator keeps it cheap enough not to compete with
    the bot under test for the machine's cores (benchmarks/RESULTS.md).
    """
    with Image.open(io.BytesIO(data)) as opened:
        img = ImageOps.exif_transpose(opened).convert("RGB")
    width, height = img.size
    long_side = max(width, height)
    targets = [t for t in LADDER if t < long_side] + [min(long_side, LARGEST)]
    out: list[Rendition] = []
    for target in reversed(targets):
        scale = target / long_side
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if size != img.size:
            img = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
        buffer = io.BytesIO()
        img.save(buffer, "JPEG", quality=87)
        out.append(Rendition(size[0], size[1], buffer.getvalue()))
    return out[::-1]
