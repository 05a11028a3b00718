"""Figure 3: capacity: 500 apprentices doing the whole flow with a 1280 px photo at once.

The bot runs as built by ``bot.app.application.build_application`` (per-user concurrency,
SQLite) but
WITHOUT its rate limiter, and the emulator's flood limits are off: in production Telegram
caps a bot at ~30 messages/s and ``flood_safe_limiter`` keeps that pace on purpose, so
with them the figure would be Telegram's ceiling, not the bot's capacity. The baseline is
that ceiling: the ratio says how many times over the bot could fill it.

Two runs:

- "in the flow at once": 500 simulated apprentices, each one always in the middle of a
  flow (a new apprentice takes over when one has sent their selfie), taking a human's time
  before each action (read, tap, pick the photo: 1 to 9 s, 5 on average). A flow of 9
  actions then lasts ~45 s, so 500 of them offer ~11 submissions per second, 10 % over
  the target, if the bot keeps up (N / (think + reply time), the interactive response
  time law). Starts are spread over about one flow; submissions, messages and latencies
  are counted over the next minute, once all 500 are in. This is the target's situation.
- "saturated": 500 start at once and act the instant they are answered: the most the bot
  can do per second. Its latency is not a target: with 500 users who never pause, each
  waits for the 499 others (mean latency = 500 / actions per second).

Event-loop lag, measured in the bot process (``benchmarks.botproc.LoopLag``: how late a
task asking to wake every 10 ms is woken): over the measured minute of each run, against
the same bot idle for a second before the run; and while 4 scan bombs (48 MP progressive
JPEGs of 31 scans, the most accepted at that size, seconds of CPU each) are processed at
once, against the same bot processing them in a thread of its own process as it did
before the image workers. In
that run a few other people keep asking for /aide: their reply latency is the figure that
matters to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from dataclasses import dataclass
from typing import Any

from benchmarks.common import CACHE_DIR, Figure, percentile
from benchmarks.driver import (
    PreparedPhoto,
    Timer,
    World,
    anything,
    full_flow,
    has_button,
    prepare_photo,
    running_bot,
    say,
    text_steps,
)
from benchmarks.images import photo
from bot.photos.limits import MAX_JPEG_SCAN_PIXELS, MAX_JPEG_SCANS

USERS = int(os.environ.get("SELFIE_BENCH_USERS", "500"))
THINK_S = (1.0, 9.0)
"""Seconds an apprentice takes before each action, uniformly drawn (seeded)."""
RAMP_S = 45.0
"""Starts are spread over this long: about one flow."""
MEASURED_S = 60.0
"""Counted after the ramp."""
TELEGRAM_CEILING = 30.0
"""Messages per second Telegram lets a bot send overall."""
LAG_P99_MS, LAG_MAX_MS = 50.0, 200.0
"""Event-loop lag targets."""
COSTLY = 4
"""Costly photos sent at once."""
ASKING = 3
"""People asking for /aide while they are processed."""


@dataclass
class Lag:
    """The event loop's lateness over a window, in ms (``benchmarks.botproc.LoopLag``)."""

    p99: float
    max: float

    @classmethod
    def of(cls, stats: dict[str, Any]) -> Lag:
        return cls(stats["lag_p99"] * 1000, stats["lag_max"] * 1000)

    def __str__(self) -> str:
        return f"p99 {self.p99:.1f} ms, max {self.max:.0f} ms"

    @property
    def met(self) -> bool:
        return self.p99 <= LAG_P99_MS and self.max <= LAG_MAX_MS


@dataclass
class Run:
    submissions: int
    messages: int
    seconds: float
    latencies: list[float]
    bot_cpu: float
    failures: list[str]
    lag: Lag
    idle_lag: Lag

    @property
    def submissions_per_s(self) -> float:
        return self.submissions / self.seconds

    @property
    def messages_per_s(self) -> float:
        """Messages out: sent or edited."""
        return self.messages / self.seconds


async def _flow(
    world: World, timer: Timer, photos: list[PreparedPhoto], index: int, failures: list[str]
) -> bool:
    """One new apprentice's whole flow; False (the reason in ``failures``) if it stalled."""
    person = world.emu.create_user(f"Apprenti {index}")
    world.replies.watch(person.id)
    try:
        await full_flow(world, timer, person, photos[index % len(photos)])
    except TimeoutError as error:
        failures.append(str(error))
        return False
    return True


