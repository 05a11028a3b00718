"""Faces in a photo: where they are, and hiding those of other people for good.

The detector is OpenCV's Haar cascade for frontal faces, shipped inside the
``opencv-python-headless`` 4.x wheels (``cv2/data``; the 5.x wheels no longer carry it):
nothing is downloaded, and the model is as old and as well known as it is light. ``cv2``
is imported on first use, which only happens in the image workers, so the bot's own
process never loads it (an idle bot stays at its size).

A face is searched down to ``min_px`` pixels wide in the processed photo: the search's
smallest size is :data:`WINDOW` pixels, and the cascade only fires reliably on faces a
fifth larger than that, so the photo is scaled to ``WINDOW / (0.8 * min_px)`` first. A
smaller ``min_px`` costs more (the cost grows with the square of the scale; measured in
``benchmarks/coach.py``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageChops, ImageDraw, ImageFilter

if TYPE_CHECKING:
    import cv2

WINDOW = 24
"""The search's smallest face, in pixels of the image it scans (the cascade's own window
is 20)."""

MARGIN_OF_FIRING = 0.8
"""A face ``min_px`` wide is scanned at ``min_px * 0.8 >= WINDOW``: at exactly the smallest
size the cascade found none of the labelled 40-47 px faces (``benchmarks/coach.py``)."""

CASCADE = "haarcascade_frontalface_alt2.xml"
"""Of the wheel's frontal cascades, the one that found no face on textures in our trials
(the default one found two on gravel), and the fastest of them."""


@dataclass(frozen=True)
class Face:
    """A face's box in the processed photo's pixels."""

    x: int
    y: int
    w: int
    h: int

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.x + self.w, self.y + self.h)

    @classmethod
    def of_box(cls, box: tuple[int, int, int, int]) -> Face:
        """The face whose :attr:`box` is ``box`` (left, top, right, bottom)."""
        return cls(box[0], box[1], box[2] - box[0], box[3] - box[1])


@functools.cache
def _cascade() -> cv2.CascadeClassifier:
    import cv2
    import cv2.data

    # One thread: a worker owns one core, the other is the event loop's.
    cv2.setNumThreads(1)
    detector = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE)
    if detector.empty():
        raise RuntimeError(f"OpenCV's {CASCADE} could not be loaded")
    return detector


def find_faces(img: Image.Image, min_px: int) -> tuple[Face, ...]:
    """Every frontal face at least ``min_px`` wide, the apprentice's first (:func:`by_rank`)."""
    import numpy

    gray = img.convert("L")
    scale = min(1.0, WINDOW / (MARGIN_OF_FIRING * min_px))
    if scale < 1.0:
        size = (max(WINDOW, round(gray.width * scale)), max(WINDOW, round(gray.height * scale)))
        gray = gray.resize(size, Image.Resampling.BOX)
    found: Any = _cascade().detectMultiScale(
        numpy.asarray(gray), scaleFactor=1.2, minNeighbors=4, minSize=(WINDOW, WINDOW)
    )
    sx, sy = img.width / gray.width, img.height / gray.height
    faces = [
        Face(round(x * sx), round(y * sy), round(w * sx), round(h * sy)) for x, y, w, h in found
    ]
    if _in_colour(img):
        faces = [face for face in faces if _skin_share(img, face) >= SKIN_SHARE]
    return by_rank(faces, img.size)


SKIN_SHARE = 0.2
"""A face found in a colour photo is kept when this share of its middle has a skin's
chroma (any skin: chroma, not lightness). The cascade also fires on coins and tool
patterns; the faces of the labelled set have 0.7 and more, its false ones 0.05 or less."""


