"""``python -m benchmarks hostile [--corpus DIR]``: the pipeline's cost on hostile uploads.

Every file of DIR (by default the corpus of :mod:`tests.support.hostile`, generated into a
temporary folder) goes through :func:`bot.photos.pipeline.process_image` in a fresh child process
forked from a warm forkserver, with a wall-time limit, so a pathological file can neither
hang the run nor hide its memory in a shared heap. For each file: the outcome (accepted,
the refusal's code, timeout, crash or unexpected error), the wall time of the call and its
peak added memory (the child's VmHWM after the call minus its resident memory before).

Not a figure of ``python -m benchmarks`` (it checks bounds, it does not compare speeds):
a subcommand of its own, like ``chaos``. Exit status 1 when a target is missed: an
unexpected error or crash, a timeout, a file over 10 s or over 200 MB, or (for files of
the generated corpus) an outcome other than the expected one.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import io
import multiprocessing
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from benchmarks.common import machine

TIME_LIMIT_S = 10.0
MEMORY_LIMIT_MB = 200.0
TIMEOUT = "timeout"
CRASH = "crash"
UNEXPECTED = "error"  # an exception other than a refusal: "error: ValueError"


@dataclass(frozen=True)
class Run:
    """One file through the pipeline in a child process of its own."""

    name: str
    outcome: str
    seconds: float
    peak_mb: float
    expected: str | None = None

    @property
    def unexpected_error(self) -> bool:
        return self.outcome == CRASH or self.outcome.startswith(UNEXPECTED)

    @property
    def as_expected(self) -> bool:
        return self.expected is None or self.outcome == self.expected


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def _reset_peak() -> None:
    """Start VmHWM again from the current resident size (Linux >= 4.0), where allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _warm_up() -> None:
    """Load what every upload uses (codecs, the HEIF plugin, the sRGB profile) first, so
    the measurement is the file's cost and not the first upload's; the coach is on, as by
    default, so OpenCV is loaded too."""
    from PIL import Image

    from bot.config import CoachSettings
    from bot.photos.pipeline import ImageOptions, process_image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 140, 200)).save(out, "JPEG")
    process_image(
        out.getvalue(), ImageOptions(branding=False, faces_min_px=CoachSettings().faces_min_px)
    )
    from pillow_heif import register_heif_opener

    register_heif_opener()


def _measure(path: str, connection: Connection) -> None:
    """Child process: one ``process_image`` call, its outcome, time and peak added memory."""
    from bot.config import CoachSettings
    from bot.photos.pipeline import ImageOptions, process_image
    from bot.photos.refusals import ImageRejected

    _warm_up()
    data = Path(path).read_bytes()
    gc.collect()
    _reset_peak()
    before = _status_kb("VmRSS")
    started = time.perf_counter()
    try:
        process_image(data, ImageOptions(branding=False, faces_min_px=CoachSettings().faces_min_px))
        outcome = "accepted"
    except ImageRejected as rejection:
        outcome = rejection.code
    except Exception as exc:  # what the pipeline promises never happens
        outcome = f"{UNEXPECTED}: {type(exc).__name__}"
    elapsed = time.perf_counter() - started
    peak = max(0, _status_kb("VmHWM") - before)
    connection.send((outcome, elapsed, peak / 1024))


_context: multiprocessing.context.ForkServerContext | None = None


def _forkserver() -> multiprocessing.context.ForkServerContext:
    """A forkserver that has imported Pillow and the pipeline: each child starts warm in
    milliseconds and owns nothing of the parent's memory."""
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(["bot.photos.pipeline", "benchmarks.hostile"])
    return _context


def run_isolated(
    path: Path,
    *,
    expected: str | None = None,
    limit: float = TIME_LIMIT_S,
    name: str | None = None,
) -> Run:
    """``process_image`` on one file in a fresh child; killed after ``limit`` seconds."""
    name = name or path.name
    context = _forkserver()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_measure, args=(str(path), sender), daemon=True)
    started = time.perf_counter()
    child.start()
    sender.close()
    try:
        if receiver.poll(limit):
            outcome, seconds, peak_mb = receiver.recv()
            return Run(name, outcome, seconds, peak_mb, expected)
        outcome = TIMEOUT if child.is_alive() else CRASH
        return Run(name, outcome, time.perf_counter() - started, 0.0, expected)
    except EOFError:  # the child died before sending anything
        return Run(name, CRASH, time.perf_counter() - started, 0.0, expected)
    finally:
        child.join(1.0)
        if child.is_alive():
            child.kill()
            child.join()
        receiver.close()


def run_corpus(folder: Path) -> list[Run]:
    """Every file under ``folder`` (subfolders included), one child each, in name order;
    expectations for the files named like a case of :mod:`tests.support.hostile`."""
    from tests.support import hostile

    cases = hostile.by_name()
    runs = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = str(path.relative_to(folder))
        case = cases.get(name)
        expected = case.expected if case else None
        runs.append(run_isolated(path, expected=expected, name=name))
    return runs