async def _in_flow_at_once(users: int, photos: list[PreparedPhoto], quick: bool) -> Run:
    rng = random.Random(6)
    low, high = (0.01, 0.02) if quick else THINK_S
    ramp, measured = (0.2, 1.0) if quick else (RAMP_S, MEASURED_S)
    timer = Timer(think=lambda: rng.uniform(low, high))
    done: list[float] = []
    failures: list[str] = []
    counter = iter(range(10**9))

    async def apprentice(start: float) -> None:
        await asyncio.sleep(start)
        while True:
            if await _flow(world, timer, photos, next(counter), failures):
                done.append(time.perf_counter())

    async with running_bot("selfie", limiter=False, flood_limits=False, spec=False) as world:
        idle = await _idle_stats(world)
        tasks = [asyncio.create_task(apprentice(rng.uniform(0, ramp))) for _ in range(users)]
        await asyncio.sleep(ramp)
        before, sent = await world.bot.stats(), world.replies.sent
        start = time.perf_counter()
        await asyncio.sleep(measured)
        end = time.perf_counter()
        after, messages = await world.bot.stats(), world.replies.sent - sent
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
    submissions = sum(start <= at < end for at in done)
    latencies = [
        latency
        for latency, at in zip(timer.latencies, timer.started, strict=True)
        if start <= at < end
    ]
    return Run(
        submissions,
        messages,
        end - start,
        latencies,
        after["cpu"] - before["cpu"],
        failures,
        Lag.of(after),
        Lag.of(idle),
    )


async def _idle_stats(world: World) -> dict[str, Any]:
    """The bot's stats after a second with nothing to do: the lag probe's own floor."""
    await world.bot.stats()
    await asyncio.sleep(1.0)
    return await world.bot.stats()


async def _saturated(users: int, photos: list[PreparedPhoto]) -> Run:
    timer = Timer()
    failures: list[str] = []
    async with running_bot("selfie", limiter=False, flood_limits=False, spec=False) as world:
        idle = await _idle_stats(world)
        before, sent = await world.bot.stats(), world.replies.sent
        start = time.perf_counter()
        await asyncio.gather(*(_flow(world, timer, photos, i, failures) for i in range(users)))
        elapsed = time.perf_counter() - start
        after = await world.bot.stats()
        messages = world.replies.sent - sent
    return Run(
        users - len(failures),
        messages,
        elapsed,
        timer.latencies,
        after["cpu"] - before["cpu"],
        failures,
        Lag.of(after),
        Lag.of(idle),
    )


@dataclass
class Costly:
    """Costly photos processed at once while others ask for /aide."""

    seconds: float
    """From the photos sent to the last preview."""
    latencies: list[float]
    """The others' reply latencies meanwhile."""
    lag: Lag
    bot_cpu: float
    workers_cpu: float


