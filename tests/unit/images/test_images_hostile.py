"""The photo pipeline against hostile uploads (issue #12, "bounded cost for any upload").

Every file of the generated corpus (:mod:`tests.support.hostile`) must give its expected outcome;
the worst of them are measured in a child process of their own and must stay under
200 MB of added memory. Then one test per problem of the issue, each failing on the
pipeline as it was: the progressive scan bomb, full-size alpha and lossless decodes,
truncated files published as grey or black photos, HEIC.

Time is asserted only as a guard against the pathological: a file costing more CPU than
50 full decodes of a 12 MP JPEG on this machine (and at least 10 s) means a guard failed;
the hostile files here cost milliseconds, the largest accepted ones about a second.
"""

from __future__ import annotations

import io
import math
import time
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from benchmarks.hostile import MEMORY_LIMIT_MB, run_isolated
from bot.config import CoachSettings
from bot.photos.limits import MAX_JPEG_SCAN_PIXELS, MAX_JPEG_SCANS
from bot.photos.pipeline import ImageOptions, process_image
from bot.photos.refusals import ImageRejected, NotAnImage, TooManyPixels
from tests.support import hostile, imagegen

# The coach on, as configured by default: its face search is within the bounds too.
PLAIN = ImageOptions(branding=False, faces_min_px=CoachSettings().faces_min_px)
UNHURRIED_S = 300.0
"""Memory is checked here, not time: a busy CI machine must not turn a run into a timeout
(time limits: ``pathological_cpu_seconds`` in CPU time, and ``python -m benchmarks hostile``)."""
# The corpus takes 8 s to generate (once: the file runs on one worker).
pytestmark = pytest.mark.slow
HEAVY = [case for case in hostile.CASES if case.heavy]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    return {case.name: path for case, path in hostile.generate(folder)}


@pytest.fixture(scope="module")
def pathological_cpu_seconds() -> float:
    """CPU time no file may take: 50 full decodes of a 12 MP JPEG here, at least 10 s."""
    data = imagegen.progressive_jpeg(imagegen.gradient(4000, 3000))
    samples = []
    for _ in range(3):
        started = time.process_time()
        Image.open(io.BytesIO(data)).load()
        samples.append(time.process_time() - started)
    return max(10.0, 50 * min(samples))


def outcome_of(data: bytes) -> str:
    try:
        result = process_image(data, PLAIN)
    except ImageRejected as rejection:
        return rejection.code
    output = Image.open(io.BytesIO(result.jpeg))
    assert output.format == "JPEG" and not output.getexif()
    return hostile.ACCEPTED


def psnr(a: Image.Image, b: Image.Image) -> float:
    stat = ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB")))
    mse = sum(stat.sum2) / (len(stat.sum2) * a.width * a.height)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


# --- the whole corpus ----------------------------------------------------------------------


@pytest.mark.parametrize("case", hostile.CASES, ids=lambda case: case.name)
def test_every_file_gives_its_expected_outcome(
    case: hostile.Case, corpus: dict[str, Path], pathological_cpu_seconds: float
):
    data = corpus[case.name].read_bytes()
    started = time.process_time()
    outcome = outcome_of(data)
    spent = time.process_time() - started
    assert outcome == case.expected, case.why
    assert spent < pathological_cpu_seconds, f"{spent:.1f} s of CPU: a guard failed"


@pytest.mark.parametrize("case", HEAVY, ids=lambda case: case.name)
def test_worst_files_stay_under_the_memory_bound(case: hostile.Case, corpus: dict[str, Path]):
    run = run_isolated(corpus[case.name], expected=case.expected, limit=UNHURRIED_S)
    assert run.outcome == case.expected, case.why
    assert run.peak_mb <= MEMORY_LIMIT_MB, f"{case.name}: {run.peak_mb:.0f} MB added"


# --- 1. progressive scan bomb --------------------------------------------------------------


