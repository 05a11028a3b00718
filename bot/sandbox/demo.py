"""``selfie-bot sandbox``: the emulator, a demo world around it, and the real bot.

The emulator runs in a thread of its own (its own event loop), serving the Bot API and the
sandbox page on loopback; the bot runs in the main thread exactly as ``selfie-bot run``
does (``build_application`` + ``run_polling``), its ``telegram.api_url`` pointing at the
emulator. The page's "next slot now" control runs the publisher in the bot's loop.

The world: a moderators' group (two moderators and a member who is not one), the public
channel, and one apprentice to start with; the page adds more. The database and the
processed photos live in a data folder (``./sandbox-data`` by default), emptied at each
start since the emulated Telegram itself starts empty: only a folder the sandbox made.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import threading
import tomllib
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from bot.config import Settings, settings_from_dict

from .emulator.driver import Emulator
from .web import install
from .world import DemoWorld, create_world

log = logging.getLogger(__name__)

TOKEN = "424242:SANDBOX-selfie-bot"
BOT_USERNAME = "fiers_sandbox_bot"
DEFAULT_PORT = 8765
DEFAULT_DATA = Path("sandbox-data")
DEFAULT_CHANNEL = "fiersdetreapprentis"
DATABASE_FILE = "selfie-bot.sqlite3"
MARKER = ".selfie-bot-sandbox"
DEMO_DAYS = 183
"""The demo campaign ends this many days after the sandbox starts."""
MARKER_TEXT = "Made by selfie-bot sandbox, which empties this folder at each start.\n"


def demo_campaign() -> dict[str, Any]:
    """The demo configuration (campaign of config.example.toml), as parsed TOML."""
    text = resources.files("bot.sandbox").joinpath("demo.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def load_raw(config: Path | None) -> tuple[dict[str, Any], Path]:
    """The raw configuration to start from and the folder its relative paths hang from."""
    if config is None:
        return demo_campaign(), Path.cwd()
    return tomllib.loads(config.read_text(encoding="utf-8")), config.resolve().parent


def channel_username(raw: dict[str, Any]) -> str:
    channel = raw.get("campaign", {}).get("channel")
    if isinstance(channel, str) and channel.startswith("@") and len(channel) > 5:
        return channel[1:]
    return DEFAULT_CHANNEL


class NotASandboxFolder(Exception):
    """The data folder exists and was not made by the sandbox: it is never emptied."""


def reset_data(data: Path) -> None:
    """Empty what a previous sandbox left: the database, the processed photos, the site.

    Only in a folder the sandbox made itself (it leaves :data:`MARKER` in it), or an empty
    one: ``--data`` pointed at the bot's real data folder must not cost its database.
    """
    if data.exists() and not (data / MARKER).is_file():
        if not data.is_dir() or any(data.iterdir()):
            raise NotASandboxFolder(data)
    data.mkdir(parents=True, exist_ok=True)
    (data / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    for suffix in ("", "-journal", "-wal", "-shm"):
        (data / f"{DATABASE_FILE}{suffix}").unlink(missing_ok=True)
    for folder in (data / "photos", data / "site"):
        if folder.is_dir():
            for path in sorted(folder.rglob("*"), reverse=True):
                if path.is_dir():
                    path.rmdir()
                else:
                    path.unlink()


class EmulatorThread:
    """The emulator and the sandbox page, served from a thread with its own event loop."""

    def __init__(self, channel: str, samples_dir: Path, *, bot_name: str) -> None:
        self.channel = channel
        self.samples_dir = samples_dir
        self.bot_name = bot_name
        self.world: DemoWorld | None = None
        self.url = ""
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    def start(self, host: str, port: int, *, any_port_if_busy: bool = False) -> str:
        """Start serving; returns the root URL. A busy port raises OSError unless allowed."""
        self._thread = threading.Thread(
            target=self._main, args=(host, port, any_port_if_busy), name="sandbox", daemon=True
        )
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            raise self._error
        return self.url

    def _main(self, host: str, port: int, any_port: bool) -> None:
        try:
            asyncio.run(self._serve(host, port, any_port))
        except BaseException as error:  # reported to start(), or logged after it
            if not self._started.is_set():
                self._error = error
                self._started.set()
            else:
                log.exception("the sandbox server stopped")

    async def _serve(self, host: str, port: int, any_port: bool) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        emu = Emulator(TOKEN, bot_username=BOT_USERNAME, bot_name=self.bot_name, group_privacy=True)
        world = create_world(emu, self.channel, self.samples_dir)
        emu.app_hooks.append(lambda app: install(app, world))
        try:
            await emu.start(host, port)
        except OSError as error:
            if not (any_port and error.errno == errno.EADDRINUSE):
                raise
            await emu.start(host, 0)
        self.world = world
        self.url = emu.url
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            await emu.stop()

    def stop(self, timeout: float = 5.0) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:  # loop already closed
                pass
        if self._thread is not None:
            self._thread.join(timeout)


def sandbox_settings(
    raw: dict[str, Any], base_dir: Path, world: DemoWorld, api_url: str, data: Path
) -> Settings:
    """The configuration pointed at the emulator, its chats and the data folder."""
    raw = dict(raw)
    raw["telegram"] = {"token": TOKEN, "api_url": api_url}
    raw["campaign"] = {**raw.get("campaign", {}), "channel": f"@{world.channel.username}"}
    # A demo campaign ends too (a real one is warned when it does not say when): half a
    # year from today, so retention has a date and the first log line is not a warning.
    raw["campaign"].setdefault("ends", (date.today() + timedelta(days=DEMO_DAYS)).isoformat())
    raw["moderation"] = {
        **raw.get("moderation", {}),
        "chat_id": world.group.id,
        "moderators": [m.id for m in world.moderators],
    }
    raw["database"] = {"url": f"sqlite+aiosqlite:///{(data / DATABASE_FILE).resolve()}"}
    raw["storage"] = {"path": str((data / "photos").resolve())}
    raw["gallery"] = {
        "bot_username": BOT_USERNAME,  # the walls' QR codes open the emulated bot
        **raw.get("gallery", {}),
        "enabled": True,
        "path": str((data / "site").resolve()),
        "base_url": f"{api_url}/site/",
    }
    # Any free port (logged): a sandbox never takes a real bot's monitoring port.
    raw["monitoring"] = {**raw.get("monitoring", {}), "port": 0}
    return settings_from_dict(raw, base_dir=base_dir, environ={})
