"""The photo coach (issue 24): its hints and its face search on the labelled set of
:mod:`tests.photoset`, and what the face search costs a photo.

Every item is encoded as a q90 JPEG, as an upload, and goes through :func:`process_image`
as the bot runs it for the coach (``faces_min_px`` of :class:`CoachSettings`, branding
off); the hint is :func:`bot.campaign.coach.hint` with the default thresholds, on the
measures the handler builds (``handlers/coach.py``).

- **Hints**: for each of blur, dark and burnt, the share of the photos labelled so that
  get that hint (recall), and the share of the photos that should not get it that do
  (false hints: sharp well-lit photos for blur, every well-lit photo for dark and burnt).
  Photos labelled soft, dim or bright count for neither (a context line says what they
  got). Then the thresholds that would meet both targets on this set, from the same
  measures.
- **Faces**: a detected box matches a true one at IoU >= 0.3 or with its centre inside;
  the apprentice's face found (and ranked first), other faces >= 40 px found, and photos
  with a face found where there is none (face-free photos and textures, composites with
  the apprentice alone); sharp, well-lit photos.
- **Blurring**: the true boxes of the other people hidden with :func:`hide_faces`; the
  face search run again on the result, and SSIM (grayscale) of each hidden face against
  the same box before.
- **Cost**: :func:`process_image` of a 12 MP JPEG (:mod:`tests.support.imagegen`) with
  and without the face search, interleaved, median of N; other ``faces_min_px`` as
  context, with what each finds on the set.
"""

from __future__ import annotations

import functools
import io
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from PIL import Image

from benchmarks.common import Figure, alternate, median_ms
from benchmarks.images import photo
from bot.campaign.coach import Hint, hint, measures_of_photo
from bot.config import CoachSettings
from bot.photos.encode import encode_jpeg
from bot.photos.faces import Face, covered, find_faces
from bot.photos.pipeline import ImageOptions, ProcessedImage, hide_faces, process_image
from tests import photoset
from tests.photoset import Item, matches

COACH = CoachSettings()
OPTIONS = ImageOptions(branding=False, faces_min_px=COACH.faces_min_px)
UPLOAD_QUALITY = 90
HIDE_QUALITY = ImageOptions().jpeg_quality

RECALL = 0.95
FALSE = 0.05
APPRENTICE = 0.95
OTHERS = 0.90
FALSE_PEOPLE = 0.05
SSIM_MAX = 0.5
COST_MS = 50.0
SEARCH_SIZES = (32, 40, 60, 80)
"""``faces_min_px`` measured for cost and what they find (40 is the default)."""

BLURRY_BELOW = (30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0, 120.0, 150.0)
DARK_BELOW = (0.10, 0.12, 0.15, 0.18, 0.20, 0.22, 0.25, 0.28, 0.30)
BURNT_ABOVE = (0.05, 0.08, 0.10, 0.12, 0.15, 0.20, 0.25, 0.30)


@dataclass
class Seen:
    """One item after the pipeline: its measures, hint and faces found."""

    item: Item
    processed: ProcessedImage
    hint: Hint | None


def upload(img: Image.Image) -> bytes:
    return encode_jpeg(img, UPLOAD_QUALITY)


def rate(hits: int, total: int) -> str:
    return f"{hits / total:.0%} ({hits}/{total})" if total else "none in the set"


def _share(hits: int, total: int) -> float:
    return hits / total if total else 0.0


def see(items: Sequence[Item]) -> list[Seen]:
    seen = []
    for item in items:
        processed = process_image(upload(item.image), OPTIONS)
        seen.append(Seen(item, processed, hint(measures_of_photo(processed), COACH)))
    return seen


# --- hints --------------------------------------------------------------------------------


