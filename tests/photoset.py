"""The photo coach's labelled set: photos whose truth is known because they are made.

The coach (:mod:`bot.campaign.coach`) turns measures (:mod:`bot.photos.sharpness`,
:mod:`bot.photos.exposure`, :mod:`bot.photos.faces`) into hints, and its thresholds
(:class:`bot.config.CoachSettings`) are only as good as the photos they were judged on.
Real submissions cannot be kept in git (minors' faces), so the set is built here, in
memory and seeded, from what the tests already have: :mod:`tests.support.imagegen`'s
scenes, scikit-image's bundled photos and textures (no download) and two public-domain
portraits for the faces (matplotlib's Grace Hopper, scikit-image's astronaut). The unit
tests (``tests/unit/images/test_coach.py``) and the benchmark (``benchmarks/coach.py``)
both build it from :func:`labelled`, so they judge the same photos.

Every item is a photo at the bot's output size (1600 px long side: the pipeline does not
resize it again) with:

- one focus label: :data:`SHARP`, :data:`SOFT` (blurred a little: Gaussian radius 1 or 2,
  a 9 px shake; looks sharp or nearly so on a phone, so neither a hint nor its absence is
  wrong) or :data:`BLURRY` (Gaussian radius 3 or 5, a 15 px shake);
- one light label: :data:`WELL_LIT`, :data:`DARK` (pixel values x0.25 or x0.15),
  :data:`BURNT` (brightened until more than 30 % of the pixels clip) or, no target either
  way, :data:`DIM` (x0.5) and :data:`BRIGHT` (about 12 % clipped);
- :data:`FACE` (the apprentice's face is there, large), :data:`BYSTANDERS` (other faces
  too) or :data:`NO_FACE`, with the true boxes;
- its kind: :data:`SCENE`, :data:`PHOTO`, :data:`TEXTURE` or :data:`COMPOSITE`.

Limits, said plainly: the faces are two people only (mirrored and resized), pasted rather
than photographed, always frontal and upright; the photos are small originals enlarged to
1600 px (the sharpness is measured at 640 px, about their own size, so they are as sharp
there as they really are). Microscopy, space and synthetic images of scikit-image are left
out: the bot is not sent those, and flat images score low for sharpness by nature.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from tests.support import imagegen

Box = tuple[int, int, int, int]
"""(left, top, right, bottom) in the item's pixels, as :attr:`bot.photos.faces.Face.box`."""

PORTRAIT = (1200, 1600)
LANDSCAPE = (1600, 1200)

# Focus.
SHARP = "sharp"
SOFT = "soft"
BLURRY = "blurry"
# Light.
WELL_LIT = "well_lit"
DARK = "dark"
BURNT = "burnt"
DIM = "dim"
BRIGHT = "bright"
# Faces.
FACE = "face"
BYSTANDERS = "bystanders"
NO_FACE = "no_face"
# Kinds.
SCENE = "scene"
PHOTO = "photo"
TEXTURE = "texture"
COMPOSITE = "composite"

GAUSSIAN_RADII = {1: SOFT, 2: SOFT, 3: BLURRY, 5: BLURRY}
"""Gaussian blur radius (Pillow's, in pixels at 1600 px) and its honest label: at a
phone's ~640 px radius 1 cannot be seen and radius 2 is a little soft."""

SHAKES = {9: SOFT, 15: BLURRY}
"""Horizontal motion blur (a line kernel this many pixels long) and its label."""

DARKER = (0.25, 0.15)
"""Pixel values multiplied by these: about 4 and 5.5 stops under in light."""

BURNT_SHARE = 0.40
"""Share of pixels pushed to the clipped level (>= 250 of 255) for :data:`BURNT`; the
label promises more than 30 % at full size, with room for JPEG (32-40 % are left after
the pipeline's)."""

CLIPPED = 250

BRIGHT_SHARE = 0.12
"""The same for :data:`BRIGHT`: a bright photo, or one with a white wall in it."""


@dataclass(frozen=True)
class Item:
    """One labelled photo. ``image`` is built on each access (the full set held at once
    would take over a gigabyte); a new copy each time, so a caller may draw on it."""

    name: str
    labels: frozenset[str]
    apprentice_box: Box | None
    other_boxes: tuple[Box, ...]
    make: Callable[[], Image.Image] = field(repr=False, compare=False)

    @property
    def image(self) -> Image.Image:
        return self.make()

    def has(self, *labels: str) -> bool:
        """Whether every one of ``labels`` applies."""
        return all(label in self.labels for label in labels)


