"""A test stand: the real bot Application against the emulator, with helpers to play it.

Everything is real: the PTB Application built by :func:`bot.app.application.build_application`, HTTP
on loopback to :class:`bot.sandbox.Emulator`, the database under test (SQLite or
PostgreSQL), Pillow. Only the clock of the conversation is the test's.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import tomllib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app.application import SelfieApplication, build_application
from bot.app.cli import ALLOWED_UPDATES
from bot.app.webhook import WebhookServer, start_webhook
from bot.config import Settings, settings_from_dict
from bot.sandbox.emulator import Chat, Emulator, User
from models import Submission
from tests.support import free_port

TOKEN = "123456:TEST-selfie-token"
STAND_MODE: ContextVar[str] = ContextVar("stand_mode", default="polling")
"""How a stand's bot gets its updates unless told: see conftest's ``both_modes``."""
WEBHOOK_SECRET = "stand-webhook-secret_0123456789"
BOTH_MODES = pytest.mark.usefixtures("both_modes")
"""Marks a test whose stands run in polling AND in webhook mode (conftest's ``both_modes``).

The mode changes how updates reach the bot, nothing after: so one whole flow per audience
runs in both (an apprentice's submission; a moderator's approval, listed and typed refusals,
and two moderators at once; the staff's commands; a withdrawal from the channel; a
follower's visit), beside the transport's own tests (``tests/e2e/test_webhook.py``:
delivery, secret, ordering, graceful stop). Every other stand runs in polling mode."""

CAMPAIGN: dict[str, Any] = {
    "name": "Fiers d'être apprentis",
    "channel": "@fiers_test",
    "hashtags": ["#FiersDEtreApprentis"],
    "offers_url": "https://example.org/offres",
    "trades": [
        {"sector": "Beauté", "trades": ["Coiffeur·se", "Esthéticien·ne"]},
        {"sector": "Alimentation", "trades": ["Boulanger·ère", "Pâtissier·ère", "Boucher·ère"]},
    ],
    "centres": [
        {"code": "cfa-dijon", "name": "CFA de Dijon"},
        {"code": "cfa-auxerre", "name": "CFA d'Auxerre"},
        {"code": "cfa-macon", "name": "CFA de Mâcon"},
    ],
}


def stand_config(
    *,
    api_url: str,
    db_url: str,
    data_dir: Path,
    group_id: int,
    moderators: list[int],
    **sections: dict[str, Any],
) -> dict[str, Any]:
    """The configuration of a stand, as the TOML file would hold it."""
    raw: dict[str, Any] = {
        "telegram": {"token": TOKEN, "api_url": api_url},
        "campaign": dict(CAMPAIGN),
        "moderation": {"chat_id": group_id, "moderators": moderators},
        "database": {"url": db_url},
        "storage": {"path": str(data_dir / "photos")},
        "images": {"band": False},
        # The coach answers each new photo (and the drawn test photos show no face): the
        # flows of other features take the photo as it is; tests/flows/apprentice/
        # test_coach.py turns it on.
        "coach": {"enabled": False},
        # Any free port: stands run side by side in one process (organiser/test_metrics.py).
        "monitoring": {"port": 0},
        # An ambiguous send is looked for on the channel at once (the emulator has made the
        # post, if any, before it loses the answer).
        "schedule": {"settle_after": 0},
    }
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    return raw


@dataclass
class Stand:
    emu: Emulator
    app: SelfieApplication
    settings: Settings
    group: Chat
    channel: Chat
    moderators: list[User]

    async def stored(self) -> list[Submission]:
        async with self.app.services.sessions() as session:
            return list(await session.scalars(select(Submission).order_by(Submission.id)))

    async def press(self, user: User, message: dict[str, Any], data: str) -> str:
        return await self.emu.press_button(user, message, data)

    async def reply(self, user: User, predicate: Any = None, timeout: float = 10.0) -> dict:
        """The bot's next message to ``user`` (matching ``predicate``): a new one, or the
        question a pressed button answered, replaced in place."""
        return await self.emu.wait_for(user, predicate, timeout=timeout)

    async def preview(self, user: User) -> dict[str, Any]:
        """The preview of ``user``'s photo, once the bot has also recorded it (its last
        write of the photo step): a fault after this falls on the next step."""
        preview = await self.reply(user, has_button("preview:send"))
        async with asyncio.timeout(10):
            while True:
                async with self.app.services.sessions() as session:
                    recorded = await session.scalar(
                        select(Submission.id).where(
                            Submission.apprentice_id == user.id,
                            Submission.photo_file_id.is_not(None),
                        )
                    )
                if recorded is not None:
                    return preview
                await asyncio.sleep(0.02)


async def answer_of(stand: Stand, query: str) -> dict[str, Any]:
    """What the bot answered to a button press, once it has."""
    async with asyncio.timeout(10):
        while (answer := stand.emu.callback_answer(query)) is None:
            await asyncio.sleep(0.02)
    return answer


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """Button text → callback data of a message's inline keyboard."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {b["text"]: b.get("callback_data", b.get("url", "")) for row in rows for b in row}


def data_of(message: dict[str, Any]) -> list[str]:
    return list(buttons(message).values())


def webhook_config(port: int) -> dict[str, Any]:
    """``[telegram]`` keys of webhook mode, the bot's server on loopback at ``port``."""
    return {
        "mode": "webhook",
        "webhook_url": f"http://127.0.0.1:{port}/telegram",
        "listen": "127.0.0.1",
        "port": port,
        "secret_token": WEBHOOK_SECRET,
    }


@asynccontextmanager
async def running_stand(
    db_url: str,
    data_dir: Path,
    *,
    channel_rights: dict[str, bool] | None = None,
    group_rights: dict[str, bool] | None = None,
    mode: str | None = None,
    **sections: dict[str, Any],
) -> AsyncIterator[Stand]:
    """Start the emulator and the bot (as ``selfie-bot run`` does), stop both after.

    The bot is an administrator of the channel; of the group too when ``group_rights`` is
    given (else a plain member). ``*_rights`` change some of its administrator rights.
    ``mode="webhook"``: the bot's webhook server on loopback, the emulator posting to it;
    by default the mode the test runs in (:data:`STAND_MODE`, set by the ``both_modes``
    fixture), else polling.
    """
    mode = mode or STAND_MODE.get()
    async with Emulator(token=TOKEN, bot_username="fiers_bot") as emu:
        moderators = [emu.create_user("Camille", username="camille_modo"), emu.create_user("Sam")]
        group = emu.create_group(
            "Modération",
            members=moderators,
            bot_status="member" if group_rights is None else "administrator",
            bot_rights=group_rights,
        )
        channel = emu.create_channel(
            "Fiers d'être apprentis", username="fiers_test", bot_rights=channel_rights
        )
        raw = stand_config(
            api_url=emu.api_url,
            db_url=db_url,
            data_dir=data_dir,
            group_id=group.id,
            moderators=[m.id for m in moderators],
            **sections,
        )
        if mode == "webhook":
            raw["telegram"].update(webhook_config(free_port()))
        settings = settings_from_dict(raw, base_dir=data_dir)
        app = build_application(settings)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        webhook: WebhookServer | None = None
        if mode == "webhook":
            webhook = await start_webhook(app, settings.telegram, ALLOWED_UPDATES)
        else:
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        try:
            yield Stand(emu, app, settings, group, channel, moderators)
        finally:
            # Calls a fault still holds end now: the bot stops as it would once Telegram
            # answers, not after the fault's full time.
            emu.release_held()
            if webhook is not None:
                await webhook.stop()
            elif app.updater is not None:
                await app.updater.stop()
            await app.stop()
            await app.shutdown()
            assert app.post_shutdown is not None
            await app.post_shutdown(app)


class BotProcess:
    """``selfie-bot run`` as a real subprocess, its log collected line by line."""

    def __init__(
        self,
        config_path: Path,
        python_args: tuple[str, ...] = ("-m", "bot"),
        preexec_fn: Callable[[], Any] | None = None,
    ) -> None:
        self.config_path = config_path
        self.python_args = python_args
        self.preexec_fn = preexec_fn
        """Run in the child before the bot (e.g. a lower open-file limit)."""
        self.lines: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self, timeout: float = 30.0) -> None:
        """Start and wait for the "ready" log line."""
        env = {k: v for k, v in os.environ.items() if k != "SELFIE_BOT_TOKEN"}
        self._ready.clear()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            *self.python_args,
            "run",
            "--config",
            str(self.config_path),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            preexec_fn=self.preexec_fn,
        )
        self._reader = asyncio.create_task(self._read())
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            raise AssertionError("bot not ready:\n" + "\n".join(self.lines)) from None

    async def _read(self) -> None:
        assert self.process and self.process.stdout
        async for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.lines.append(line)
            if "selfie-bot ready" in line:
                self._ready.set()

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        assert self.process and self._reader
        if self.process.returncode is None:
            self.process.send_signal(sig)
        code = await asyncio.wait_for(self.process.wait(), timeout)
        await self._reader
        return code

    @property
    def log(self) -> str:
        return "\n".join(self.lines)


