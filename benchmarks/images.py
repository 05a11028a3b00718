"""Figure 1: the image pipeline against a naive Pillow pipeline, side by side.

Inputs are generated photo-like JPEGs stored sideways with EXIF orientation 6, as phones
write them: 1280 px (what Telegram sends for a photo), 12 MP and 48 MP (sent as
documents). Both pipelines output the same long side (the default 1600; the 1280 px
input is not upscaled by either).

The bot runs the pipeline in a worker process (``bot.photos.workers``): the "in a worker"
lines time it there, the bytes' way to the worker and the result's way back included,
against the naive pipeline run here, interleaved.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageOps, ImageStat

from benchmarks.common import CACHE_DIR, Figure, alternate, median_ms
from bot.photos import pipeline
from bot.photos.encode import encode_jpeg
from bot.photos.fingerprints import dhash
from bot.photos.pipeline import ImageOptions, process_image
from bot.photos.sharpness import sharpness
from bot.photos.workers import ImageWorkers, memory_limit

ROOT = Path(__file__).resolve().parent.parent
LONG_SIDE = ImageOptions().long_side
PLAIN = ImageOptions(branding=False)
BRANDED = ImageOptions(band_text="Fiers d'être apprentis")


@dataclass(frozen=True)
class Input:
    label: str
    width: int  # stored (sensor) size; displayed turned a quarter (orientation 6)
    height: int
    speed_target: float  # minimum speed-up over the naive pipeline


FULL = (
    Input("1280 px photo", 1280, 960, 1.0),
    Input("12 MP document", 4000, 3000, 3.0),
    Input("48 MP document", 8000, 6000, 3.0),
)
QUICK = (
    Input("640 px photo", 640, 480, 1.0),
    Input("2 MP document", 1600, 1200, 3.0),
)


def photo(width: int, height: int) -> bytes:
    """A generated camera-like JPEG (q90, orientation 6), cached on disk."""
    path = CACHE_DIR / f"photo-{width}x{height}-o6-q90.jpg"
    if path.exists():
        return path.read_bytes()
    from tests.support import imagegen  # the test suite's generator: one source of test photos

    data = imagegen.photo_jpeg(width, height, orientation=6, quality=90, seed=width)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return data


def core(data: bytes, options: ImageOptions = PLAIN) -> bytes:
    """What :func:`process_image` does minus dhash, sharpness and branding: the very
    functions it calls (checks, draft decode, resize, rotation, sRGB, clean encode)."""
    img = pipeline._decode(data, options)[0]
    return encode_jpeg(img, options.jpeg_quality)


def naive(data: bytes, long_side: int = LONG_SIDE) -> bytes:
    """The obvious Pillow pipeline: full decode, rotate, convert, Lanczos thumbnail, q85."""
    img = Image.open(io.BytesIO(data))
    img = ImageOps.exif_transpose(img)
    img = img.convert("RGB")
    img.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def psnr(a: bytes, b: bytes) -> tuple[float, str]:
    """PSNR in dB between two decoded JPEGs (b resized to a's size if they differ)."""
    first = Image.open(io.BytesIO(a)).convert("RGB")
    second = Image.open(io.BytesIO(b)).convert("RGB")
    note = ""
    if first.size != second.size:
        note = f"sizes differ {first.size} vs {second.size}; resized"
        second = second.resize(first.size, Image.Resampling.LANCZOS)
    stat = ImageStat.Stat(ImageChops.difference(first, second))
    mse = sum(stat.sum2) / (len(stat.sum2) * first.width * first.height)
    return (math.inf if mse == 0 else 10 * math.log10(255**2 / mse)), note


_PEAK_SCRIPT = """
import gc, json, sys
from pathlib import Path
from benchmarks.common import proc_status
data = Path(sys.argv[2]).read_bytes()
from PIL import Image, ImageOps
from bot.photos.pipeline import ImageOptions, process_image
from benchmarks.images import naive
gc.collect()
before = proc_status()["VmHWM"]
if sys.argv[1] == "naive":
    naive(data)
else:
    process_image(data, ImageOptions(branding=False))  # the whole pipeline, hash included
after = proc_status()["VmHWM"]
print(json.dumps({"peak_increase_kb": after - before}))
"""


def peak_increase_mb(kind: str, path: Path) -> float:
    """Peak RSS increase of one pipeline run in a fresh interpreter (VmHWM after - before).

    A fresh process per measurement: peak RSS cannot be reset, and tracemalloc does not
    see all of Pillow's C allocations. VmHWM rather than ``ru_maxrss``: the latter keeps
    the peak of the forking parent across ``exec``, so a big parent hides the child's.
    """
    result = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, kind, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])["peak_increase_kb"] / 1024


def core_jpeg(data: bytes) -> bytes:
    """:func:`core` with the default options: what a worker is asked to do here."""
    return core(data)


