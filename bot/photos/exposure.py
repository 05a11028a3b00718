"""Exposure: how bright a photo is, and how much of it is burnt out.

Measured on a small grayscale copy (the same :data:`~bot.photos.sharpness` size), so the
figures of a 12 MP photo and of a screenshot compare. Pillow only.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from bot.photos.resize import fit

_SIDE = 320

BURNT = 250
"""A pixel this light (of 255) has lost its detail: white wall, sky or flash."""


@dataclass(frozen=True)
class Exposure:
    brightness: float
    """Mean lightness, 0 (black) to 1 (white)."""
    burnt: float
    """Share of the photo at :data:`BURNT` or above, 0 to 1."""


def exposure(img: Image.Image) -> Exposure:
    gray = img.convert("L")
    gray = gray.resize(fit(gray.size, _SIDE), Image.Resampling.BOX)
    histogram = gray.histogram()
    pixels = sum(histogram) or 1
    mean = sum(level * count for level, count in enumerate(histogram)) / pixels
    return Exposure(brightness=mean / 255, burnt=sum(histogram[BURNT:]) / pixels)
