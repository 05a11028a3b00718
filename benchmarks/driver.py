"""The emulator side: a bot subprocess, and simulated users timing the bot's replies.

The emulator (``bot.sandbox``) and the users run in this process; the bot runs in a child
process (:mod:`benchmarks.botproc`), as it would in production, so that the emulator's
work (HTTP, re-encoding uploaded photos…) is not counted as the bot's.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.sandbox.emulator import Chat, Emulator, User
from bot.sandbox.emulator import media as sandbox_media
from tests.support.stand import TOKEN, stand_config, write_config

ROOT = Path(__file__).resolve().parent.parent
Message = dict[str, Any]
OUTGOING = ("sent", "edited")
"""Bot actions that are a message to the user: a new one, or a question replaced in place."""

PROFILE_ENV = "SELFIE_BENCH_PROFILE"
"""A path prefix: py-spy samples the bot process while the figure runs (``PREFIX.KIND``,
collapsed stacks for flamegraph.pl or speedscope). py-spy sees the SQLAlchemy greenlets
and the event loop's callbacks that pure-Python profilers attribute poorly."""


class Replies:
    """Per-chat queues of the bot's actions, fed by the emulator as they happen.

    ``Emulator.wait_for`` rescans the event log for every waiter at every event, which is
    fine for tests and quadratic with hundreds of users; this hook is O(1) per event.
    """

    def __init__(self, emu: Emulator) -> None:
        self._queues: dict[int, asyncio.Queue[tuple[str, Message, float]]] = {}
        self.sent = 0
        original = emu.world.record_event

        def record(kind: str, chat_id: int, message: Message) -> None:
            original(kind, chat_id, message)
            if kind in OUTGOING:
                self.sent += 1
            queue = self._queues.get(chat_id)
            if queue is not None:
                queue.put_nowait((kind, message, time.perf_counter()))

        emu.world.record_event = record  # type: ignore[method-assign]

    def watch(self, chat_id: int) -> None:
        self._queues[chat_id] = asyncio.Queue()

    async def next(
        self, chat_id: int, predicate: Callable[[Message], bool], within: float
    ) -> tuple[Message, float, float]:
        """The next new message matching ``predicate``; returns it, the time of the first
        new message seen (the reply) and the time of the match."""
        queue = self._queues[chat_id]
        first: float | None = None
        seen: list[str] = []
        try:
            async with asyncio.timeout(within):
                while True:
                    kind, message, at = await queue.get()
                    if kind not in OUTGOING:
                        continue
                    first = at if first is None else first
                    if predicate(message):
                        return message, first, at
                    seen.append((message.get("text") or message.get("caption") or "?")[:80])
        except TimeoutError:
            raise TimeoutError(f"no expected reply in {within} s; the bot sent {seen}") from None


def has_button(prefix: str) -> Callable[[Message], bool]:
    def match(message: Message) -> bool:
        rows = message.get("reply_markup", {}).get("inline_keyboard", [])
        return any(b.get("callback_data", "").startswith(prefix) for row in rows for b in row)

    return match


def contains(text: str) -> Callable[[Message], bool]:
    return lambda m: text in (m.get("text") or m.get("caption") or "")


def anything(_: Message) -> bool:
    return True


@dataclass
class PreparedPhoto:
    """A photo with Telegram's PhotoSize ladder computed before the timed part."""

    renditions: list[Any]


def prepare_photo(data: bytes) -> PreparedPhoto:
    return PreparedPhoto(sandbox_media.photo_renditions(data))


def send_prepared_photo(emu: Emulator, user: User, photo: PreparedPhoto) -> Message:
    """``Emulator.send_photo`` without re-encoding the ladder at every send."""
    records = [
        emu.world.files.add("photo", r.data, width=r.width, height=r.height)
        for r in photo.renditions
    ]
    for record in records:
        record.photo_set = [r.file_id for r in records]
    content = {"photo": [r.photo_size() for r in records]}
    return emu._post(user, None, content, None)


@dataclass
class BotProcess:
    """The bot under test in a child process, with its CPU and memory readable."""

    process: asyncio.subprocess.Process
    stderr: list[str] = field(default_factory=list)

    async def stats(self) -> dict[str, Any]:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(b"stats\n")
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        return json.loads(line)


@dataclass
class World:
    emu: Emulator
    replies: Replies
    bot: BotProcess
    group: Chat
    moderators: list[User]
    data_dir: Path