async def in_worker(workers: ImageWorkers, data: bytes, repeat: int) -> tuple[float, float]:
    """Median ms of :func:`core` in a worker (transfer included) and of :func:`naive`
    here, interleaved; the worker warmed up first (its start is not a photo's cost)."""
    await workers.run(core_jpeg, data)
    naive(data)
    remote: list[float] = []
    local: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        await workers.run(core_jpeg, data)
        remote.append(time.perf_counter() - start)
        start = time.perf_counter()
        naive(data)
        local.append(time.perf_counter() - start)
    return median_ms(remote), median_ms(local)


def _worker_figure(item: Input, worker_ms: float, naive_ms: float, repeat: int) -> Figure:
    speed_up = naive_ms / worker_ms
    # A 1280 px photo costs ~10 ms: the round trip to the worker is a visible share of
    # it, a context figure (the capacity figures show what it costs the bot as a whole).
    target = item.speed_target if item.speed_target > 1 else None
    return Figure(
        f"image {item.label} in a worker",
        f"{worker_ms:.1f} ms",
        f"{naive_ms:.1f} ms naive",
        speed_up,
        f">= {target:.1f}x" if target else "context",
        speed_up >= target if target else None,
        f"median of {repeat}, interleaved; the pipeline of the line above in a worker "
        "process, sending the upload and receiving the JPEG included; naive in this process",
    )


async def run(quick: bool = False) -> list[Figure]:
    inputs = QUICK if quick else FULL
    repeat = 3 if quick else 9
    figures: list[Figure] = []
    workers = ImageWorkers(memory_limit(PLAIN), workers=1)
    try:
        for item in inputs:
            data = photo(item.width, item.height)
            figures += _figures(item, data, repeat)
            figures.append(_worker_figure(item, *await in_worker(workers, data, repeat), repeat))
    finally:
        await workers.close()
    largest = inputs[-1]
    figures.append(
        _peak_figure(largest, CACHE_DIR / f"photo-{largest.width}x{largest.height}-o6-q90.jpg")
    )
    return figures


def _figures(item: Input, data: bytes, repeat: int) -> list[Figure]:
    """Speed, quality and the cost of the steps beyond resizing, in this process."""
    figures: list[Figure] = []
    samples = alternate(
        {
            "naive": lambda d=data: naive(d),
            "core": lambda d=data: core(d),
            "plain": lambda d=data: process_image(d, PLAIN),
            "branded": lambda d=data: process_image(d, BRANDED),
        },
        repeat=repeat,
    )
    naive_ms, core_ms, plain_ms, branded_ms = (median_ms(samples[k]) for k in samples)
    speed_up = naive_ms / core_ms
    plain = process_image(data, PLAIN)
    quality, size_note = psnr(core(data), naive(data))
    figures.append(
        Figure(
            f"image {item.label}",
            f"{core_ms:.1f} ms",
            f"{naive_ms:.1f} ms naive",
            speed_up,
            f">= {item.speed_target:.1f}x",
            speed_up >= item.speed_target,
            f"median of {repeat}, interleaved; output {plain.width}x{plain.height}, "
            f"JPEG draft 1/{plain.draft_scale}; branding, dhash, sharpness off (next line)",
        )
    )
    figures.append(
        Figure(
            f"image {item.label} PSNR",
            f"{quality:.1f} dB",
            "naive output",
            None,
            ">= 35 dB",
            quality >= 35,
            size_note,
        )
    )
    # What the steps beyond resizing cost, on the output-size image.
    small = Image.open(io.BytesIO(plain.jpeg)).convert("RGB")
    extras = alternate(
        {"dhash": lambda s=small: dhash(s), "sharpness": lambda s=small: sharpness(s)},
        repeat=repeat,
    )
    figures.append(
        Figure(
            f"image {item.label} + hash, sharpness, branding",
            f"{branded_ms:.1f} ms",
            f"{naive_ms:.1f} ms naive",
            naive_ms / branded_ms,
            "context",
            None,
            f"process_image: {plain_ms:.1f} ms without branding, {branded_ms:.1f} ms "
            f"with the band; dhash {median_ms(extras['dhash']):.1f} ms, sharpness "
            f"{median_ms(extras['sharpness']):.1f} ms, branding "
            f"{branded_ms - plain_ms:+.1f} ms",
        )
    )
    return figures


def _peak_figure(item: Input, path: Path) -> Figure:
    """The largest input's peak memory, ours and naive, each in a fresh process."""
    naive_mb = peak_increase_mb("naive", path)
    ours_mb = peak_increase_mb("product", path)
    share = ours_mb / naive_mb if naive_mb > 0 else math.inf
    return Figure(
        f"image {item.label} peak memory",
        f"{ours_mb:.0f} MB",
        f"{naive_mb:.0f} MB naive",
        1 / share if share else None,
        "<= 40 % of naive",
        share <= 0.40,
        f"{share:.0%} of naive; peak RSS increase in a fresh process each (VmHWM)",
    )