def _hint_figures(
    seen: list[Seen],
    kind: str,
    wanted: Hint,
    positives: Callable[[Item], bool],
    negatives: Callable[[Item], bool],
    what: str,
    against: str,
) -> list[Figure]:
    pos = [s for s in seen if positives(s.item)]
    neg = [s for s in seen if negatives(s.item)]
    label = {Hint.BLURRY: photoset.BLURRY, Hint.DARK: photoset.DARK}.get(wanted, photoset.BURNT)
    hits = sum(s.hint is wanted for s in pos)
    false = sum(s.hint is wanted for s in neg)
    missed = ", ".join(s.item.name for s in pos if s.hint is not wanted)
    wrong = ", ".join(s.item.name for s in neg if s.hint is wanted)
    return [
        Figure(
            f"coach {kind}: {what} hinted",
            rate(hits, len(pos)),
            f"{len(pos)} labelled {label}",
            None,
            f">= {RECALL:.0%}",
            _share(hits, len(pos)) >= RECALL if pos else None,
            f"by change: {', '.join(_by_change(seen, label, wanted))}; missed: {missed or 'none'}",
        ),
        Figure(
            f"coach {kind}: false hints on {against}",
            rate(false, len(neg)),
            f"{len(neg)} {against}",
            None,
            f"<= {FALSE:.0%}",
            _share(false, len(neg)) <= FALSE if neg else None,
            f"hinted: {wrong}" if wrong else "",
        ),
    ]


def _sweep(
    seen: list[Seen],
    kind: str,
    wanted: Hint,
    positives: Callable[[Item], bool],
    negatives: Callable[[Item], bool],
    setting: str,
    values: Sequence[float],
    borderline: str,
) -> Figure:
    """The hint again with ``setting`` at each of ``values``: which meet both targets
    (and how many of the ``borderline`` photos, labelled neither way, get it)."""
    pos = [s for s in seen if positives(s.item)]
    neg = [s for s in seen if negatives(s.item)]
    edge = [s for s in seen if s.item.has(borderline)]
    parts, meeting = [], []
    for value in values:
        update: dict[str, float] = {setting: value}
        if setting == "blurry_below":
            update["soft_below"] = max(value, COACH.soft_below)
        coach = COACH.model_copy(update=update)
        recall = _share(sum(_again(s, coach) is wanted for s in pos), len(pos))
        false = _share(sum(_again(s, coach) is wanted for s in neg), len(neg))
        told = sum(_again(s, coach) is wanted for s in edge)
        if recall >= RECALL and false <= FALSE:
            meeting.append(value)
        parts.append(f"{value:g}: {recall:.0%} / {false:.0%} / {told}")
    default = getattr(COACH, setting)
    return Figure(
        f"coach {kind}: {setting} meeting both targets",
        ", ".join(f"{v:g}" for v in meeting) if meeting else "none",
        f"default {default:g}",
        None,
        "context",
        None,
        f"recall / false hints / {borderline} photos hinted (of {len(edge)}) at each value: "
        + "; ".join(parts),
    )


def _again(seen: Seen, coach: CoachSettings) -> Hint | None:
    return hint(measures_of_photo(seen.processed), coach)


def _sharp_lit(item: Item) -> bool:
    return item.has(photoset.SHARP, photoset.WELL_LIT)


def _well_lit(item: Item) -> bool:
    return item.has(photoset.WELL_LIT)


def _blurry(item: Item) -> bool:
    return item.has(photoset.BLURRY, photoset.WELL_LIT)


def _dark(item: Item) -> bool:
    return item.has(photoset.DARK)


def _burnt(item: Item) -> bool:
    return item.has(photoset.BURNT)


def _by_change(seen: list[Seen], label: str, wanted: Hint) -> list[str]:
    """``gauss-r3 16/18``: how many of the photos so labelled got ``wanted``, per change."""
    group = [s for s in seen if s.item.has(label) and "/" in s.item.name]
    changes = sorted({s.item.name.rsplit("/", 1)[1] for s in group})
    parts = []
    for change in changes:
        these = [s for s in group if s.item.name.endswith("/" + change)]
        parts.append(f"{change} {sum(s.hint is wanted for s in these)}/{len(these)}")
    return parts


def _extremes(seen: list[Seen]) -> str:
    """The sharp photos scoring lowest and the blurry ones scoring highest."""
    sharp = sorted((s.processed.sharpness, s.item.name) for s in seen if _sharp_lit(s.item))
    blurry = sorted(
        ((s.processed.sharpness, s.item.name) for s in seen if _blurry(s.item)), reverse=True
    )
    low = ", ".join(f"{name} {score:.0f}" for score, name in sharp[:3])
    high = ", ".join(f"{name} {score:.0f}" for score, name in blurry[:3])
    return f"sharpness of the lowest sharp: {low}; of the highest blurry: {high}"