@asynccontextmanager
async def running_bot(
    kind: str,
    *,
    db_url: str | None = None,
    limiter: bool = True,
    serial: bool = False,
    flood_limits: bool = True,
    spec: bool = True,
    images_in_thread: bool = False,
    image_idle_seconds: float | None = None,
    sample_memory: bool = False,
) -> AsyncIterator[World]:
    """Start the emulator here and the bot (``kind``, see botproc) in a child process.

    ``images_in_thread``: photos processed in a thread of the bot, as before the image
    workers (a baseline); ``image_idle_seconds``: the image pool stops sooner when idle;
    ``sample_memory``: the bot samples its and its children's total RSS (botproc)."""
    with tempfile.TemporaryDirectory(prefix="selfie-bench-") as tmp:
        data_dir = Path(tmp)
        spec_path = None if spec else str(data_dir / "no-spec.json")
        emu = Emulator(
            token=TOKEN, bot_username="fiers_bot", flood_limits=flood_limits, spec_path=spec_path
        )
        async with emu:
            replies = Replies(emu)
            moderators = [emu.create_user("Camille", username="camille"), emu.create_user("Sam")]
            group = emu.create_group("Modération", members=moderators)
            emu.create_channel("Fiers d'être apprentis", username="fiers_test")
            raw = stand_config(
                api_url=emu.api_url,
                db_url=db_url or f"sqlite+aiosqlite:///{data_dir / 'bot.sqlite3'}",
                data_dir=data_dir,
                group_id=group.id,
                moderators=[m.id for m in moderators],
                images={"band": True},
            )
            config = write_config(data_dir / "config.toml", raw)
            args = [sys.executable, "-m", "benchmarks.botproc", str(config), kind]
            if not limiter:
                args.append("--no-limiter")
            if serial:
                args.append("--serial")
            if images_in_thread:
                args.append("--images-in-thread")
            if image_idle_seconds is not None:
                args += ["--image-idle-seconds", str(image_idle_seconds)]
            if sample_memory:
                args.append("--sample-memory")
            process = await asyncio.create_subprocess_exec(
                *args,
                cwd=ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            bot = BotProcess(process)
            reader = asyncio.create_task(_collect(process, bot.stderr))
            try:
                assert process.stdout
                line = await asyncio.wait_for(process.stdout.readline(), 60)
                if line.strip() != b"ready":
                    await asyncio.wait_for(reader, 5)
                    raise RuntimeError("bot did not start:\n" + "\n".join(bot.stderr[-30:]))
                async with _profiled(process.pid, kind):
                    yield World(emu, replies, bot, group, moderators, data_dir)
            finally:
                if process.returncode is None:
                    assert process.stdin
                    process.stdin.write(b"quit\n")
                    try:
                        await asyncio.wait_for(process.wait(), 20)
                    except TimeoutError:
                        process.kill()
                        await process.wait()
                await reader


@asynccontextmanager
async def _profiled(pid: int, kind: str) -> AsyncIterator[None]:
    prefix = os.environ.get(PROFILE_ENV)
    if not prefix:
        yield
        return
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    output = f"{prefix}.{kind}"
    args = ["record", "--rate", "200", "--format", "raw", "--output", output, "--pid", str(pid)]
    recorder = await asyncio.create_subprocess_exec(
        spy, *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    await asyncio.sleep(1)  # attached before the clock starts
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        _, errors = await recorder.communicate()
        print(f"profile of the {kind} bot: {output} ({errors.decode().strip()[-80:]})")


async def _collect(process: asyncio.subprocess.Process, lines: list[str]) -> None:
    assert process.stderr
    async for raw in process.stderr:
        lines.append(raw.decode(errors="replace").rstrip())


class Timer:
    """Reply latencies (user action -> the bot's first new message in that chat)."""

    def __init__(self, think: Callable[[], float] | None = None) -> None:
        self.latencies: list[float] = []
        self.started: list[float] = []
        """When each action of ``latencies`` was taken (perf_counter)."""
        self.think = think
        """Seconds a user waits before each action (None: acts at once)."""

    async def step(
        self,
        world: World,
        user: User,
        action: Callable[[], Any],
        expect: Callable[[Message], bool],
        within: float = 300.0,
    ) -> Message:
        if self.think is not None:
            await asyncio.sleep(self.think())
        start = time.perf_counter()
        result = action()
        if asyncio.iscoroutine(result):
            await result
        message, first, _ = await world.replies.next(user.id, expect, within)
        self.latencies.append(first - start)
        self.started.append(start)
        return message


def press(world: World, user: User, message: Message, data: str) -> Callable[[], Any]:
    return lambda: world.emu.press_button(user, copy.deepcopy(message), data)


def say(world: World, user: User, text: str) -> Callable[[], Any]:
    return lambda: world.emu.send_text(user, text)


async def text_steps(world: World, timer: Timer, user: User) -> Message:
    """The text and button steps of the conversation, /start to the photo question: 7
    updates, each answered by the bot."""
    step = timer.step
    consent = await step(world, user, say(world, user, "/start"), has_button("consent:"))
    age = await step(world, user, press(world, user, consent, "consent:yes"), has_button("age:"))
    name = await step(world, user, press(world, user, age, "age:adult"), has_button("name:"))
    trade = await step(world, user, press(world, user, name, "name:first"), has_button("trade:"))
    centre = await step(world, user, press(world, user, trade, "trade:0:0"), has_button("centre:"))
    await step(world, user, press(world, user, centre, "centre:0"), has_button("quote:"))
    return await step(world, user, say(world, user, "J'adore mon métier"), contains("📸"))


TEXT_STEPS = 7
FLOW_STEPS = TEXT_STEPS + 2


async def full_flow(world: World, timer: Timer, user: User, photo: PreparedPhoto) -> None:
    """The whole apprentice flow: the text steps, a 1280 px photo, then "send"."""
    await text_steps(world, timer, user)
    preview = await timer.step(
        world, user, lambda: send_prepared_photo(world.emu, user, photo), has_button("preview:")
    )
    await timer.step(world, user, press(world, user, preview, "preview:send"), contains("Merci"))


async def echo_steps(world: World, timer: Timer, user: User, count: int) -> None:
    """``count`` text messages, each waiting for the echo."""
    for i in range(count):
        await timer.step(world, user, say(world, user, f"message {i}"), anything)
