"""Fingerprints: a perceptual hash of each photo, to spot the same picture sent again.

Resubmissions are found by comparing the hashes stored with each entry
(:func:`models.dhash.hamming`); this module only makes them, from the photo before branding,
so that a changed frame does not hide a duplicate, and with a hash that survives
re-encoding and resizing.
"""

from __future__ import annotations

from PIL import Image


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
