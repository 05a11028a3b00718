"""Figure 3: capacity: 500 apprentices doing the whole flow with a 1280 px photo at once.

The bot runs as built by ``bot.app.build_application`` (per-user concurrency, SQLite) but
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
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from dataclasses import dataclass

from benchmarks.common import Figure, percentile
from benchmarks.driver import PreparedPhoto, Timer, World, full_flow, prepare_photo, running_bot
from benchmarks.images import photo

USERS = int(os.environ.get("SELFIE_BENCH_USERS", "500"))
THINK_S = (1.0, 9.0)
"""Seconds an apprentice takes before each action, uniformly drawn (seeded)."""
RAMP_S = 45.0
"""Starts are spread over this long: about one flow."""
MEASURED_S = 60.0
"""Counted after the ramp."""
TELEGRAM_CEILING = 30.0
"""Messages per second Telegram lets a bot send overall."""


@dataclass
class Run:
    submissions: int
    messages: int
    seconds: float
    latencies: list[float]
    bot_cpu: float
    failures: list[str]

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
    )


async def _saturated(users: int, photos: list[PreparedPhoto]) -> Run:
    timer = Timer()
    failures: list[str] = []
    async with running_bot("selfie", limiter=False, flood_limits=False, spec=False) as world:
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
    )


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


def _p99_ms(result: Run) -> float:
    return percentile(result.latencies, 99) * 1000 if result.latencies else float("inf")


async def run(quick: bool = False) -> list[Figure]:
    users = 3 if quick else USERS
    size = (640, 480) if quick else (1280, 960)
    # 10 different photos, their Telegram renditions computed before the clock starts.
    photos = [prepare_photo(photo(size[0] + i * 2, size[1])) for i in range(1 if quick else 10)]
    human = await _in_flow_at_once(users, photos, quick)
    saturated = await _saturated(users, photos)
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
    ]