def _skin_share(img: Image.Image, face: Face) -> float:
    inner = img.crop(
        (
            face.x + face.w // 4,
            face.y + face.h // 4,
            face.x + 3 * face.w // 4,
            face.y + 3 * face.h // 4,
        )
    )
    ycc = inner.resize((16, 16), Image.Resampling.BOX).convert("YCbCr").tobytes()
    skin = sum(
        1 for i in range(0, len(ycc), 3) if 77 <= ycc[i + 1] <= 127 and 133 <= ycc[i + 2] <= 173
    )
    return skin / (len(ycc) // 3)


def _in_colour(img: Image.Image) -> bool:
    """Whether the photo has colour enough for the skin check (a black-and-white photo has
    none, and keeps every face found)."""
    # Reduced first: YCbCr is affine in RGB, so a cell's average chroma is the same.
    ycc = img.resize((32, 32), Image.Resampling.BOX).convert("YCbCr").tobytes()
    spread = sum(abs(ycc[i + 1] - 128) + abs(ycc[i + 2] - 128) for i in range(0, len(ycc), 3))
    return spread / (len(ycc) // 3) >= 6


def by_rank(faces: list[Face], size: tuple[int, int]) -> tuple[Face, ...]:
    """The apprentice's face first: the largest, or among faces nearly as large (80 %),
    the most central; the others follow, largest first."""
    if not faces:
        return ()
    largest = max(face.w for face in faces)
    cx, cy = size[0] / 2, size[1] / 2

    def off_centre(face: Face) -> float:
        return abs(face.x + face.w / 2 - cx) + abs(face.y + face.h / 2 - cy)

    apprentice = min((f for f in faces if f.w >= 0.8 * largest), key=off_centre)
    others = sorted((f for f in faces if f is not apprentice), key=lambda f: -f.w)
    return (apprentice, *others)


MARGIN = 0.25
"""A box is widened by this share on each side before it is hidden: the cascade's box
holds eyes to mouth, and hair, ears and chin tell who someone is too."""

CELLS = 4
"""A hidden face keeps this many cells across, one colour each, then smoothed: 16 colours
cannot be turned back into a face (a Gaussian blur of the same look keeps enough for
deblurring)."""


def blur_faces(img: Image.Image, faces: tuple[Face, ...] | list[Face]) -> Image.Image:
    """A copy of ``img`` with each of ``faces`` replaced by a few flat colours.

    The region is reduced to :data:`CELLS` cells across (the colours of skin, hair and
    background there, nothing of the features), enlarged back, smoothed so it reads as a
    blur rather than a mosaic, and laid in through a soft-edged ellipse.
    """
    out = img.convert("RGB")
    for face in faces:
        left, top, right, bottom = covered(face, out.size)
        width, height = right - left, bottom - top
        if width < 2 or height < 2:
            continue
        region = out.crop((left, top, right, bottom))
        cells = (CELLS, max(1, round(CELLS * height / width)))
        flat = region.resize(cells, Image.Resampling.BOX).resize(
            (width, height), Image.Resampling.BILINEAR
        )
        flat = flat.filter(ImageFilter.GaussianBlur(max(1, width // 8)))
        mask = Image.new("L", (width, height), 0)
        ImageDraw.Draw(mask).ellipse((0, 0, width - 1, height - 1), fill=255)
        mask = mask.filter(ImageFilter.GaussianBlur(max(1, width // 20)))
        # The ellipse's core is fully covered: only its rim mixes with the photo.
        core = Image.new("L", (width, height), 0)
        inset = max(1, width // 10)
        ImageDraw.Draw(core).ellipse(
            (inset, inset, width - 1 - inset, height - 1 - inset), fill=255
        )
        mask = ImageChops.lighter(core, mask)
        out.paste(flat, (left, top), mask)
    return out


def covered(face: Face, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """What :func:`blur_faces` hides of ``face`` in a photo of ``size``: its box widened by
    :data:`MARGIN`, within the photo."""
    dx, dy = round(face.w * MARGIN), round(face.h * MARGIN)
    return (
        max(0, face.x - dx),
        max(0, face.y - dy),
        min(size[0], face.x + face.w + dx),
        min(size[1], face.y + face.h + dy),
    )
