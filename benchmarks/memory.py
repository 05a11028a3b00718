"""Figure 5: resident memory of the bot, idle and while processing a 48 MP document.

Each process is measured from the outside of the emulator: the bot runs in a child process
(:mod:`benchmarks.botproc`) built by ``bot.app.application.build_application`` exactly as in
production (rate limiter included), initialised against the emulator, polling. Baselines:
a bare Python process importing nothing, and a bare PTB Application (no handlers)
initialised and polling against the same emulator.

The image workers (``bot/photos/workers.py``) are the bot's memory too: every figure adds
them up. The pool starts at the first photo, so the idle bot has none. The document's
peak is the largest total RSS of the bot and its children, sampled every 5 ms in the bot
(``botproc --sample-memory``), over two documents: the first starts the pool, the second
finds it running (the steady state). Each process's own peak (VmHWM) is exact but they
happen at different moments (the bot's while downloading, a worker's while decoding):
their sum, an upper bound, is in the note.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from benchmarks.common import Figure
from benchmarks.driver import Timer, World, has_button, running_bot, text_steps
from benchmarks.images import photo

IDLE_TARGET_MB = 120
PEAK_TARGET_MB = 150

_BARE = "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmRSS')][0])"


def bare_python_mb() -> float:
    out = subprocess.run(
        [sys.executable, "-S", "-c", _BARE], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip()) / 1024


async def _idle(kind: str) -> float:
    async with running_bot(kind) as world:
        await asyncio.sleep(1.0)
        return (await world.bot.stats())["VmRSS"] / 1024


IMAGE_IDLE_S = 2.0
"""The image pool's idle time in this figure (300 s in production), to see it stop."""


def _mb(stats: dict[str, Any], key: str) -> float:
    return float(stats[key]) / 1024


def _children_mb(stats: dict[str, Any], key: str, role: str | None = None) -> float:
    """The bot's child processes (image workers, ``role="worker"``; multiprocessing's
    resource tracker, ``"tracker"``; all by default), in MB."""
    chosen = [c for c in stats["workers"] if role is None or c["role"] == role]
    return sum(float(c[key]) for c in chosen) / 1024


def _count(stats: dict[str, Any], role: str) -> int:
    return sum(c["role"] == role for c in stats["workers"])


@dataclass
class Document:
    """The real bot around one large document, in MB; its child processes included."""

    idle: float
    """VmRSS before any photo."""
    idle_children: int
    idle_peak: float
    """The bot's VmHWM before any photo (its start-up peak)."""
    bot_peak: float
    """The bot's VmHWM after the previews."""
    peak: float
    """The largest total VmRSS of the bot and its children, sampled."""
    peaks_sum: float
    """The bot's VmHWM plus each child's: an upper bound of ``peak``."""
    worker_rss: float
    worker_peak: float
    """One image worker's VmRSS and VmHWM after the preview."""
    workers: int
    busy: float
    """VmRSS of the bot and its children just after the photo (until the pool stops)."""
    idle_again: float
    """VmRSS once the pool stopped: the bot and the resource tracker."""
    tracker: float
    """The resource tracker's VmRSS, alive from the first photo until the bot exits."""


async def _document(width: int, height: int) -> Document:
    data = photo(width, height)
    async with running_bot("selfie", image_idle_seconds=IMAGE_IDLE_S, sample_memory=True) as world:
        await asyncio.sleep(1.0)
        idle = await world.bot.stats()
        users = [world.emu.create_user(name) for name in ("Léa", "Hugo")]
        for user in users:
            world.replies.watch(user.id)
            await text_steps(world, Timer(), user)
        for user in users:  # one after the other: the second finds the pool running
            await world.emu.send_document(user, data, "IMG_0001.jpg", "image/jpeg")
            await world.replies.next(user.id, has_button("preview:"), 120)
        after = await world.bot.stats()
        stopped = await _pool_stopped(world)
    workers = max(1, _count(after, "worker"))
    return Document(
        idle=_mb(idle, "VmRSS") + _children_mb(idle, "VmRSS"),
        idle_children=len(idle["workers"]),
        idle_peak=_mb(idle, "VmHWM"),
        bot_peak=_mb(after, "VmHWM"),
        peak=_mb(after, "total_peak_kb"),
        peaks_sum=_mb(after, "VmHWM") + _children_mb(after, "VmHWM"),
        worker_rss=_children_mb(after, "VmRSS", "worker") / workers,
        worker_peak=_children_mb(after, "VmHWM", "worker") / workers,
        workers=_count(after, "worker"),
        busy=_mb(after, "VmRSS") + _children_mb(after, "VmRSS"),
        idle_again=_mb(stopped, "VmRSS") + _children_mb(stopped, "VmRSS"),
        tracker=_children_mb(stopped, "VmRSS", "tracker"),
    )