@dataclass(frozen=True)
class FaceSource:
    """A portrait to cut people from: its face box (the OpenCV cascade's own box at full
    size, checked by eye: what ``faces_min_px`` and ``face_width`` count) and a head and
    shoulders crop around it."""

    name: str
    face: Box
    crop: Box

    def load(self) -> Image.Image:
        return _portrait(self.name)


GRACE = FaceSource("grace_hopper", face=(152, 103, 374, 325), crop=(40, 0, 490, 600))
ASTRONAUT = FaceSource("astronaut", face=(172, 62, 279, 169), crop=(80, 0, 370, 512))
FACES = (GRACE, ASTRONAUT)


@functools.cache
def _portrait(name: str) -> Image.Image:
    if name == "grace_hopper":
        from matplotlib import cbook

        with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as img:
            return img.convert("RGB")
    return _skimage(name)


@functools.cache
def _skimage(name: str) -> Image.Image:
    """One of scikit-image's bundled images (``skimage.data``: files in the wheel)."""
    import skimage.data

    return Image.fromarray(getattr(skimage.data, name)()).convert("RGB")


# --- the sharp, well-lit bases ------------------------------------------------------------


def scene(seed: int, size: tuple[int, int]) -> Image.Image:
    """:func:`tests.support.imagegen.scene`: shapes, thin lines and sensor-like grain."""
    return imagegen.scene(*size, seed=seed)


def photo(name: str, size: tuple[int, int] = LANDSCAPE) -> Image.Image:
    """A scikit-image photo cropped to ``size``'s ratio and enlarged to it."""
    return ImageOps.fit(_skimage(name), size, Image.Resampling.LANCZOS)


def tiled(name: str, size: tuple[int, int]) -> Image.Image:
    """A texture at its own scale, mirrored tile by tile so no seam shows."""
    tile = _skimage(name)
    block = Image.new("RGB", (tile.width * 2, tile.height * 2))
    block.paste(tile, (0, 0))
    block.paste(ImageOps.mirror(tile), (tile.width, 0))
    block.paste(ImageOps.flip(tile), (0, tile.height))
    block.paste(tile.rotate(180), (tile.width, tile.height))
    out = Image.new("RGB", size)
    for top in range(0, size[1], block.height):
        for left in range(0, size[0], block.width):
            out.paste(block, (left, top))
    return out


PHOTOS = ("coffee", "rocket", "chelsea", "coins")
"""Face-free photos (``chelsea`` is a cat's face: not a person)."""

TEXTURES = ("brick", "grass", "gravel")


# --- what goes wrong ---------------------------------------------------------------------


def blurred(img: Image.Image, radius: float) -> Image.Image:
    """Out of focus: a Gaussian blur (Pillow's radius is the standard deviation)."""
    return img.filter(ImageFilter.GaussianBlur(radius))


def shaken(img: Image.Image, length: int) -> Image.Image:
    """A hand that moved sideways: each pixel the mean of ``length`` along its row."""
    pixels = numpy.asarray(img.convert("RGB"), dtype=numpy.float64)
    half = length // 2
    padded = numpy.pad(pixels, ((0, 0), (half, length - 1 - half), (0, 0)), mode="edge")
    sums = numpy.cumsum(padded, axis=1)
    sums = numpy.concatenate([numpy.zeros_like(sums[:, :1]), sums], axis=1)
    out = (sums[:, length:] - sums[:, :-length]) / length
    return Image.fromarray(numpy.clip(out + 0.5, 0, 255).astype(numpy.uint8))


def darkened(img: Image.Image, factor: float) -> Image.Image:
    """Underexposed: every pixel value multiplied by ``factor``."""
    return img.point(lambda v: round(v * factor))


def _gain(value: int, gain: float) -> int:
    return min(255, round(value * gain))


def clipped_share(img: Image.Image) -> float:
    """Share of pixels at :data:`CLIPPED` or above in the grayscale copy."""
    histogram = img.convert("L").histogram()
    return sum(histogram[CLIPPED:]) / (sum(histogram) or 1)


def brightened(img: Image.Image, share: float) -> Image.Image:
    """Overexposed: pixel values multiplied by the smallest gain that clips ``share`` of
    the pixels, found by bisection on every fourth pixel each way (picked, not averaged:
    the same share of clipped pixels as the whole photo)."""
    sample = img.resize((img.width // 4, img.height // 4), Image.Resampling.NEAREST)
    low, high = 1.0, 16.0
    for _ in range(18):
        gain = (low + high) / 2
        if clipped_share(sample.point(lambda v, g=gain: _gain(v, g))) >= share:
            high = gain
        else:
            low = gain
    return img.point(lambda v: _gain(v, high))


# --- faces -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A face source pasted at ``face_width`` pixels, its face's top-left at ``at``."""

    source: FaceSource
    face_width: int
    at: tuple[int, int]
    mirrored: bool = False

    @property
    def scale(self) -> float:
        return self.face_width / (self.source.face[2] - self.source.face[0])

    def face_box(self) -> Box:
        left, top, right, bottom = self.source.face
        width = round((right - left) * self.scale)
        height = round((bottom - top) * self.scale)
        return (self.at[0], self.at[1], self.at[0] + width, self.at[1] + height)

    def origin(self) -> tuple[int, int]:
        """Where the crop's top-left lands."""
        left, top, right, _ = self.source.face
        crop_left, crop_top, crop_right, _ = self.source.crop
        offset_x = crop_right - right if self.mirrored else left - crop_left
        return (
            self.at[0] - round(offset_x * self.scale),
            self.at[1] - round((top - crop_top) * self.scale),
        )

    def crop_size(self) -> tuple[int, int]:
        crop_left, crop_top, crop_right, crop_bottom = self.source.crop
        return (
            round((crop_right - crop_left) * self.scale),
            round((crop_bottom - crop_top) * self.scale),
        )

    def extent(self) -> Box:
        """The pasted crop's box (may run past the photo's edges)."""
        x, y = self.origin()
        w, h = self.crop_size()
        return (x, y, x + w, y + h)

    def paste_into(self, img: Image.Image) -> None:
        head = self.source.load().crop(self.source.crop)
        if self.mirrored:
            head = ImageOps.mirror(head)
        head = head.resize(self.crop_size(), Image.Resampling.LANCZOS)
        img.paste(head, self.origin(), _bust_mask(head.size))


@functools.lru_cache(maxsize=64)
def _bust_mask(size: tuple[int, int]) -> Image.Image:
    """A rounded, feathered outline: no hard rectangle edge around a pasted person."""
    width, height = size
    mask = Image.new("L", size, 0)
    radius = max(1, width * 3 // 10)
    feather = max(1, width // 40)
    ImageDraw.Draw(mask).rounded_rectangle(
        (feather, feather, width - 1 - feather, height + radius), radius=radius, fill=255
    )
    return mask.filter(ImageFilter.GaussianBlur(feather))


@dataclass(frozen=True)
class Composite:
    """A background with the apprentice (first) and other people pasted on it."""

    background: str
    """``scene:<seed>``, ``photo:<name>`` or ``tiled:<name>``."""
    size: tuple[int, int]
    apprentice: Person
    others: tuple[Person, ...] = ()

    def render(self) -> Image.Image:
        img = _background(self.background, self.size)
        for person in (self.apprentice, *self.others):
            person.paste_into(img)
        return img


def _background(spec: str, size: tuple[int, int]) -> Image.Image:
    kind, _, name = spec.partition(":")
    if kind == "scene":
        return scene(int(name), size)
    if kind == "photo":
        return photo(name, size)
    return tiled(name, size)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _grown(box: Box, share: float) -> Box:
    dx, dy = round((box[2] - box[0]) * share), round((box[3] - box[1]) * share)
    return (box[0] - dx, box[1] - dy, box[2] + dx, box[3] + dy)


def compose(
    rng: random.Random,
    background: str,
    size: tuple[int, int],
    apprentice_share: float,
    bystanders: int,
    *,
    source: FaceSource | None = None,
) -> Composite:
    """The apprentice's face ``apprentice_share`` of the short side wide, near the centre
    and in the upper part as in a selfie, then ``bystanders`` people 40-150 px wide (log-
    uniform: more people far away than near), each where neither its pasted crop nor its
    face (widened by half: what the blur covers and more) touches another's face."""
    width, height = size
    short = min(size)
    source = source or rng.choice(FACES)
    face_width = round(apprentice_share * short)
    face_height = round(face_width * _aspect(source))
    centre_x = width / 2 + rng.uniform(-0.08, 0.08) * width
    top = round(rng.uniform(0.10, 0.22) * height)
    apprentice = Person(
        source,
        face_width,
        (round(centre_x - face_width / 2), min(top, height - face_height - 1)),
        rng.random() < 0.5,
    )
    taken = [_grown(apprentice.face_box(), 0.5)]
    crops = [apprentice.face_box()]
    others: list[Person] = []
    while len(others) < bystanders:
        other_source = rng.choice(FACES)
        other_width = round(40 * (150 / 40) ** rng.random())
        for _ in range(500):
            at = (rng.randrange(width), rng.randrange(height))
            person = Person(other_source, other_width, at, rng.random() < 0.5)
            extent = person.extent()
            face = person.face_box()
            inside = extent[0] >= 0 and extent[1] >= 0 and extent[2] <= width
            inside = inside and face[3] + (face[3] - face[1]) <= height
            if not inside:
                continue
            if any(_overlaps(extent, box) for box in taken):
                continue
            if any(_overlaps(_grown(face, 0.5), box) for box in crops):
                continue
            others.append(person)
            taken.append(_grown(face, 0.5))
            crops.append(extent)
            break
        else:
            raise RuntimeError(f"no room for a bystander on {background}")
    return Composite(background, size, apprentice, tuple(others))


def _aspect(source: FaceSource) -> float:
    left, top, right, bottom = source.face
    return (bottom - top) / (right - left)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def matches(found: Box, true: Box) -> bool:
    """Whether a detected box is this true face: IoU >= 0.3, or its centre inside the
    true box (the cascade's box and the labelled one differ in margin, not in place)."""
    cx, cy = (found[0] + found[2]) / 2, (found[1] + found[3]) / 2
    inside = true[0] <= cx <= true[2] and true[1] <= cy <= true[3]
    return inside or iou(found, true) >= 0.3


# --- the set ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Base:
    name: str
    labels: frozenset[str]
    apprentice_box: Box | None
    other_boxes: tuple[Box, ...]
    make: Callable[[], Image.Image]


Change = Callable[[Image.Image], Image.Image]


def _changes(quick: bool) -> list[tuple[str, frozenset[str], Change]]:
    """What goes wrong with a photo: (name, the labels it then has, the change)."""
    changes: list[tuple[str, frozenset[str], Change]] = []
    for radius, focus in GAUSSIAN_RADII.items():
        if not quick or radius == 3:
            change = functools.partial(blurred, radius=radius)
            changes.append((f"gauss-r{radius}", frozenset({focus, WELL_LIT}), change))
    for length, focus in SHAKES.items():
        if not quick or length == 15:
            change = functools.partial(shaken, length=length)
            changes.append((f"shake-{length}", frozenset({focus, WELL_LIT}), change))
    for factor in DARKER[:1] if quick else DARKER:
        change = functools.partial(darkened, factor=factor)
        changes.append((f"dark-x{factor}", frozenset({SHARP, DARK}), change))
    change = functools.partial(brightened, share=BURNT_SHARE)
    changes.append((f"burnt-{BURNT_SHARE:.0%}", frozenset({SHARP, BURNT}), change))
    if not quick:
        change = functools.partial(darkened, factor=0.5)
        changes.append(("dim-x0.5", frozenset({SHARP, DIM}), change))
        change = functools.partial(brightened, share=BRIGHT_SHARE)
        changes.append((f"bright-{BRIGHT_SHARE:.0%}", frozenset({SHARP, BRIGHT}), change))
    return changes


def _bases(quick: bool) -> list[_Base]:
    """The sharp, well-lit photos, composites last."""
    bases: list[_Base] = []

    def plain(name: str, kind: str, make: Callable[[], Image.Image]) -> None:
        bases.append(_Base(name, frozenset({kind, NO_FACE}), None, (), make))

    for seed in range(1 if quick else 6):
        size = PORTRAIT if seed % 2 == 0 else LANDSCAPE
        plain(f"scene-{seed}", SCENE, functools.partial(scene, seed, size))
    if not quick:
        for name in PHOTOS:
            plain(f"photo-{name}", PHOTO, functools.partial(photo, name))
        for name in TEXTURES:
            plain(f"texture-{name}-enlarged", TEXTURE, functools.partial(photo, name, PORTRAIT))
    for name in ("gravel",) if quick else TEXTURES:
        plain(f"texture-{name}", TEXTURE, functools.partial(tiled, name, LANDSCAPE))

    rng = random.Random(24)  # issue 24
    backgrounds = [f"scene:{100 + i}" for i in range(4)]
    backgrounds += [f"tiled:{name}" for name in TEXTURES] + ["photo:coffee", "photo:rocket"]
    for index in range(2 if quick else 24):
        if quick:
            others = 2 if index == 0 else 0
            composite = compose(rng, "scene:100", PORTRAIT, 0.32, others, source=GRACE)
        else:
            source = GRACE if index % 4 else ASTRONAUT
            # The astronaut's face is 107 px in its photo: kept under 30 % of the short
            # side so that at the 640 px where sharpness is measured it is enlarged no
            # more than 1.3x (Grace Hopper's, 222 px, stays under 1x up to 45 %).
            share = rng.uniform(0.25, 0.30 if source is ASTRONAUT else 0.45)
            background = backgrounds[index % len(backgrounds)]
            size = PORTRAIT if index % 3 else LANDSCAPE
            composite = compose(rng, background, size, share, index % 4, source=source)
        labels = {COMPOSITE, FACE} | ({BYSTANDERS} if composite.others else set())
        bases.append(
            _Base(
                f"composite-{index}",
                frozenset(labels),
                composite.apprentice.face_box(),
                tuple(person.face_box() for person in composite.others),
                composite.render,
            )
        )
    return bases


def labelled(quick: bool = False) -> list[Item]:
    """The labelled set: the sharp well-lit bases, then what goes wrong with some of them
    (every scene and photo, the first two tiled textures, the first six composites).

    ``quick``: 12 items for the unit tests and ``--quick``: a scene, a texture, a
    composite with the apprentice and two bystanders and one with the apprentice alone;
    the scene and the first composite blurred (radius 3), shaken (15 px), darkened (x0.25)
    and burnt. Cheap to call: images are drawn when asked for (:attr:`Item.image`).
    """
    bases = _bases(quick)
    items: list[Item] = []
    for base in bases:
        make = _cached(f"{quick}:{base.name}", base.make)
        items.append(
            Item(
                base.name,
                base.labels | {SHARP, WELL_LIT},
                base.apprentice_box,
                base.other_boxes,
                _copy_of(make),
            )
        )
    damaged = [b for b in bases if SCENE in b.labels or PHOTO in b.labels]
    tiles = [b for b in bases if TEXTURE in b.labels and not b.name.endswith("-enlarged")]
    damaged += tiles[: 0 if quick else 2]
    damaged += [b for b in bases if COMPOSITE in b.labels][: 1 if quick else 6]
    changes = _changes(quick)
    for base in damaged:
        make = _cached(f"{quick}:{base.name}", base.make)
        for suffix, labels, change in changes:
            items.append(
                Item(
                    f"{base.name}/{suffix}",
                    base.labels | labels,
                    base.apprentice_box,
                    base.other_boxes,
                    functools.partial(_derived, make, change),
                )
            )
    return items


def _derived(base: Callable[[], Image.Image], change: Change) -> Image.Image:
    return change(base())


def _copy_of(base: Callable[[], Image.Image]) -> Callable[[], Image.Image]:
    return lambda: base().copy()


_BUILT: dict[str, Image.Image] = {}
_KEEP = 4


def _cached(name: str, make: Callable[[], Image.Image]) -> Callable[[], Image.Image]:
    """``make`` remembered for the last few bases asked: a base and its variants are used
    one after the other, and a 1600 px scene takes a few hundred ms to draw."""

    def get() -> Image.Image:
        if name not in _BUILT:
            while len(_BUILT) >= _KEEP:
                del _BUILT[next(iter(_BUILT))]
            _BUILT[name] = make()
        return _BUILT[name]

    return get


def by_name(items: list[Item]) -> dict[str, Item]:
    return {item.name: item for item in items}
