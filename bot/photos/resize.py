"""Resizing: from decoded pixels to the working image at the output size, with no full-size
copy on the way.

An image already in a working mode (RGB, L, CMYK) goes through Pillow's reduce-then-resample,
which only allocates the reduced copy; any other mode (alpha, palette, 16-bit, floating
point, a HEIF buffer) is converted strip by strip while it is reduced, then resampled, so
flattening the alpha of a 48 MP PNG never doubles its memory. :func:`fit` is the one sizing
rule, shared by the published photo, the thumbnails and the sharpness copy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from PIL import Image

from bot.photos.decode import Pixels
from bot.photos.limits import ceil_div

# Conversions and reductions work on strips of about this many bytes of decoded pixels,
# so flattening alpha or expanding a palette never copies the full-size image.
_STRIP_BYTES = 2 << 20
# Reduce by the integer part of the scale before resampling (Pillow's ``reducing_gap``):
# the reduced copy stays under 4x the output's area whatever the upload's size.
# Measured against a full Lanczos resize of photo-like PNGs: 40-43 dB.
REDUCING_GAP = 1.0


def fit(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """Size with the long side at most ``long_side``, same aspect ratio, never larger."""
    width, height = size
    longest = max(width, height)
    if longest <= long_side:
        return size
    ratio = long_side / longest
    return max(1, round(width * ratio)), max(1, round(height * ratio))


# Modes the rest of the pipeline takes as they are (ICC profiles describe RGB, L, CMYK).
_WORKING_MODES = frozenset({"RGB", "L", "CMYK"})


def shrink(pixels: Pixels, target: tuple[int, int], resample: Image.Resampling) -> Image.Image:
    """The pixels in a working mode at ``target`` size, with no full-size copy on the way.

    An image already in a working mode is resized directly: Pillow's reduce-then-resample
    only allocates the reduced copy. Any other mode (alpha, palette, 16-bit, a HEIF
    buffer) is converted strip by strip while it is reduced, and only then resampled.
    Both give what ``convert`` then ``resize(..., reducing_gap=REDUCING_GAP)`` of the
    whole image would.
    """
    image = pixels.image
    if image is not None and image.mode in _WORKING_MODES:
        if target == image.size:
            return image
        return image.resize(target, resample, reducing_gap=REDUCING_GAP)
    width, height = pixels.size
    factor = (
        max(1, int(width / target[0] / REDUCING_GAP)),
        max(1, int(height / target[1] / REDUCING_GAP)),
    )
    extrema = _float_extrema(image) if image is not None and image.mode == "F" else None
    convert = functools.partial(_to_working_mode, extrema=extrema)
    reduced = _reduce_in_strips(pixels, factor, convert)
    if reduced.size == target:
        return reduced
    box = (0.0, 0.0, width / factor[0], height / factor[1])
    return reduced.resize(target, resample, box=box)


def _reduce_in_strips(
    pixels: Pixels,
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
            size = (ceil_div(width, step_x), ceil_div(height, step_y))
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