def hint_figures(seen: list[Seen]) -> list[Figure]:
    figures = _hint_figures(
        seen, "blur", Hint.BLURRY, _blurry, _sharp_lit, "blurry photos", "sharp well-lit photos"
    )
    figures += _hint_figures(
        seen, "dark", Hint.DARK, _dark, _well_lit, "dark photos", "well-lit photos"
    )
    figures += _hint_figures(
        seen, "burnt", Hint.BURNT, _burnt, _well_lit, "burnt photos", "well-lit photos"
    )
    soft = [s for s in seen if s.item.has(photoset.SOFT, photoset.WELL_LIT)]
    dim = [s for s in seen if s.item.has(photoset.DIM)]
    bright = [s for s in seen if s.item.has(photoset.BRIGHT)]
    figures.append(
        Figure(
            "coach: borderline photos hinted (soft: blurry; dim: dark; bright: burnt)",
            f"soft {rate(sum(s.hint is Hint.BLURRY for s in soft), len(soft))}, "
            f"dim {rate(sum(s.hint is Hint.DARK for s in dim), len(dim))}, "
            f"bright {rate(sum(s.hint is Hint.BURNT for s in bright), len(bright))}",
            "no label either way",
            None,
            "context",
            None,
            "by change: "
            + (
                ", ".join(
                    _by_change(seen, photoset.SOFT, Hint.BLURRY)
                    + _by_change(seen, photoset.DIM, Hint.DARK)
                    + _by_change(seen, photoset.BRIGHT, Hint.BURNT)
                )
                or "none in the set"
            ),
        )
    )
    blur = _sweep(
        seen, "blur", Hint.BLURRY, _blurry, _sharp_lit, "blurry_below", BLURRY_BELOW, photoset.SOFT
    )
    blur.note += "; " + _extremes(seen)
    figures.append(blur)
    figures.append(
        _sweep(seen, "dark", Hint.DARK, _dark, _well_lit, "dark_below", DARK_BELOW, photoset.DIM)
    )
    figures.append(
        _sweep(
            seen,
            "burnt",
            Hint.BURNT,
            _burnt,
            _well_lit,
            "burnt_above",
            BURNT_ABOVE,
            photoset.BRIGHT,
        )
    )
    return figures


# --- faces --------------------------------------------------------------------------------


BANDS = ((40, 48), (48, 60), (60, 100), (100, 151))
"""Widths of the other faces, [low, high) px, reported apart."""


def _bands() -> dict[str, list[int]]:
    return {f"{low}-{high - 1}": [0, 0] for low, high in BANDS}


@dataclass
class FaceCounts:
    """What the face search found on a set of photos, against their true boxes."""

    apprentices: int = 0
    apprentice_found: int = 0
    apprentice_first: int = 0
    others: int = 0
    others_found: int = 0
    empty: int = 0
    """Face-free or single-face photos."""
    false_people: int = 0
    bands: dict[str, list[int]] = field(default_factory=_bands)
    """Per width band: [found, of]."""
    missed: list[str] = field(default_factory=list)
    false_names: list[str] = field(default_factory=list)


def count_faces(seen: Sequence[tuple[Item, tuple[Face, ...]]]) -> FaceCounts:
    counts = FaceCounts()
    for item, faces in seen:
        boxes = [f.box for f in faces]
        truths = ([item.apprentice_box] if item.apprentice_box else []) + list(item.other_boxes)
        if item.apprentice_box:
            counts.apprentices += 1
            if any(matches(b, item.apprentice_box) for b in boxes):
                counts.apprentice_found += 1
            else:
                counts.missed.append(f"{item.name} apprentice")
            if boxes and matches(boxes[0], item.apprentice_box):
                counts.apprentice_first += 1
        for true in item.other_boxes:
            width = true[2] - true[0]
            if width < 40:
                continue
            found = any(matches(b, true) for b in boxes)
            counts.others += 1
            counts.others_found += found
            for a, b in BANDS:
                if a <= width < b:
                    band = counts.bands[f"{a}-{b - 1}"]
                    band[0] += found
                    band[1] += 1
            if not found:
                counts.missed.append(f"{item.name} {width} px")
        if not item.other_boxes:
            counts.empty += 1
            if any(not any(matches(b, t) for t in truths) for b in boxes):
                counts.false_people += 1
                counts.false_names.append(item.name)
    return counts


