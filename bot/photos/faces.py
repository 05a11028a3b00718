"""Faces in a photo: where they are, and hiding those of other people for good.

The detector is OpenCV's Haar cascade for frontal faces, shipped inside the
``opencv-python-headless`` 4.x wheels (``cv2/data``; the 5.x wheels no longer carry it):
nothing is downloaded, and the model is as old and as well known as it is light. ``cv2``
is imported on first use, which only happens in the image workers, so the bot's own
process never loads it (an idle bot stays at its size).

A face is searched down to ``min_px`` pixels wide in the processed photo: the cascade's
window is :data:`WINDOW` pixels, so the photo is scaled to ``WINDOW / min_px`` first, and
a smaller ``min_px`` costs more (the cost grows with the square of the scale; measured in
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
"""The cascade's smallest face, in pixels of the image it scans."""

CASCADE = "haarcascade_frontalface_alt2.xml"
"""Of the frontal cascades in the wheel, the one with no false face on the textures of the
labelled set at the cost of the fastest (``benchmarks/coach.py``)."""


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
    scale = min(1.0, WINDOW / min_px)
    if scale < 1.0:
        size = (max(WINDOW, round(gray.width * scale)), max(WINDOW, round(gray.height * scale)))
        gray = gray.resize(size, Image.Resampling.BOX)
    found: Any = _cascade().detectMultiScale(
        numpy.asarray(gray), scaleFactor=1.15, minNeighbors=4, minSize=(WINDOW, WINDOW)
    )
    sx, sy = img.width / gray.width, img.height / gray.height
    faces = [
        Face(round(x * sx), round(y * sy), round(w * sx), round(h * sy)) for x, y, w, h in found
    ]
    return by_rank(faces, img.size)


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
        left, top, right, bottom = _widened(face, out.size)
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


def _widened(face: Face, size: tuple[int, int]) -> tuple[int, int, int, int]:
    dx, dy = round(face.w * MARGIN), round(face.h * MARGIN)
    return (
        max(0, face.x - dx),
        max(0, face.y - dy),
        min(size[0], face.x + face.w + dx),
        min(size[1], face.y + face.h + dy),
    )
