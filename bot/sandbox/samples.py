"""Sample photos for the sandbox, drawn here with Pillow (no third-party images).

Each sample is a simple illustration of an apprentice at work, with some film grain so it
looks and compresses like a photo (and passes the bot's sharpness check). Some carry what a
phone writes into a JPEG, so the bot's privacy and orientation handling can be seen: an
EXIF orientation (the pixels are stored sideways, the bot turns them upright) and a GPS
position (the bot removes it). One is too small and one is blurred, to see the bot's checks.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from PIL import ExifTags, Image, ImageChops, ImageDraw, ImageFilter, ImageFont

RGB = tuple[int, int, int]

# Stored pixels = upright picture turned by the inverse of what EXIF tells viewers to do.
_STORE_ROTATED = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


@dataclass(frozen=True)
class Sample:
    name: str  # file name without extension
    fr: str
    en: str
    tool: str
    sky: RGB
    wall: RGB
    outfit: RGB
    size: tuple[int, int] = (1200, 1600)  # upright width x height
    orientation: int | None = None
    gps: bool = False
    blur: float = 0.0
    tags: tuple[str, ...] = field(default=())

    @property
    def filename(self) -> str:
        return f"{self.name}.jpg"


SAMPLES: tuple[Sample, ...] = (
    Sample(
        "boulangere",
        "Boulangère au fournil",
        "Baker at the oven",
        "bread",
        (250, 214, 165),
        (196, 120, 70),
        (245, 245, 240),
        gps=True,
        tags=("GPS",),
    ),
    Sample(
        "mecanicien",
        "Mécanicien à l'atelier",
        "Mechanic in the workshop",
        "wrench",
        (160, 180, 200),
        (90, 100, 115),
        (40, 70, 150),
        orientation=6,
        gps=True,
        tags=("EXIF orientation 6", "GPS"),
    ),
    Sample(
        "coiffeuse",
        "Coiffeuse au salon",
        "Hairdresser at the salon",
        "scissors",
        (240, 200, 220),
        (200, 130, 170),
        (30, 30, 35),
        tags=(),
    ),
    Sample(
        "electricienne",
        "Électricienne sur chantier",
        "Electrician on site",
        "bulb",
        (150, 200, 235),
        (230, 190, 60),
        (240, 130, 30),
        size=(1600, 1200),
        orientation=8,
        tags=("EXIF orientation 8",),
    ),
    Sample(
        "floue",
        "Photo floue",
        "Blurred photo",
        "wrench",
        (200, 220, 180),
        (120, 150, 90),
        (60, 110, 60),
        blur=9.0,
        tags=("floue / blurred",),
    ),
    Sample(
        "trop-petite",
        "Trop petite (320x240)",
        "Too small (320x240)",
        "bread",
        (250, 230, 190),
        (170, 110, 60),
        (250, 250, 250),
        size=(320, 240),
        tags=("320x240",),
    ),
)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def draw_sample(sample: Sample) -> Image.Image:
    """The upright picture of a sample."""
    width, height = sample.size
    u = min(width, height) / 100  # drawing unit
    img = Image.new("RGB", (width, height), sample.sky)
    draw = ImageDraw.Draw(img)
    # Wall with shelves, floor.
    floor = int(height * 0.78)
    draw.rectangle((0, int(height * 0.18), width, floor), fill=sample.wall)
    for row in range(3):
        top = int(height * 0.25) + row * int(14 * u)
        draw.rectangle((int(4 * u), top, int(30 * u), top + int(2 * u)), fill=_shade(sample.wall))
        for i in range(4):
            left = int((6 + i * 6) * u)
            draw.rectangle(
                (left, top - int(5 * u), left + int(4 * u), top),
                fill=_shade(sample.outfit, 40 * i - 60),
            )
    draw.rectangle((0, floor, width, height), fill=_shade(sample.wall, -70))
    # The apprentice: body, neck, head, hair, face.
    cx = width // 2
    head_r = int(15 * u)
    head_cy = int(height * 0.40)
    body_top = head_cy + head_r + int(4 * u)
    draw.rounded_rectangle(
        (cx - int(30 * u), body_top, cx + int(30 * u), height + int(10 * u)),
        radius=int(14 * u),
        fill=sample.outfit,
    )
    draw.rectangle(
        (cx - int(5 * u), head_cy + head_r - int(2 * u), cx + int(5 * u), body_top + int(2 * u)),
        fill=(224, 172, 130),
    )
    draw.ellipse(
        (
            cx - head_r - int(2 * u),
            head_cy - head_r - int(4 * u),
            cx + head_r + int(2 * u),
            head_cy + int(4 * u),
        ),
        fill=(70, 45, 30),
    )
    draw.ellipse(
        (cx - head_r, head_cy - head_r, cx + head_r, head_cy + head_r), fill=(232, 182, 140)
    )
    eye = int(2 * u)
    for dx in (-6, 6):
        ex = cx + int(dx * u)
        draw.ellipse(
            (ex - eye, head_cy - int(3 * u) - eye, ex + eye, head_cy - int(3 * u) + eye),
            fill=(40, 30, 30),
        )
    draw.arc(
        (cx - int(7 * u), head_cy - int(2 * u), cx + int(7 * u), head_cy + int(8 * u)),
        20,
        160,
        fill=(150, 50, 50),
        width=max(2, int(1.2 * u)),
    )
    # Raised arm holding the tool of the trade.
    hand = (cx + int(36 * u), int(height * 0.42))
    draw.line(
        (cx + int(22 * u), body_top + int(10 * u), *hand),
        fill=sample.outfit,
        width=int(10 * u),
    )
    draw.ellipse(
        (hand[0] - int(5 * u), hand[1] - int(5 * u), hand[0] + int(5 * u), hand[1] + int(5 * u)),
        fill=(232, 182, 140),
    )
    _draw_tool(draw, sample.tool, hand, u)
    # A small title, as a caption drawn in the picture.
    label = f"{sample.en} - sandbox"
    draw.text((int(3 * u), int(3 * u)), label, fill=(30, 30, 30), font=_font(max(10, int(4 * u))))
    # Film grain: photos are never flat, and the sharpness check expects texture.
    grain = Image.effect_noise((width, height), 14).convert("RGB")
    img = ImageChops.add(img, grain, offset=-128)
    if sample.blur:
        img = img.filter(ImageFilter.GaussianBlur(sample.blur))
    return img


def _shade(colour: RGB, delta: int = -40) -> RGB:
    r, g, b = (max(0, min(255, c + delta)) for c in colour)
    return (r, g, b)


def _draw_tool(draw: ImageDraw.ImageDraw, tool: str, hand: tuple[int, int], u: float) -> None:
    x, y = hand
    if tool == "bread":  # a baguette
        draw.rounded_rectangle(
            (x - int(4 * u), y - int(30 * u), x + int(4 * u), y + int(6 * u)),
            radius=int(4 * u),
            fill=(214, 160, 80),
            outline=(150, 100, 40),
            width=int(u),
        )
        for k in range(4):
            yy = y - int((24 - k * 7) * u)
            draw.line(
                (x - int(3 * u), yy, x + int(3 * u), yy - int(3 * u)),
                fill=(150, 100, 40),
                width=max(1, int(u)),
            )
    elif tool == "wrench":
        draw.line((x, y, x, y - int(26 * u)), fill=(170, 170, 180), width=int(4 * u))
        draw.ellipse(
            (x - int(6 * u), y - int(34 * u), x + int(6 * u), y - int(22 * u)), fill=(170, 170, 180)
        )
        draw.rectangle(
            (x - int(2 * u), y - int(36 * u), x + int(2 * u), y - int(28 * u)), fill=(90, 100, 115)
        )
    elif tool == "scissors":
        for dx in (-4, 4):
            draw.ellipse(
                (x + int((dx - 3) * u), y - int(3 * u), x + int((dx + 3) * u), y + int(3 * u)),
                outline=(200, 40, 60),
                width=int(1.5 * u),
            )
        draw.line(
            (x - int(2 * u), y - int(2 * u), x + int(4 * u), y - int(26 * u)),
            fill=(190, 190, 200),
            width=int(2 * u),
        )
        draw.line(
            (x + int(2 * u), y - int(2 * u), x - int(4 * u), y - int(26 * u)),
            fill=(190, 190, 200),
            width=int(2 * u),
        )
    else:  # a light bulb
        draw.ellipse(
            (x - int(8 * u), y - int(26 * u), x + int(8 * u), y - int(10 * u)),
            fill=(255, 240, 120),
            outline=(200, 170, 40),
            width=int(u),
        )
        draw.rectangle(
            (x - int(4 * u), y - int(11 * u), x + int(4 * u), y - int(4 * u)), fill=(150, 150, 150)
        )


def exif_bytes(
    *,
    orientation: int | None = None,
    gps: bool = False,
    make: str = "Sandbox",
    model: str = "Selfie 1",
) -> bytes:
    """What a phone writes: make and model, optional orientation and GPS position (Dijon)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = make
    exif[ExifTags.Base.Model] = model
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        ifd[ExifTags.GPS.GPSLatitudeRef] = "N"
        ifd[ExifTags.GPS.GPSLatitude] = (47.0, 19.0, 20.5)
        ifd[ExifTags.GPS.GPSLongitudeRef] = "E"
        ifd[ExifTags.GPS.GPSLongitude] = (5.0, 2.0, 29.0)
    return exif.tobytes()


def sample_jpeg(sample: Sample) -> bytes:
    """The JPEG file of a sample, stored as a phone would (sideways + EXIF orientation)."""
    img = draw_sample(sample)
    if sample.orientation in _STORE_ROTATED:
        img = img.transpose(_STORE_ROTATED[sample.orientation])
    out = io.BytesIO()
    exif = exif_bytes(orientation=sample.orientation, gps=sample.gps)
    img.save(out, "JPEG", quality=88, exif=exif)
    return out.getvalue()


def write_samples(folder: Path) -> list[Sample]:
    """Write every sample into ``folder`` (kept when already there) and return them."""
    folder.mkdir(parents=True, exist_ok=True)
    for sample in SAMPLES:
        path = folder / sample.filename
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(sample_jpeg(sample))
            tmp.replace(path)
    return list(SAMPLES)