def test_scan_bomb_is_refused_before_decoding(corpus: dict[str, Path]):
    # 3,000 scans of a 12 MP image: tens of seconds of CPU if decoded (the issue's
    # 7000x7000 one took 54 s). Refused from the marker walk: no image memory allocated.
    for name in ("scan-bomb.jpg", "scan-bomb-hidden.jpg"):
        data = corpus[name].read_bytes()
        before = Image.core.get_stats()["new_count"]
        with pytest.raises(NotAnImage, match="scans"):
            process_image(data, PLAIN)
        assert Image.core.get_stats()["new_count"] == before


def test_scan_limit_leaves_real_progressive_jpegs_alone():
    assert process_image(imagegen.progressive_jpeg(imagegen.scene(1200, 900)), PLAIN)
    assert process_image(hostile.scan_bomb(1000, 750, MAX_JPEG_SCANS), PLAIN)
    with pytest.raises(NotAnImage):
        process_image(hostile.scan_bomb(1000, 750, MAX_JPEG_SCANS + 1), PLAIN)


def test_a_large_jpeg_gets_fewer_scans(corpus: dict[str, Path]):
    # 40 scans of 49 MP: under the scan count, but ~4 s of CPU on a small server.
    with pytest.raises(NotAnImage, match="too much to decode"):
        process_image(corpus["scans-49mp-40.jpg"].read_bytes(), PLAIN)
    width, height = 4000, 3000
    scans = MAX_JPEG_SCAN_PIXELS // (width * height) - 10
    assert scans > 10  # the standard progressive script's, with room
    assert process_image(hostile.scan_bomb(width, height, min(scans, MAX_JPEG_SCANS)), PLAIN)


# --- 2. full-size alpha and lossless decodes -----------------------------------------------


@pytest.mark.parametrize("name", ["alpha-49mp.png", "lossless-49mp.webp"])
def test_49mp_lossless_upload_stays_within_the_memory_bound(name: str, corpus: dict[str, Path]):
    # The pipeline as it was accepted both, for +750 MB and +1.1 GB.
    run = run_isolated(corpus[name], limit=UNHURRIED_S)
    assert run.outcome in (hostile.ACCEPTED, "too_many_pixels")
    assert run.peak_mb <= MEMORY_LIMIT_MB


def test_decode_cost_refusal_names_the_limit_that_applied(corpus: dict[str, Path]):
    with pytest.raises(TooManyPixels) as caught:
        process_image(corpus["alpha-49mp.png"].read_bytes(), PLAIN)
    assert (caught.value.width, caught.value.height) == (7000, 7000)
    assert caught.value.max_pixels == 40_000_000  # 160 MB at 4 bytes per pixel


def test_alpha_is_flattened_in_strips_exactly_as_the_whole_image():
    # 3300x2100 RGBA: reduced by 2 in strips of ~160 rows, then resampled.
    img = imagegen.gradient(3300, 2100, alpha=True)
    data = hostile.save(img, "PNG")
    white = Image.new("RGBA", img.size, (255, 255, 255, 255))
    whole = Image.alpha_composite(white, img).convert("RGB")
    expected = whole.resize((1600, 1018), Image.Resampling.BICUBIC, reducing_gap=1.0)
    result = process_image(data, PLAIN)
    assert (result.width, result.height) == expected.size
    assert psnr(Image.open(io.BytesIO(result.jpeg)), expected) > 40  # JPEG q85 only


# --- 3. truncated data ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: imagegen.cut_keeping_end(imagegen.photo_jpeg(1600, 1200), 0.4),
        lambda: imagegen.cut_keeping_end(imagegen.photo_jpeg(4000, 3000), 0.7),  # drafted
        lambda: imagegen.cut_keeping_end(imagegen.cmyk_jpeg(800, 600), 0.5),
        lambda: imagegen.cut_keeping_end(imagegen.gray_jpeg(800, 600), 0.5),
        lambda: imagegen.cut_keeping_end(
            imagegen.progressive_jpeg(imagegen.scene(1600, 1200)), 0.02
        ),
        lambda: hostile.cut_inside_first_scan(imagegen.photo_jpeg(1600, 1200), 20),
    ],
    ids=["baseline", "drafted", "cmyk", "gray", "progressive-dc-scan", "first-row"],
)
def test_jpeg_cut_short_with_its_end_marker_is_refused(make):
    with pytest.raises(NotAnImage, match="ends early"):
        process_image(make(), PLAIN)