async def _pool_stopped(world: World) -> dict[str, Any]:
    """The bot's stats once its image workers are gone."""
    for _ in range(int(IMAGE_IDLE_S + 30) * 2):
        stats = await world.bot.stats()
        if not _count(stats, "worker"):
            return stats
        await asyncio.sleep(0.5)
    raise TimeoutError("the image pool did not stop")


async def run(quick: bool = False) -> list[Figure]:
    python_mb = bare_python_mb()
    ptb_mb = await _idle("bare")
    size = (1600, 1200) if quick else (8000, 6000)
    doc = await _document(*size)
    added = doc.peak - doc.idle
    label = "48 MP" if not quick else f"{size[0] * size[1] / 1e6:.0f} MP"
    return [
        Figure(
            "memory: idle bot RSS",
            f"{doc.idle:.0f} MB",
            f"{ptb_mb:.0f} MB bare PTB app",
            doc.idle / ptb_mb,
            f"<= {IDLE_TARGET_MB} MB",
            doc.idle <= IDLE_TARGET_MB,
            f"bare Python process: {python_mb:.0f} MB; start-up peak {doc.idle_peak:.0f} MB; "
            f"child processes at idle: {doc.idle_children} (the image pool starts at the "
            "first photo); SQLite, production build (rate limiter on)",
        ),
        Figure(
            "memory: idle again after a photo",
            f"{doc.idle_again:.0f} MB",
            f"{doc.idle:.0f} MB idle bot",
            doc.idle_again / doc.idle,
            "context",
            None,
            f"after two {label} documents, once the image pool stopped (idle time "
            f"{IMAGE_IDLE_S:g} s here, 300 s in production): the bot "
            f"({doc.idle_again - doc.tracker:.0f} MB: what its first photo imported and "
            f"cached) and multiprocessing's resource tracker ({doc.tracker:.0f} MB, alive "
            "until the bot exits)",
        ),
        Figure(
            f"memory: {label} document, peak added",
            f"{added:.0f} MB",
            f"{doc.idle:.0f} MB idle bot",
            doc.peak / doc.idle,
            f"<= {PEAK_TARGET_MB} MB",
            added <= PEAK_TARGET_MB,
            f"largest total VmRSS of the bot and its children over two documents, sampled "
            f"every 5 ms, {doc.peak:.0f} MB, minus the idle VmRSS; each one's own peak: bot "
            f"{doc.bot_peak:.0f} MB, {doc.workers} image worker(s) {doc.worker_peak:.0f} MB "
            f"each, the resource tracker; their sum (an upper bound) adds "
            f"{doc.peaks_sum - doc.idle:.0f} MB; includes the download buffers, the copy sent "
            "to the worker and the worker's own interpreter",
        ),
        Figure(
            "memory: image worker RSS",
            f"{doc.worker_rss:.0f} MB",
            f"{python_mb:.0f} MB bare Python",
            doc.worker_rss / python_mb,
            "context",
            None,
            f"one worker's VmRSS after two {label} documents (its peak "
            f"{doc.worker_peak:.0f} MB); bot and children just after the photo: "
            f"{doc.busy:.0f} MB, until the pool stops after its idle minutes",
        ),
    ]
