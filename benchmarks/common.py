"""What every figure shares: the result row, timing helpers, machine facts, memory probes."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

CACHE_DIR = Path(os.environ.get("SELFIE_BENCH_CACHE", "/tmp/selfie-bot-bench-cache"))
"""Generated inputs (large JPEGs take seconds to make) are kept here between runs."""


@dataclass
class Figure:
    """One line of the report: a measured value, its baseline from the same run, a target.

    ``ratio`` compares value and baseline as each figure's docstring says (a speed-up, a
    share of the baseline's throughput, a cost in baseline round trips…); ``met`` is None
    for context lines.
    """

    name: str
    value: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None
    note: str = ""

    def cells(self) -> list[str]:
        ratio = "" if self.ratio is None else f"{self.ratio:.2f}x"
        met = {True: "yes", False: "MISSED", None: "-"}[self.met]
        return [self.name, self.value, self.baseline, ratio, self.target, met]


HEADERS = ["figure", "value", "baseline", "ratio", "target", "met"]


def table(figures: Sequence[Figure], markdown: bool = False) -> str:
    rows = [HEADERS, *(f.cells() for f in figures)]
    if markdown:
        lines = ["| " + " | ".join(r) + " |" for r in rows]
        lines.insert(1, "|" + "|".join("---" for _ in HEADERS) + "|")
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  {f.name}: {f.note}" for f in figures if f.note]
    return "\n".join(lines + (["notes:", *notes] if notes else []))


def median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(samples)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def alternate(
    functions: dict[str, Callable[[], object]], repeat: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Time each function ``repeat`` times, interleaved (a, b, a, b…): noise hits both."""
    for _ in range(warmup):
        for fn in functions.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeat):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return samples


def machine() -> dict[str, str]:
    """nproc, CPU model, RAM, Python and OS: recorded with every set of figures."""
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "ram": ram,
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def max_rss_kb() -> int:
    """Peak resident memory of this process so far (Linux: kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def proc_status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process in kB, from /proc."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time of a process (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks
