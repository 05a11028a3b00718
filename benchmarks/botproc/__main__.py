"""A bot in its own process, as in production: the real Application, or a baseline bot.

``python -m benchmarks.botproc CONFIG KIND [--no-limiter | --no-group-limit] [--serial]
[--images-in-thread] [--image-idle-seconds S] [--log-level LEVEL]``; KIND is
``selfie`` (``bot.app.application.build_application``), ``echo`` (a bare PTB bot answering
every text
and button) or ``bare`` (a bare PTB Application with no handlers). Prints ``ready`` when
polling, then answers each ``stats`` line on stdin with one JSON line and stops on
``quit``. The driver and the emulator stay in the parent process, so their CPU and memory
are not the bot's.

A ``stats`` line: the bot process's RSS and peak RSS (kB), CPU seconds counting its image
workers (``cpu``; ``cpu_workers`` the workers' share), each live worker's RSS and peak
(``workers``), and the event loop's lag since the previous ``stats`` line (``lag_p99``,
``lag_max`` in seconds, ``lag_samples``): how late a task asking to wake every 10 ms was
woken, i.e. how long the loop could not run a callback. ``workers`` lists every child
process with its ``role``: ``worker``, or ``tracker`` for multiprocessing's resource
tracker. ``--image-idle-seconds`` shortens the image pool's idle time (the memory figure
waits for it to stop); ``--sample-memory`` adds ``total_peak_kb``, the largest RSS of the
bot and its children together (:class:`MemorySampler`).

A package's ``__main__`` rather than a module: image workers re-import the module that
started their parent unless it is a ``__main__`` (see ``bot.main``), so this one stays out
of them, as the ``selfie-bot`` script does in production.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from benchmarks.common import cpu_seconds, percentile, proc_status

LAG_INTERVAL_S = 0.01
"""The lag probe's period: short enough to see a 50 ms stall many times over, cheap (100
wake-ups a second)."""


class LoopLag:
    """How late the event loop wakes a task that sleeps :data:`LAG_INTERVAL_S` at a time.

    Lateness is the time the loop spent on something else past the deadline: a callback
    that held the loop (a CPU-bound step, the GIL held by a thread) shows up as one late
    wake-up as long as the stall.
    """

    def __init__(self) -> None:
        self.samples = array.array("d")

    async def probe(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(LAG_INTERVAL_S)
            self.samples.append(loop.time() - asked - LAG_INTERVAL_S)

    def take(self) -> dict[str, float]:
        """p99 and max lateness since the last call, in seconds; starts a new window."""
        samples, self.samples = self.samples, array.array("d")
        if not samples:
            return {"lag_p99": 0.0, "lag_max": 0.0, "lag_samples": 0}
        return {
            "lag_p99": percentile(samples, 99),
            "lag_max": max(samples),
            "lag_samples": len(samples),
        }


class MemorySampler:
    """The largest resident memory of the bot and its children together, sampled every
    5 ms from a thread (``--sample-memory``, for the memory figure only).

    Each process's own peak (VmHWM) is exact, but the bot peaks while downloading and a
    worker while decoding: their sum overstates what the machine needs at once.
    """

    PERIOD_S = 0.005

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.PERIOD_S):
            self.peak_kb = max(self.peak_kb, _total_rss_kb())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _total_rss_kb() -> int:
    """VmRSS of this process and its children (any thread may have started them).

    A child between its fork and its exec still runs the bot's command line in the bot's
    memory (shared, or the very same pages after a vfork): counted once, as the bot.
    """
    own = Path("/proc/self/cmdline").read_bytes()
    pids = ["self"]
    for listing in Path("/proc/self/task").glob("*/children"):
        try:
            pids += listing.read_text().split()
        except OSError:
            continue
    total = 0
    for pid in pids:
        try:
            if pid != "self" and Path(f"/proc/{pid}/cmdline").read_bytes() == own:
                continue
            total += proc_status(pid).get("VmRSS", 0)
        except OSError:
            continue  # exited meanwhile
    return total


def _children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (the image workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _reaped_children_cpu() -> float:
    """CPU seconds of children that exited and were waited for (replaced or stopped workers)."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def _role(pid: int) -> str:
    """``tracker`` for multiprocessing's resource tracker (started with the first pool,
    alive until the bot exits), ``worker`` for an image worker."""
    command = Path(f"/proc/{pid}/cmdline").read_bytes()
    return "tracker" if b"resource_tracker" in command else "worker"


def stats(lag: LoopLag, sampler: MemorySampler | None) -> dict[str, Any]:
    """The JSON line answering ``stats``."""
    workers = []
    workers_cpu = _reaped_children_cpu()
    for pid in _children(os.getpid()):
        try:
            workers.append({"pid": pid, "role": _role(pid), **proc_status(pid)})
            workers_cpu += cpu_seconds(pid)
        except (OSError, IndexError):
            continue  # exited meanwhile
    return {
        **proc_status(),
        "cpu": cpu_seconds() + workers_cpu,
        "cpu_workers": workers_cpu,
        "workers": workers,
        **lag.take(),
        **({"total_peak_kb": sampler.peak_kb} if sampler else {}),
    }