@dataclass
class ProcessWorld:
    """The chats of a bot run as a process (:class:`BotProcess`) and its configuration."""

    raw: dict[str, Any]
    moderator: User
    group: Chat
    channel: Chat


def process_world(
    emu: Emulator,
    data_dir: Path,
    db_url: str = "sqlite+aiosqlite:///data/bot.sqlite3",
    **sections: dict[str, Any],
) -> ProcessWorld:
    """Camille moderating a new group, a new channel, the database ``db_url``: the world
    of a bot run as a process, and its configuration."""
    moderator = emu.create_user("Camille")
    group = emu.create_group("Modération", members=[moderator])
    channel = emu.create_channel("Fiers d'être apprentis", username="fiers_test")
    raw = stand_config(
        api_url=emu.api_url,
        db_url=db_url,
        data_dir=data_dir,
        group_id=group.id,
        moderators=[moderator.id],
        **sections,
    )
    return ProcessWorld(raw, moderator, group, channel)


def process_config(
    emu: Emulator,
    data_dir: Path,
    db_url: str = "sqlite+aiosqlite:///data/bot.sqlite3",
    **sections: dict[str, Any],
) -> dict[str, Any]:
    """The configuration of :func:`process_world`, for a test that needs no chat of it."""
    return process_world(emu, data_dir, db_url, **sections).raw


