"""Exposure: how bright a photo is, and how much of it is burnt out.

Measured on every pixel of the processed photo (a reduced copy averages a burnt wall of
fine texture into grey: ``benchmarks/coach.py``); shares, so photos of any size compare.
Pillow only: one grayscale histogram.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

BURNT = 250
"""A pixel this light (of 255) has lost its detail: white wall, sky or flash."""


@dataclass(frozen=True)
class Exposure:
    brightness: float
    """Mean lightness, 0 (black) to 1 (white)."""
    burnt: float
    """Share of the photo at :data:`BURNT` or above, 0 to 1."""


def exposure(img: Image.Image) -> Exposure:
    histogram = img.convert("L").histogram()
    pixels = sum(histogram) or 1
    mean = sum(level * count for level, count in enumerate(histogram)) / pixels
    return Exposure(brightness=mean / 255, burnt=sum(histogram[BURNT:]) / pixels)
