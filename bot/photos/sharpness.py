"""Sharpness: a focus score for each photo, shown to moderators as a hint.

A blurred or shaken photo looks bad in the channel, but dim or plain photos score low too,
so the score only feeds a hint (:mod:`bot.campaign.coach`, thresholds in ``[coach]``) and
never refuses a photo. It is measured on the photo before branding, so that frame edges do
not look like focus, and at a fixed size, so that the scores of a 12 MP photo and of a
screenshot are comparable.
"""

from __future__ import annotations

from PIL import Image, ImageFilter, ImageStat

from bot.photos.resize import fit

# Sharpness is measured on a copy whose long side is this many pixels, so the score
# does not depend on the upload resolution.
_SHARPNESS_SIDE = 640

# Second differences across and down. Their weights sum to 0, so Pillow needs an explicit
# scale; /2 keeps almost every real edge inside the 8-bit output (offset 128 = no edge),
# and the variance is multiplied back by 4 below.
_ACROSS = ImageFilter.Kernel((3, 3), (0, 0, 0, 1, -2, 1, 0, 0, 0), scale=2, offset=128)
_DOWN = ImageFilter.Kernel((3, 3), (0, 1, 0, 0, -2, 0, 0, 1, 0), scale=2, offset=128)


def sharpness(img: Image.Image) -> float:
    """Twice the smaller of the variances of the second differences across and down, on a
    grayscale copy; low means blurred, shaken or featureless.

    Focus shows as strong pixel-to-pixel changes, which second differences pick out; blur
    flattens them. A shake flattens them along its direction only, so the weaker direction
    is the one that tells (the Laplacian, their sum, kept the sharp one and missed most
    shaken photos: ``benchmarks/coach.py``); twice it keeps the Laplacian's scale. The copy
    is reduced to a fixed size first so that scores of a 12 MP photo and of a screenshot
    are comparable. In focus, photo-like images at 1600 px score 500-900, a Gaussian blur
    of radius 2 px about 60, 4 px under 10.
    """
    gray = img.convert("L")
    target = fit(gray.size, _SHARPNESS_SIDE)
    if target != gray.size:
        gray = gray.resize(target, Image.Resampling.BOX, reducing_gap=2.0)
    return 2.0 * min(_variance(gray.filter(_ACROSS)), _variance(gray.filter(_DOWN)))


def _variance(edges: Image.Image) -> float:
    # Ignore the 1-pixel border, where the filter sees the image edge.
    if edges.width > 2 and edges.height > 2:
        edges = edges.crop((1, 1, edges.width - 1, edges.height - 1))
    return float(ImageStat.Stat(edges).var[0] * 4.0)