def write_config(path: Path, raw: dict[str, Any]) -> Path:
    """The stand's configuration as a TOML file (tables of scalars, lists and tables)."""
    lines: list[str] = []
    for section, values in raw.items():
        lines.append(f"[{section}]")
        nested = {
            k: v for k, v in values.items() if isinstance(v, list) and v and isinstance(v[0], dict)
        }
        for key, value in values.items():
            if key not in nested:
                lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
        for key, items in nested.items():
            for item in items:
                lines.append(f"[[{section}.{key}]]")
                lines.extend(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in item.items())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert tomllib.loads(path.read_text(encoding="utf-8")) == raw
    return path


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until ``condition()`` holds (what the emulator records, a process's state)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def has_button(prefix: str) -> Any:
    """A wait_for predicate: a message offering a button whose data starts with ``prefix``."""
    return lambda message: any(data.startswith(prefix) for data in data_of(message))


async def walk_to_photo(
    stand: Stand,
    user: User,
    *,
    start: str = "/start",
    age: str = "adult",
    name: str = "name:first",
    trade: str = "trade:0:0",
    centre: str | None = "centre:0",
    quote: str | None = None,
) -> None:
    """Answer every step up to the photo with buttons (a typed quote if given)."""
    await stand.emu.send_text(user, start)
    await stand.press(user, await stand.reply(user, has_button("consent:")), "consent:yes")
    await stand.press(user, await stand.reply(user, has_button("age:")), f"age:{age}")
    if age == "minor" and stand.settings.apprentices.minors == "guardian_confirmation":
        await stand.press(user, await stand.reply(user, has_button("guardian:")), "guardian:yes")
    await stand.press(user, await stand.reply(user, has_button("name:")), name)
    await stand.press(user, await stand.reply(user, has_button("trade:")), trade)
    if centre is not None:
        await stand.press(user, await stand.reply(user, has_button("centre:")), centre)
    quote_question = await stand.reply(user, has_button("quote:"))
    if quote is None:
        await stand.press(user, quote_question, "quote:skip")
    else:
        await stand.emu.send_text(user, quote)
    await stand.reply(user, "📸")