@dataclass(frozen=True)
class Target:
    name: str
    value: str
    met: bool


def targets(runs: list[Run]) -> list[Target]:
    slowest = max(runs, key=lambda run: run.seconds)
    hungriest = max(runs, key=lambda run: run.peak_mb)
    errors = [run for run in runs if run.unexpected_error]
    timeouts = [run for run in runs if run.outcome == TIMEOUT]
    judged = [run for run in runs if run.expected is not None]
    matching = [run for run in judged if run.as_expected]
    return [
        Target("unexpected errors or crashes", str(len(errors)), not errors),
        Target(f"timeouts ({TIME_LIMIT_S:.0f} s)", str(len(timeouts)), not timeouts),
        Target(
            f"worst time <= {TIME_LIMIT_S:.0f} s",
            f"{slowest.seconds:.2f} s ({slowest.name})",
            slowest.seconds <= TIME_LIMIT_S,
        ),
        Target(
            f"worst peak added memory <= {MEMORY_LIMIT_MB:.0f} MB",
            f"{hungriest.peak_mb:.0f} MB ({hungriest.name})",
            hungriest.peak_mb <= MEMORY_LIMIT_MB,
        ),
        Target(
            "expected outcomes (generated corpus)",
            f"{len(matching)}/{len(judged)}",
            len(matching) == len(judged),
        ),
    ]


def report(runs: list[Run], folder: Path, elapsed: float) -> tuple[str, bool]:
    """The printed report and whether every target is met."""
    counts = Counter(
        run.outcome if not run.outcome.startswith(UNEXPECTED) else UNEXPECTED for run in runs
    )
    for always in (TIMEOUT, CRASH, UNEXPECTED):  # shown even when none happened
        counts.setdefault(always, 0)
    checks = targets(runs)
    lines = [
        f"corpus: {len(runs)} files in {folder}, each in a fresh process, "
        f"{TIME_LIMIT_S:.0f} s limit; run took {elapsed:.0f} s",
        "outcomes: " + ", ".join(f"{name} {count}" for name, count in counts.most_common()),
        "slowest:",
        *_rows(sorted(runs, key=lambda run: -run.seconds)[:5]),
        "most memory:",
        *_rows(sorted(runs, key=lambda run: -run.peak_mb)[:5]),
    ]
    wrong = [run for run in runs if not run.as_expected]
    if wrong:
        lines += ["not as expected:"]
        lines += [f"  {run.name}: {run.outcome}, expected {run.expected}" for run in wrong]
    lines += ["targets:"]
    lines += [f"  {t.name}: {t.value} {'yes' if t.met else 'MISSED'}" for t in checks]
    lines += ["", "Markdown for benchmarks/RESULTS.md:", "", *_markdown(runs, counts, checks)]
    return "\n".join(lines), all(t.met for t in checks)


def _rows(runs: list[Run]) -> list[str]:
    return [
        f"  {run.seconds:6.2f} s {run.peak_mb:6.0f} MB  {run.outcome:<16} {run.name}"
        for run in runs
    ]


def _markdown(runs: list[Run], counts: Counter[str], checks: list[Target]) -> list[str]:
    facts = machine()
    slowest = sorted(runs, key=lambda run: -run.seconds)[:3]
    hungriest = sorted(runs, key=lambda run: -run.peak_mb)[:3]
    when = datetime.datetime.now().astimezone()
    return [
        f"`python -m benchmarks hostile`, {when:%Y-%m-%d %H:%M %Z}, {facts['nproc']} CPUs "
        f"({facts['cpu']}), Python {facts['python']}: {len(runs)} files, "
        + ", ".join(f"{name} {count}" for name, count in counts.most_common())
        + ".",
        "",
        "| target | value | met |",
        "|---|---|---|",
        *(f"| {t.name} | {t.value} | {'yes' if t.met else 'MISSED'} |" for t in checks),
        "",
        "Slowest: "
        + "; ".join(f"{r.name} {r.seconds:.2f} s ({r.outcome})" for r in slowest)
        + ". Most memory: "
        + "; ".join(f"{r.name} {r.peak_mb:.0f} MB ({r.outcome})" for r in hungriest)
        + ".",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks hostile", description=__doc__)
    parser.add_argument(
        "--corpus",
        type=Path,
        help="folder of files to run (default: generate tests/support/hostile.py's)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hostile-") as scratch:
        folder = args.corpus
        if folder is None:
            from tests.support import hostile

            folder = Path(scratch)
            print(f"generating {len(hostile.CASES)} files into {folder}...", file=sys.stderr)
            hostile.generate(folder)
        runs = run_corpus(folder)
        text, met = report(runs, folder, time.perf_counter() - started)
    print(text)
    return 0 if met else 1
