"""Sample photos for the sandbox, drawn here with Pillow around a real face.

Each sample is a simple illustration of an apprentice at work, with some film grain so it
looks and compresses like a photo (and passes the bot's sharpness check). The apprentice's
face is a real one, so that the photo coach's face search (:mod:`bot.photos.faces`) finds
it: the official US Navy portrait of Grace Hopper, a work of the US federal government and
so in the public domain, which matplotlib ships in its sample data
(``matplotlib.cbook.get_sample_data("grace_hopper.jpg")``). Its head is cut out through a
soft ellipse, scaled to the drawn head and laid on it in its own colours; it is read only
when samples are drawn. The grain is seeded by the sample's name: a sample is the same
picture, with the same measures, each time it is drawn.

Some carry what a phone writes into a JPEG, so the bot's privacy and orientation handling
can be seen: an EXIF orientation (the pixels are stored sideways, the bot turns them
upright) and a GPS position (the bot removes it). Others show the bot's checks and the
coach's hints: one is too small, one blurred, one too dark, and one has two colleagues in
the background (the bot offers to blur their faces).
"""

from __future__ import annotations

import functools
import io
import random
from dataclasses import dataclass, field
from pathlib import Path

from PIL import ExifTags, Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

RGB = tuple[int, int, int]

DRAWING = "selfie-bot sandbox sample 2"
"""Written in each sample's EXIF (``Software``): the samples an older drawing left in a
folder (those with drawn faces had none) are drawn again rather than kept."""

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
    light: float = 1.0  # < 1: a dim room (the drawing's levels multiplied by it)
    colleagues: int = 0  # people in the background behind a counter, 0 to 2
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
        "soudeur",
        "Soudeur en atelier sombre",
        "Welder in a dark workshop",
        "torch",
        (70, 75, 85),
        (95, 90, 85),
        (120, 85, 55),
        light=0.3,
        tags=("sombre / dark",),
    ),
    Sample(
        "serveuse",
        "Serveuse au comptoir, deux collègues",
        "Waitress at the counter, two colleagues",
        "tray",
        (235, 225, 205),
        (175, 140, 110),
        (30, 30, 30),
        size=(1600, 1200),
        colleagues=2,
        tags=("autres visages / other faces",),
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
    # Colleagues behind a counter, further away: smaller, at the sides.
    if sample.colleagues:
        counter = int(height * 0.58)
        for across, outfit, hair, mirror in _COLLEAGUES[: sample.colleagues]:
            head = (int(width * across), int(height * 0.37))
            _draw_person(img, head, int(4 * u), outfit, hair, counter, mirror)
        draw.rectangle((0, counter, width, floor), fill=_shade(sample.wall, -45))
        draw.rectangle((0, counter, width, counter + int(2 * u)), fill=_shade(sample.wall, 30))
    # The apprentice, with a real face (see the module's docstring).
    cx = width // 2
    head_r = int(15 * u)
    head_cy = int(height * 0.40)
    if sample.tool == "torch":  # the welding helmet, raised above the head
        draw.chord(
            (
                cx - head_r - int(3 * u),
                head_cy - head_r - int(12 * u),
                cx + head_r + int(3 * u),
                head_cy - int(2 * u),
            ),
            180,
            360,
            fill=(60, 62, 66),
        )
    body_top = _draw_person(img, (cx, head_cy), head_r, sample.outfit, (70, 45, 30), height)
    # Raised arm holding the tool of the trade.
    hand = (cx + int(36 * u), int(height * 0.42))
    draw.line(
        (cx + int(22 * u), body_top + int(10 * u), *hand),
        fill=sample.outfit,
        width=int(10 * u),
    )
    draw.ellipse(
        (hand[0] - int(5 * u), hand[1] - int(5 * u), hand[0] + int(5 * u), hand[1] + int(5 * u)),
        fill=_SKIN,
    )
    _draw_tool(draw, sample.tool, hand, u)
    # A small title, as a caption drawn in the picture.
    label = f"{sample.en} - sandbox"
    draw.text((int(3 * u), int(3 * u)), label, fill=(30, 30, 30), font=_font(max(10, int(4 * u))))
    if sample.light != 1.0:  # a dim room, only the welding arc shines
        img = img.point(lambda level: round(level * sample.light))
        if sample.tool == "torch":
            _draw_arc(img, (hand[0], hand[1] - int(30 * u)), u)
    # Film grain: photos are never flat, and the sharpness check expects texture. Seeded
    # by the name, so that a sample is the same picture (and the same measures) each time.
    img = ImageChops.add(img, _grain(img.size, sample.name), offset=-128)
    if sample.blur:
        img = img.filter(ImageFilter.GaussianBlur(sample.blur))
    return img


_SKIN: RGB = (232, 182, 140)

# The colleagues in the background: where across the picture, outfit, hair, face mirrored.
_COLLEAGUES: tuple[tuple[float, RGB, RGB, bool], ...] = (
    (0.14, (150, 40, 50), (40, 30, 25), False),
    (0.88, (40, 90, 120), (120, 80, 40), True),
)


def _draw_person(
    img: Image.Image,
    head: tuple[int, int],
    head_r: int,
    outfit: RGB,
    hair: RGB,
    bottom: int,
    mirror: bool = False,
) -> int:
    """Body, neck, hair and a real face around ``head`` (the face's centre); returns the
    top of the body."""
    draw = ImageDraw.Draw(img)
    cx, cy = head
    s = head_r / 15  # the drawing unit of a head of radius 15
    body_top = cy + head_r + int(4 * s)
    draw.rounded_rectangle(
        (cx - int(30 * s), body_top, cx + int(30 * s), bottom + int(10 * s)),
        radius=int(14 * s),
        fill=outfit,
    )
    draw.rectangle(
        (cx - int(5 * s), cy + head_r - int(2 * s), cx + int(5 * s), body_top + int(2 * s)),
        fill=(224, 172, 130),
    )
    draw.ellipse(
        (
            cx - head_r - int(2 * s),
            cy - head_r - int(4 * s),
            cx + head_r + int(2 * s),
            cy + int(4 * s),
        ),
        fill=hair,
    )
    face, mask = _portrait(2 * head_r)
    if mirror:
        face, mask = ImageOps.mirror(face), ImageOps.mirror(mask)
    img.paste(face, (cx - face.width // 2, cy - face.height // 2), mask)
    return body_top


PORTRAIT = "grace_hopper.jpg"
"""matplotlib's sample portrait: 512x600 pixels, the face's box about (152, 103) 222x222."""

_HEAD = (150, 92, 380, 340)
"""The head in :data:`PORTRAIT`: forehead under the cap's brim to chin, ear to ear."""


@functools.cache
def _head() -> Image.Image:
    from matplotlib import cbook

    with Image.open(cbook.get_sample_data(PORTRAIT, asfileobj=False)) as portrait:
        return portrait.convert("RGB").crop(_HEAD)


@functools.cache
def _portrait(width: int) -> tuple[Image.Image, Image.Image]:
    """The portrait's head ``width`` pixels wide and its mask: a soft-edged ellipse."""
    head = _head()
    size = (width, round(width * head.height / head.width))
    face = head.resize(size, Image.Resampling.LANCZOS)
    mask = Image.new("L", size, 0)
    inset = max(1, width // 16)
    ImageDraw.Draw(mask).ellipse((inset, inset, size[0] - 1 - inset, size[1] - 1 - inset), fill=255)
    return face, mask.filter(ImageFilter.GaussianBlur(max(1, width // 24)))


def _grain(size: tuple[int, int], seed: str) -> Image.Image:
    """Grey film grain around 128 (uniform, +-24), the same for the same seed."""
    noise = random.Random(seed).randbytes(size[0] * size[1])
    grain = Image.frombytes("L", size, noise).point(lambda v: 128 + round((v - 127.5) * 0.19))
    return grain.convert("RGB")


def _draw_arc(img: Image.Image, at: tuple[int, int], u: float) -> None:
    """The welding arc: a white-hot point in an orange glow."""
    x, y = at
    glow = Image.new("L", img.size, 0)
    r = int(14 * u)
    ImageDraw.Draw(glow).ellipse((x - r, y - r, x + r, y + r), fill=150)
    glow = glow.filter(ImageFilter.GaussianBlur(6 * u))
    img.paste(Image.new("RGB", img.size, (255, 150, 60)), (0, 0), glow)
    draw = ImageDraw.Draw(img)
    r = int(2 * u)
    draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 240))
    for dx, dy in ((-5, -3), (4, -5), (6, 2), (-3, 5), (1, 7)):
        draw.line(
            (x, y, x + int(dx * u), y + int(dy * u)), fill=(255, 220, 120), width=max(1, int(u / 3))
        )


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
    elif tool == "torch":  # a welding torch, its tip up
        draw.line((x, y, x, y - int(28 * u)), fill=(150, 150, 160), width=int(3 * u))
        draw.rectangle(
            (x - int(3 * u), y - int(10 * u), x + int(3 * u), y + int(4 * u)), fill=(40, 40, 45)
        )
    elif tool == "tray":  # a tray with two glasses
        top = y - int(8 * u)
        for dx in (-6, 3):
            draw.rectangle(
                (x + int(dx * u), top - int(9 * u), x + int((dx + 4) * u), top),
                fill=(200, 225, 235),
                outline=(120, 140, 150),
                width=max(1, int(u / 2)),
            )
        draw.rounded_rectangle(
            (x - int(12 * u), top, x + int(12 * u), top + int(2 * u)),
            radius=int(u),
            fill=(150, 150, 160),
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
    software: str | None = None,
) -> bytes:
    """What a phone writes: make and model, optional orientation and GPS position (Dijon)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = make
    exif[ExifTags.Base.Model] = model
    if software is not None:
        exif[ExifTags.Base.Software] = software
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
    exif = exif_bytes(orientation=sample.orientation, gps=sample.gps, software=DRAWING)
    img.save(out, "JPEG", quality=88, exif=exif)
    return out.getvalue()


def write_samples(folder: Path) -> list[Sample]:
    """Write every sample into ``folder`` (kept when already there, as this
    :data:`DRAWING` drew it) and return them."""
    folder.mkdir(parents=True, exist_ok=True)
    for sample in SAMPLES:
        path = folder / sample.filename
        if _drawing_of(path) != DRAWING:
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(sample_jpeg(sample))
            tmp.replace(path)
    return list(SAMPLES)


def _drawing_of(path: Path) -> str | None:
    """The :data:`DRAWING` a sample file was made by; None: no file, or another drawing."""
    try:
        with Image.open(path) as img:
            software = img.getexif().get(ExifTags.Base.Software)
    except (OSError, ValueError, SyntaxError):  # missing, or not a readable image
        return None
    return software if isinstance(software, str) else None
