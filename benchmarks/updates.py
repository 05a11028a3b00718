"""Figure 2: cost of an update: the conversation's text steps against a bare echo bot.

Both bots run in a child process against the emulator in the same run, with the
emulator's flood limits OFF (Telegram's 30 msg/s would otherwise be the figure for both)
and its spec validation off (emulator CPU that is not the bot's). N simulated users go
concurrently through /start, consent, age, name, trade, centre and a typed quote (7
updates each, every one answered) against the bot; against the echo bot each sends 7
texts. Updates processed per second = N x 7 / wall time.
"""

from __future__ import annotations

import asyncio
import time

from benchmarks.common import Figure
from benchmarks.driver import TEXT_STEPS, Timer, World, echo_steps, running_bot, text_steps


async def _measure(kind: str, users: int, serial: bool = False) -> tuple[float, float]:
    """(updates/s, bot CPU ms per update)."""
    async with running_bot(
        kind, limiter=False, flood_limits=False, spec=False, serial=serial
    ) as world:
        people = [world.emu.create_user(f"Apprenti {i}") for i in range(users)]
        for person in people:
            world.replies.watch(person.id)
        timer = Timer()
        before = await world.bot.stats()
        start = time.perf_counter()
        await asyncio.gather(*(_one(kind, world, timer, p) for p in people))
        elapsed = time.perf_counter() - start
        after = await world.bot.stats()
    updates = users * TEXT_STEPS
    return updates / elapsed, (after["cpu"] - before["cpu"]) * 1000 / updates


async def _one(kind: str, world: World, timer: Timer, person) -> None:  # type: ignore[no-untyped-def]
    if kind == "echo":
        await echo_steps(world, timer, person, TEXT_STEPS)
    else:
        await text_steps(world, timer, person)


async def run(quick: bool = False) -> list[Figure]:
    users = 3 if quick else 100
    echo_rate, echo_cpu = await _measure("echo", users)
    bot_rate, bot_cpu = await _measure("selfie", users)
    share = bot_rate / echo_rate
    figures = [
        Figure(
            "update cost: text steps",
            f"{bot_rate:.0f} updates/s",
            f"{echo_rate:.0f} updates/s echo",
            share,
            ">= 50 % of echo",
            share >= 0.5,
            f"{users} users x {TEXT_STEPS} updates, emulator flood limits and spec checks "
            f"off, no rate limiter; bot CPU {bot_cpu:.1f} ms/update vs echo {echo_cpu:.1f}; "
            f"the bot as built (per-user concurrency), the echo bot one update at a time",
        )
    ]
    if quick:  # the smoke test: the variant below only adds a flag
        return figures
    serial_rate, serial_cpu = await _measure("selfie", users, serial=True)
    figures.append(
        Figure(
            "update cost: one update at a time",
            f"{serial_rate:.0f} updates/s",
            f"{echo_rate:.0f} updates/s echo",
            serial_rate / echo_rate,
            "context",
            None,
            f"the same bot without bot.telegram.concurrency (PTB default); "
            f"bot CPU {serial_cpu:.1f} ms/update",
        )
    )
    return figures
