"""Figure 3: capacity: many apprentices doing the whole flow with a 1280 px photo at once.

The bot runs as built by ``bot.app.build_application`` (per-user concurrency, SQLite) but
WITHOUT its rate limiter, and the emulator's flood limits are off: in production Telegram
caps a bot at ~30 messages/s and ``flood_safe_limiter`` keeps that pace on purpose, so
with them the figure would be Telegram's ceiling, not the bot's capacity. The baseline is
that ceiling: the ratio says how many times over the bot could fill it.

Two runs: "saturated" (every user starts at once and acts as soon as the bot answers:
the most the bot can do) and "paced" (users arrive at the target rate, 10 per second:
the reply latency a user sees at that load).
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

from benchmarks.common import Figure, percentile
from benchmarks.driver import PreparedPhoto, Timer, full_flow, prepare_photo, running_bot
from benchmarks.images import photo

USERS = int(os.environ.get("SELFIE_BENCH_USERS", "500"))
TELEGRAM_CEILING = 30.0
"""Messages per second Telegram lets a bot send overall."""


@dataclass
class Run:
    users: int
    seconds: float
    sent: int
    latencies: list[float]
    bot_cpu: float
    failures: list[str]

    @property
    def submissions_per_s(self) -> float:
        return self.users / self.seconds

    @property
    def messages_per_s(self) -> float:
        return self.sent / self.seconds


async def _run(users: int, photos: list[PreparedPhoto], arrival_rate: float | None) -> Run:
    async with running_bot("selfie", limiter=False, flood_limits=False, spec=False) as world:
        people = [world.emu.create_user(f"Apprenti {i}") for i in range(users)]
        for person in people:
            world.replies.watch(person.id)
        timer = Timer()

        failures: list[str] = []

        async def one(index: int) -> None:
            if arrival_rate:
                await asyncio.sleep(index / arrival_rate)
            try:
                await full_flow(world, timer, people[index], photos[index % len(photos)])
            except TimeoutError as error:
                failures.append(str(error))

        before = await world.bot.stats()
        sent = world.replies.sent
        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(users)))
        elapsed = time.perf_counter() - start
        after = await world.bot.stats()
        return Run(
            users - len(failures),
            elapsed,
            world.replies.sent - sent,
            timer.latencies,
            after["cpu"] - before["cpu"],
            failures,
        )


async def run(quick: bool = False) -> list[Figure]:
    users = 3 if quick else USERS
    size = (640, 480) if quick else (1280, 960)
    # 10 different photos, their Telegram renditions computed before the clock starts.
    photos = [prepare_photo(photo(size[0] + i * 2, size[1])) for i in range(1 if quick else 10)]
    saturated = await _run(users, photos, None)
    paced = await _run(users, photos, 10.0)
    figures = []
    for label, result in (("saturated", saturated), ("paced 10/s", paced)):
        p50 = percentile(result.latencies, 50) * 1000
        p99 = percentile(result.latencies, 99) * 1000
        rate, messages = result.submissions_per_s, result.messages_per_s
        failed = (
            f"; {len(result.failures)} users timed out, e.g. {result.failures[0]}"
            if result.failures
            else ""
        )
        if label == "saturated":
            met = not result.failures and rate >= 10 and messages >= 80 and p99 < 500
        else:
            met = not result.failures and p99 < 500
        figures.append(
            Figure(
                f"capacity {label}: {users} apprentices",
                f"{rate:.1f} subs/s, {messages:.0f} msg/s",
                f"{TELEGRAM_CEILING:.0f} msg/s Telegram",
                messages / TELEGRAM_CEILING,
                ">= 10 subs/s, 80 msg/s, p99 < 500 ms" if label == "saturated" else "p99 < 500 ms",
                met,
                f"reply latency p50 {p50:.0f} ms, p99 {p99:.0f} ms over "
                f"{len(result.latencies)} actions; {result.seconds:.1f} s; bot CPU "
                f"{result.bot_cpu * 1000 / max(1, result.users):.0f} ms per submission; "
                f"no rate limiter, emulator flood limits and spec checks off, SQLite{failed}",
            )
        )
    return figures
