"""Branding: the campaign's frame and name band laid over the published photo.

Unlike the other stages it reads the operator's files (the frame PNG, the system fonts),
not the upload: its errors are not the apprentice's and are not refusals. The frame is
cached per file version and output size, so replacing it mid-campaign is picked up, and the
band and its text size themselves to the photo so that long campaign names are not cut.
"""

from __future__ import annotations

import functools
import os

from PIL import Image, ImageDraw, ImageFont


def brand(
    img: Image.Image, frame_path: str | os.PathLike[str] | None, band_text: str | None
) -> Image.Image:
    """Lay the frame PNG over the photo, then write ``band_text`` in a band at the bottom.

    The band goes on top of the frame so the text stays readable whatever the frame does.
    """
    if frame_path is not None:
        frame_file = os.fspath(frame_path)
        frame = _load_frame(frame_file, os.stat(frame_file).st_mtime_ns, img.size)
        img = img.copy()
        img.paste(frame, (0, 0), frame)
    if band_text:
        img = _draw_band(img, band_text)
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