@pytest.mark.parametrize("interlaced", [False, True], ids=["plain", "interlaced"])
def test_png_whose_stream_ends_before_the_last_row_is_refused(interlaced: bool):
    data = imagegen.png_short_stream(imagegen.scene(800, 600), 400, interlaced=interlaced)
    with pytest.raises(NotAnImage, match="ends before the last row"):
        process_image(data, PLAIN)


@pytest.mark.parametrize(
    "make",
    [
        lambda: imagegen.white_wall_jpeg(1600, 1200),
        lambda: imagegen.white_wall_jpeg(4000, 3000, seed=1),  # drafted
        lambda: imagegen.screenshot_png(1080, 2340),  # black bar: zero bytes, complete
        lambda: imagegen.with_icc(800, 600, imagegen.srgb_profile()),  # all mid-grey
        lambda: imagegen.progressive_jpeg(Image.new("RGB", (800, 600), (128, 128, 128))),
    ],
    ids=["white-wall", "white-wall-drafted", "screenshot-black-bar", "grey", "grey-progressive"],
)
def test_complete_images_with_flat_areas_are_accepted(make):
    result = process_image(make(), PLAIN)
    assert result.width >= 600


def test_a_truncated_photo_was_grey_before(corpus: dict[str, Path]):
    # What the issue saw: the cut photo decoded without an error, its lower part grey.
    img = Image.open(io.BytesIO(corpus["cut-keeping-end.jpg"].read_bytes()))
    img.load()
    assert img.crop((0, 1100, 1600, 1200)).getextrema() == ((128, 128),) * 3


# --- 5. HEIC --------------------------------------------------------------------------------


def test_heic_is_accepted_upright_and_without_metadata():
    data = imagegen.heic_photo(1000, 750, orientation=6, gps=True, xmp=True, marker=True)
    source = Image.open(io.BytesIO(data))
    assert source.format == "HEIF" and source.info.get("exif") and source.info.get("xmp")
    result = process_image(data, ImageOptions(band_text="Fiers d'être apprentis"))
    assert result.format == "HEIF"
    assert (result.original_width, result.original_height) == (750, 1000)
    img = Image.open(io.BytesIO(result.jpeg))
    assert img.size == (750, 1000)
    assert img.getpixel((20, 20))[0] > 200 and img.getpixel((20, 20))[1] < 60  # red marker
    assert not img.getexif()
    assert not {"exif", "xmp", "icc_profile", "XML:com.adobe.xmp"} & img.info.keys()
    markers = {marker for marker, _ in imagegen.jpeg_segments(result.jpeg)}
    assert not markers & {0xE1, 0xE2, 0xFE}
    for needle in (b"Exif", b"Phonix", b"GPS", b"ns.adobe.com"):
        assert needle not in result.jpeg


def test_heic_declaring_a_smaller_size_than_it_codes_is_refused(corpus: dict[str, Path]):
    with pytest.raises(NotAnImage):
        process_image(corpus["lying-size.heic"].read_bytes(), PLAIN)


# --- options --------------------------------------------------------------------------------


def test_decode_budget_is_validated_and_configurable():
    with pytest.raises(ValueError):
        ImageOptions(max_decode_bytes=0)
    small = ImageOptions(branding=False, max_decode_bytes=5_000_000)
    with pytest.raises(TooManyPixels):
        process_image(imagegen.screenshot_png(1080, 2340), small)  # 2.5 MP x 4 bytes