def face_figures(seen: list[Seen]) -> list[Figure]:
    normal = [s for s in seen if s.item.has(photoset.SHARP, photoset.WELL_LIT)]
    counts = count_faces([(s.item, s.processed.faces) for s in normal])
    damaged = [
        s
        for s in seen
        if s.item.apprentice_box and not s.item.has(photoset.SHARP, photoset.WELL_LIT)
    ]
    damaged_found = sum(
        any(matches(f.box, s.item.apprentice_box) for f in s.processed.faces)
        for s in damaged
        if s.item.apprentice_box
    )
    no_face = [s for s in normal if s.item.has(photoset.NO_FACE)]
    with_face = [s for s in normal if s.item.has(photoset.FACE)]
    bands = ", ".join(f"{k} px {rate(*v)}" for k, v in counts.bands.items())
    return [
        Figure(
            "faces: apprentice's face found",
            rate(counts.apprentice_found, counts.apprentices),
            f"{counts.apprentices} sharp well-lit composites",
            None,
            f">= {APPRENTICE:.0%}",
            _share(counts.apprentice_found, counts.apprentices) >= APPRENTICE,
            f"faces 25-45 % of the short side; on the blurred, dark and burnt copies: "
            f"{rate(damaged_found, len(damaged))}",
        ),
        Figure(
            "faces: apprentice's face ranked first",
            rate(counts.apprentice_first, counts.apprentices),
            f"{counts.apprentices} sharp well-lit composites",
            None,
            f">= {APPRENTICE:.0%}",
            _share(counts.apprentice_first, counts.apprentices) >= APPRENTICE,
            "by_rank: the largest, or the most central of those >= 80 % of it",
        ),
        Figure(
            "faces: other faces >= 40 px found",
            rate(counts.others_found, counts.others),
            f"{counts.others} faces 40-150 px (log-uniform)",
            None,
            f">= {OTHERS:.0%}",
            _share(counts.others_found, counts.others) >= OTHERS if counts.others else None,
            f"by width: {bands}; missed: {', '.join(counts.missed) or 'none'}",
        ),
        Figure(
            "faces: false people on face-free and single-face photos",
            rate(counts.false_people, counts.empty),
            f"{counts.empty} photos, textures, composites of one",
            None,
            f"<= {FALSE_PEOPLE:.0%}",
            _share(counts.false_people, counts.empty) <= FALSE_PEOPLE,
            f"a face found where there is none: {', '.join(counts.false_names) or 'none'}",
        ),
        Figure(
            "faces: « no face » hint",
            rate(sum(s.hint is Hint.NO_FACE for s in no_face), len(no_face))
            + " of face-free photos",
            f"{rate(sum(s.hint is Hint.NO_FACE for s in with_face), len(with_face))} "
            "of photos with the apprentice",
            None,
            "context",
            None,
            "small-face hints on photos with the apprentice (25-45 %): "
            + rate(sum(s.hint is Hint.SMALL_FACE for s in with_face), len(with_face)),
        ),
    ]


def _decoded(jpeg: bytes) -> Image.Image:
    with Image.open(io.BytesIO(jpeg)) as img:
        return img.convert("RGB")


def blur_figures(seen: list[Seen]) -> list[Figure]:
    """The other people's true boxes hidden as the bot hides them; searched again."""
    import numpy
    from skimage.metrics import structural_similarity

    groups = [s for s in seen if s.item.has(photoset.SHARP, photoset.WELL_LIT, photoset.BYSTANDERS)]
    hidden = still = 0
    scores: list[float] = []
    apprentice_psnr: list[float] = []
    for s in groups:
        faces = tuple(Face.of_box(box) for box in s.item.other_boxes)
        jpeg, _ = hide_faces(s.processed.jpeg, faces, HIDE_QUALITY)
        before, after = _decoded(s.processed.jpeg), _decoded(jpeg)
        found = [f.box for f in find_faces(after, OPTIONS.faces_min_px or 40)]
        for box in s.item.other_boxes:
            hidden += 1
            region = covered(Face.of_box(box), after.size)
            still += any(matches(b, box) or matches(b, region) for b in found)
            a = numpy.asarray(before.crop(box).convert("L"))
            b = numpy.asarray(after.crop(box).convert("L"))
            scores.append(float(structural_similarity(a, b, data_range=255)))
        if s.item.apprentice_box:
            a = numpy.asarray(before.crop(s.item.apprentice_box), dtype=numpy.float64)
            b = numpy.asarray(after.crop(s.item.apprentice_box), dtype=numpy.float64)
            mse = float(numpy.mean((a - b) ** 2))
            apprentice_psnr.append(99.0 if mse == 0 else 10 * numpy.log10(255**2 / mse))
    gone = hidden - still
    worst = max(scores) if scores else 0.0
    return [
        Figure(
            "faces: hidden faces no longer found",
            rate(gone, hidden),
            f"{hidden} faces hidden on {len(groups)} photos",
            None,
            "100 %",
            gone == hidden if hidden else None,
            "hide_faces on the true boxes (q85), find_faces again at faces_min_px "
            f"{OPTIONS.faces_min_px}: a detection matching the box or its widened region",
        ),
        Figure(
            "faces: SSIM of hidden faces against before",
            f"median {statistics.median(scores):.2f}, max {worst:.2f}" if scores else "none",
            "1.00 unchanged",
            None,
            f"max < {SSIM_MAX}",
            worst < SSIM_MAX if scores else None,
            "grayscale, the true box; the apprentice's face after the same re-encoding: "
            f"PSNR min {min(apprentice_psnr):.1f} dB"
            if apprentice_psnr
            else "grayscale, the true box",
        ),
    ]