def _patch_builder(no_limiter: bool, serial: bool) -> None:
    """Make ``build_application`` build without the rate limiter / one update at a time.

    The benchmark measures the bot's own capacity: Telegram's 30 msg/s pace that
    ``flood_safe_limiter`` enforces on purpose in production would otherwise be the figure.
    """
    import bot.app.application

    class BenchBuilder(ApplicationBuilder):  # type: ignore[type-arg]
        def concurrent_updates(self, concurrent_updates: Any) -> Any:
            return self if serial else super().concurrent_updates(concurrent_updates)

        def rate_limiter(self, rate_limiter: Any) -> Any:
            return self if no_limiter else super().rate_limiter(rate_limiter)

    bot.app.application.ApplicationBuilder = BenchBuilder  # type: ignore[misc]


def _images_in_thread() -> None:
    """Process photos in a thread of the bot process, as before the image workers: the
    baseline of the event-loop lag figures (``benchmarks/capacity.py``)."""
    import bot.photos.workers
    from bot.photos.pipeline import ImageOptions, ProcessedImage, process_image

    async def in_thread(
        self: bot.photos.workers.ImageWorkers, data: bytes, options: ImageOptions
    ) -> ProcessedImage:
        return await asyncio.to_thread(process_image, data, options)

    bot.photos.workers.ImageWorkers.process = in_thread  # type: ignore[method-assign]


def _image_idle_seconds(seconds: float) -> None:
    """Every image pool stops after ``seconds`` without a photo."""
    import bot.photos.workers

    workers = bot.photos.workers.ImageWorkers
    original = workers.__init__

    def with_idle(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **{**kwargs, "idle_seconds": seconds})

    workers.__init__ = with_idle  # type: ignore[method-assign]


def _lift_group_pace() -> None:
    """Keep the limiter's overall pace and its retries after a 429, drop its per-group pace.

    For the chaos run (:mod:`benchmarks.chaos`): 200 cards at Telegram's 20 messages a
    minute into the moderators' group would take ten minutes; the emulator's per-group
    limit is lifted to match. Everything else is the production limiter: the steady 28
    messages a second and the ``retry_after`` waits (``group_max_rate=0`` disables only
    the per-group buckets).
    """
    import bot.app.application

    def without_group_pace() -> AIORateLimiter:
        return AIORateLimiter(
            overall_max_rate=1, overall_time_period=1 / 28, group_max_rate=0, max_retries=3
        )

    bot.app.application.flood_safe_limiter = without_group_pace


def _configure_logging(level: str) -> None:
    """The bot's log on stderr; httpx's request lines (they carry the token) stay quiet."""
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s",
    )
    for name in ("httpx", "httpcore", "apscheduler", "alembic"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))


async def _echo_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message and update.effective_message.text
    await update.effective_message.reply_text(update.effective_message.text)


async def _echo_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query and query.message
    await query.answer()
    await context.bot.send_message(query.message.chat.id, query.data or "?")


def _baseline(kind: str, raw: dict[str, Any]) -> Application:  # type: ignore[type-arg]
    api_url = raw["telegram"]["api_url"]
    builder = (
        ApplicationBuilder()
        .token(raw["telegram"]["token"])
        .base_url(f"{api_url}/bot")
        .base_file_url(f"{api_url}/file/bot")
    )
    app = builder.build()  # PTB's default: one update at a time
    if kind == "echo":
        app.add_handler(MessageHandler(filters.TEXT, _echo_text))
        app.add_handler(CallbackQueryHandler(_echo_button))
    return app


async def main(
    config: str,
    kind: str,
    no_limiter: bool,
    serial: bool,
    no_group_limit: bool = False,
    images_in_thread: bool = False,
    image_idle_seconds: float | None = None,
    sample_memory: bool = False,
) -> None:
    import tomllib

    lag = LoopLag()
    sampler = MemorySampler() if sample_memory else None
    probe = asyncio.create_task(lag.probe())
    path = Path(config)
    raw = tomllib.loads(await asyncio.to_thread(path.read_text, encoding="utf-8"))
    if kind == "selfie":
        _patch_builder(no_limiter, serial)
        if no_group_limit:
            _lift_group_pace()
        if images_in_thread:
            _images_in_thread()
        if image_idle_seconds is not None:
            _image_idle_seconds(image_idle_seconds)
        from bot.app.application import build_application
        from bot.config import settings_from_dict

        app: Application = build_application(settings_from_dict(raw, base_dir=path.parent))  # type: ignore[type-arg]
    else:
        app = _baseline(kind, raw)
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=10)
    await app.start()
    lag.take()  # the start-up is not part of any window
    print("ready", flush=True)
    try:
        while True:
            line = (await asyncio.to_thread(sys.stdin.readline)).strip()
            if line == "stats":
                print(json.dumps(stats(lag, sampler)), flush=True)
            elif line in ("quit", ""):
                break
    finally:
        probe.cancel()
        if sampler is not None:
            sampler.stop()
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("kind", choices=["selfie", "echo", "bare"])
    parser.add_argument("--no-limiter", action="store_true")
    parser.add_argument("--no-group-limit", action="store_true")
    parser.add_argument("--serial", action="store_true")
    parser.add_argument("--images-in-thread", action="store_true")
    parser.add_argument("--image-idle-seconds", type=float)
    parser.add_argument("--sample-memory", action="store_true")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING"])
    args = parser.parse_args()
    _configure_logging(args.log_level)
    asyncio.run(
        main(
            args.config,
            args.kind,
            args.no_limiter,
            args.serial,
            args.no_group_limit,
            args.images_in_thread,
            args.image_idle_seconds,
            args.sample_memory,
        )
    )