def costly_photo(quick: bool) -> bytes:
    """A scan bomb at the limit: a 48 MP progressive JPEG of 31 scans (each a pass over
    the whole image; one more and it is refused unread), the costliest JPEG accepted:
    seconds of CPU each. Cached."""
    width, height = (1600, 1200) if quick else (8000, 6000)
    scans = min(MAX_JPEG_SCANS, MAX_JPEG_SCAN_PIXELS // (width * height))
    path = CACHE_DIR / f"scan-bomb-{width}x{height}-{scans}.jpg"
    if path.exists():
        return path.read_bytes()
    from tests.support.hostile import scan_bomb

    data = scan_bomb(width, height, scans)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


async def _costly_photos(data: bytes, in_thread: bool) -> Costly:
    async with running_bot(
        "selfie", limiter=False, flood_limits=False, spec=False, images_in_thread=in_thread
    ) as world:
        senders = [world.emu.create_user(f"Photographe {i}") for i in range(COSTLY)]
        others = [world.emu.create_user(f"Curieux {i}") for i in range(ASKING)]
        for user in (*senders, *others):
            world.replies.watch(user.id)
        await asyncio.gather(*(text_steps(world, Timer(), user) for user in senders))
        await world.bot.stats()  # the window starts here
        start = time.perf_counter()
        for user in senders:
            await world.emu.send_document(user, data, "IMG_0001.jpg", "image/jpeg")
        previews = asyncio.gather(
            *(world.replies.next(u.id, has_button("preview:"), 300) for u in senders)
        )
        timer = Timer()

        async def ask(user: Any) -> None:
            while not previews.done():
                await timer.step(world, user, say(world, user, "/aide"), anything)

        await asyncio.gather(previews, *(ask(user) for user in others))
        seconds = time.perf_counter() - start
        after = await world.bot.stats()
    return Costly(seconds, timer.latencies, Lag.of(after), after["cpu"], after["cpu_workers"])


def _figure(label: str, result: Run, target: str, met: bool, context: str) -> Figure:
    latency = (
        f"reply latency p50 {percentile(result.latencies, 50) * 1000:.0f} ms, "
        f"p99 {percentile(result.latencies, 99) * 1000:.0f} ms over "
        f"{len(result.latencies)} actions"
        if result.latencies
        else "no action measured"
    )
    failed = (
        f"; {len(result.failures)} users timed out, e.g. {result.failures[0]}"
        if result.failures
        else ""
    )
    cpu = result.bot_cpu * 1000 / max(1, result.submissions)
    return Figure(
        f"capacity {label}",
        f"{result.submissions_per_s:.1f} subs/s, {result.messages_per_s:.0f} msg/s",
        f"{TELEGRAM_CEILING:.0f} msg/s Telegram",
        result.messages_per_s / TELEGRAM_CEILING,
        target,
        met,
        f"{context}; {latency}; {result.submissions} submissions in {result.seconds:.1f} s; "
        f"bot CPU {cpu:.0f} ms per submission; msg = messages sent or edited; no rate "
        f"limiter, emulator flood limits and spec checks off, SQLite{failed}",
    )


def _p99_ms(result: Run | Costly) -> float:
    return percentile(result.latencies, 99) * 1000 if result.latencies else float("inf")


def _lag_figure(label: str, result: Run) -> Figure:
    return Figure(
        f"event-loop lag: {label}",
        str(result.lag),
        f"{result.idle_lag} idle",
        result.lag.p99 / max(result.idle_lag.p99, 0.1),
        f"<= {LAG_P99_MS:.0f} ms p99, <= {LAG_MAX_MS:.0f} ms max",
        result.lag.met,
        "in the bot process, over the run's measured window; baseline: the same bot idle "
        "for a second before the run; ratio of the p99s",
    )


def _costly_figures(workers: Costly, thread: Costly, megapixels: int) -> list[Figure]:
    label = f"{COSTLY} scan bombs at once"
    note = (
        f"{COSTLY} x {megapixels} MP progressive JPEG at the scan limit sent as files "
        f"at once, {ASKING} people asking "
        f"/aide meanwhile; all previews in {workers.seconds:.1f} s with the workers, "
        f"{thread.seconds:.1f} s in threads; CPU in the workers "
        f"{workers.workers_cpu:.1f} s of {workers.bot_cpu:.1f} s; baseline: the same bot "
        "processing photos in a thread of its own process, as before the image workers"
    )
    p99, thread_p99 = _p99_ms(workers), _p99_ms(thread)
    return [
        Figure(
            f"event-loop lag: {label}",
            str(workers.lag),
            f"{thread.lag} in a thread",
            thread.lag.p99 / max(workers.lag.p99, 0.1),
            f"<= {LAG_P99_MS:.0f} ms p99, <= {LAG_MAX_MS:.0f} ms max",
            workers.lag.met,
            note,
        ),
        Figure(
            f"reply latency of others: {label}",
            f"p99 {p99:.0f} ms",
            f"p99 {thread_p99:.0f} ms in a thread",
            thread_p99 / max(p99, 0.1),
            "p99 < 500 ms",
            p99 < 500,
            f"{len(workers.latencies)} replies to /aide ({len(thread.latencies)} in threads), "
            "from the message to the reply",
        ),
    ]


async def run(quick: bool = False) -> list[Figure]:
    users = 3 if quick else USERS
    size = (640, 480) if quick else (1280, 960)
    # 10 different photos, their Telegram renditions computed before the clock starts.
    photos = [prepare_photo(photo(size[0] + i * 2, size[1])) for i in range(1 if quick else 10)]
    human = await _in_flow_at_once(users, photos, quick)
    saturated = await _saturated(users, photos)
    costly = costly_photo(quick)
    with_workers = await _costly_photos(costly, in_thread=False)
    in_thread = await _costly_photos(costly, in_thread=True)
    return [
        _figure(
            f"{users} apprentices in the flow at once",
            human,
            ">= 10 subs/s, 80 msg/s, p99 < 500 ms",
            not human.failures
            and human.submissions_per_s >= 10
            and human.messages_per_s >= 80
            and _p99_ms(human) < 500,
            f"{THINK_S[0]:.0f}-{THINK_S[1]:.0f} s before each action, starts spread over "
            f"{RAMP_S:.0f} s, counted over the next {MEASURED_S:.0f} s",
        ),
        _figure(
            f"saturated: {users} apprentices who never pause",
            saturated,
            ">= 10 subs/s, 80 msg/s",
            not saturated.failures
            and saturated.submissions_per_s >= 10
            and saturated.messages_per_s >= 80,
            "all start at once and act as soon as answered: the most the bot does per "
            "second (latency = 500 users queueing, not a target)",
        ),
        _lag_figure(f"{users} apprentices in the flow at once", human),
        _lag_context(f"saturated: {users} apprentices who never pause", saturated),
        *_costly_figures(with_workers, in_thread, 2 if quick else 48),
    ]


def _lag_context(label: str, result: Run) -> Figure:
    """The lag of the saturated run: a loop with always more to do, so context only."""
    figure = _lag_figure(label, result)
    figure.target, figure.met = "context", None
    return figure
