"""The photo coach's rules: from a photo's measures to what the apprentice and the
moderators are told. No Telegram, no pixels: the measures come from the image workers
(:mod:`bot.photos.sharpness`, :mod:`bot.photos.exposure`, :mod:`bot.photos.faces`), the
thresholds from ``[coach]``.

Hints never refuse: a welder behind a mask or a hairdresser seen from behind has no face
to find, a night shift is dark. The apprentice is told, and can always send.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from bot.config import CoachSettings
from bot.photos.pipeline import ProcessedImage
from models import Submission


class Hint(enum.StrEnum):
    """What the coach tells the apprentice, at most one (the first that applies, in this
    order: light first, as a dark photo also looks blurred)."""

    DARK = "dark"
    BURNT = "burnt"
    BLURRY = "blurry"
    NO_FACE = "no_face"
    SMALL_FACE = "small_face"


class Focus(enum.StrEnum):
    SHARP = "sharp"
    SOFT = "soft"
    BLURRY = "blurry"


class Light(enum.StrEnum):
    GOOD = "good"
    DARK = "dark"
    BURNT = "burnt"


@dataclass(frozen=True)
class Measures:
    """A photo's measures as the draft row keeps them (None: not measured, an older row)."""

    width: int
    height: int
    sharpness: float | None
    brightness: float | None = None
    burnt: float | None = None
    faces: int | None = None
    """Faces found, the apprentice's included; None when no face search ran."""
    face_width: int | None = None
    """Width of the apprentice's face (the largest or most central), in pixels."""


def measures_of(entry: Submission) -> Measures:
    return Measures(
        width=entry.width or 0,
        height=entry.height or 0,
        sharpness=entry.sharpness,
        brightness=entry.brightness,
        burnt=entry.burnt,
        faces=entry.faces,
        face_width=entry.face_width,
    )


def measures_of_photo(processed: ProcessedImage, searched: bool = True) -> Measures:
    """A new photo's measures as the image worker took them; ``searched``: faces were
    searched (else none found says nothing)."""
    faces = processed.faces
    return Measures(
        width=processed.width,
        height=processed.height,
        sharpness=processed.sharpness,
        brightness=processed.brightness,
        burnt=processed.burnt,
        faces=len(faces) if searched else None,
        face_width=faces[0].w if faces else None,
    )


def focus(sharpness: float | None, coach: CoachSettings) -> Focus | None:
    if sharpness is None or not math.isfinite(sharpness):
        return None
    if sharpness < coach.blurry_below:
        return Focus.BLURRY
    return Focus.SOFT if sharpness < coach.soft_below else Focus.SHARP


def light(brightness: float | None, burnt: float | None, coach: CoachSettings) -> Light | None:
    if brightness is None or burnt is None:
        return None
    if brightness < coach.dark_below:
        return Light.DARK
    return Light.BURNT if burnt > coach.burnt_above else Light.GOOD


def face_is_small(measures: Measures, coach: CoachSettings) -> bool:
    short = min(measures.width, measures.height)
    return bool(
        measures.face_width and short and measures.face_width < coach.small_face_below * short
    )


def hint(measures: Measures, coach: CoachSettings) -> Hint | None:
    """The one thing worth telling the apprentice about this photo, if any."""
    if not coach.enabled:
        return None
    lit = light(measures.brightness, measures.burnt, coach)
    if lit is Light.DARK:
        return Hint.DARK
    if lit is Light.BURNT:
        return Hint.BURNT
    if focus(measures.sharpness, coach) is Focus.BLURRY:
        return Hint.BLURRY
    if measures.faces == 0:
        return Hint.NO_FACE
    if face_is_small(measures, coach):
        return Hint.SMALL_FACE
    return None


class Bystanders(enum.StrEnum):
    """What the apprentice chose for the other faces on their photo."""

    BLURRED = "blurred"
    AGREED = "agreed"