# --- the face search's size: what it finds and costs ---------------------------------------


def search_sizes(seen: list[Seen], sizes: Sequence[int]) -> dict[int, FaceCounts]:
    """What the search finds at each ``faces_min_px``: the pipeline's own faces at the
    default, :func:`find_faces` on its output JPEG for the others."""
    normal = [s for s in seen if s.item.has(photoset.SHARP, photoset.WELL_LIT)]
    results: dict[int, FaceCounts] = {}
    for size in sizes:
        pairs = []
        for s in normal:
            faces = (
                s.processed.faces
                if size == OPTIONS.faces_min_px
                else find_faces(_decoded(s.processed.jpeg), size)
            )
            pairs.append((s.item, faces))
        results[size] = count_faces(pairs)
    return results


def cost_figures(
    quick: bool, repeat: int, found: dict[int, FaceCounts], sizes: Sequence[int]
) -> list[Figure]:
    width, height = (1600, 1200) if quick else (4000, 3000)
    data = photo(width, height)
    label = "2 MP" if quick else "12 MP"
    runs: dict[str, Callable[[], object]] = {
        "none": functools.partial(process_image, data, ImageOptions(branding=False))
    }
    for size in sizes:
        options = ImageOptions(branding=False, faces_min_px=size)
        runs[str(size)] = functools.partial(process_image, data, options)
    samples = alternate(runs, repeat=repeat)
    without = median_ms(samples["none"])
    figures = []
    for size in sizes:
        with_ms = median_ms(samples[str(size)])
        added = with_ms - without
        counts = found.get(size)
        finds = ""
        if counts is not None:
            bands = ", ".join(f"{k} px {rate(*v)}" for k, v in counts.bands.items())
            finds = (
                f"; on the set: apprentice {rate(counts.apprentice_found, counts.apprentices)}, "
                f"others >= 40 px {rate(counts.others_found, counts.others)} ({bands}), "
                f"false people {rate(counts.false_people, counts.empty)}"
                f" ({', '.join(counts.false_names) or 'none'})"
            )
        default = size == COACH.faces_min_px
        figures.append(
            Figure(
                f"faces: search cost at {label}, faces_min_px {size}",
                f"+{added:.0f} ms ({with_ms:.0f} ms)",
                f"{without:.0f} ms without",
                with_ms / without,
                f"<= {COST_MS:.0f} ms added" if default else "context",
                added <= COST_MS if default else None,
                f"process_image, branding off, output 1200x1600; median of {repeat}, "
                f"interleaved{finds}",
            )
        )
    return figures


def run(quick: bool = False) -> list[Figure]:
    items = photoset.labelled(quick)
    seen = see(items)
    sizes = tuple(s for s in SEARCH_SIZES if s >= COACH.faces_min_px) if quick else SEARCH_SIZES
    # Quick: what the other sizes find is not searched again (seconds per size).
    found = search_sizes(seen, (COACH.faces_min_px,) if quick else sizes)
    figures = hint_figures(seen) + face_figures(seen) + blur_figures(seen)
    figures += cost_figures(quick, 3 if quick else 9, found, sizes)
    return figures
