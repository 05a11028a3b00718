"""Figure 5: resident memory of the bot, idle and while processing a 48 MP document.

Each process is measured from the outside of the emulator: the bot runs in a child process
(:mod:`benchmarks.botproc`) built by ``bot.app.build_application`` exactly as in
production (rate limiter included), initialised against the emulator, polling. Baselines:
a bare Python process importing nothing, and a bare PTB Application (no handlers)
initialised and polling against the same emulator.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

from benchmarks.common import Figure
from benchmarks.driver import Timer, has_button, running_bot, text_steps
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


async def _document(width: int, height: int) -> tuple[float, float, float]:
    """(idle RSS, peak after the document, idle peak) of the real bot, in MB."""
    data = photo(width, height)
    async with running_bot("selfie") as world:
        await asyncio.sleep(1.0)
        idle = await world.bot.stats()
        user = world.emu.create_user("Léa")
        world.replies.watch(user.id)
        await text_steps(world, Timer(), user)
        await world.emu.send_document(user, data, "IMG_0001.jpg", "image/jpeg")
        await world.replies.next(user.id, has_button("preview:"), 120)
        after = await world.bot.stats()
    return idle["VmRSS"] / 1024, after["VmHWM"] / 1024, idle["VmHWM"] / 1024


async def run(quick: bool = False) -> list[Figure]:
    python_mb = bare_python_mb()
    ptb_mb = await _idle("bare")
    size = (1600, 1200) if quick else (8000, 6000)
    idle_mb, peak_mb, idle_peak_mb = await _document(*size)
    added = peak_mb - idle_mb
    label = "48 MP" if not quick else f"{size[0] * size[1] / 1e6:.0f} MP"
    return [
        Figure(
            "memory: idle bot RSS",
            f"{idle_mb:.0f} MB",
            f"{ptb_mb:.0f} MB bare PTB app",
            idle_mb / ptb_mb,
            f"<= {IDLE_TARGET_MB} MB",
            idle_mb <= IDLE_TARGET_MB,
            f"bare Python process: {python_mb:.0f} MB; start-up peak {idle_peak_mb:.0f} MB; "
            "SQLite, production build (rate limiter on)",
        ),
        Figure(
            f"memory: {label} document, peak added",
            f"{added:.0f} MB",
            f"{idle_mb:.0f} MB idle bot",
            peak_mb / idle_mb,
            f"<= {PEAK_TARGET_MB} MB",
            added <= PEAK_TARGET_MB,
            f"VmHWM after the preview {peak_mb:.0f} MB minus idle VmRSS; includes the "
            "download buffer and its copy",
        ),
    ]
