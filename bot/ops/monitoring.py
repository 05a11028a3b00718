"""``/healthz`` and ``/metrics`` on their own port, served from the bot's event loop.

An aiohttp server (GET and HEAD), read by a monitoring system on loopback or through the
proxy. ``/healthz`` answers 200 ``ok`` or 503 with the first problem found, in one line;
``/metrics`` is Prometheus' text format of the default registry (:mod:`bot.metrics` and
whatever else registers there). Every answer, errors included, is plain text and never
cached.

Also the hooks that need Telegram or the database (image workers import :mod:`bot.metrics`
and stay light): the update type, the decision time, the Bot API errors.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text
from telegram import Update
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.ext import Application
from telegram.request import HTTPXRequest

from bot.campaign.schedule import next_slots
from bot.config import MonitoringSettings
from bot.metrics import API_ERRORS, NEXT_SLOT, QUEUE_LENGTH, SUBMISSIONS
from bot.services import Services
from models import Submission, SubmissionStatus
from models.base import utcnow
from models.db import sqlite_write_problem

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler


log = logging.getLogger(__name__)

CHECK_SECONDS = 10.0
"""Longest wait for Telegram or the database before calling it unreachable."""
IDLE_SECONDS = 5.0
"""A connection is dropped once idle this long, or still sending its request after it."""
SHUTDOWN_SECONDS = 1.0
"""A probe still being answered holds up the bot's stop no longer than this."""


def update_type(update: object) -> str:
    """The kind of an update (``message``, ``callback_query``…), ``other`` for anything else."""
    if isinstance(update, Update):
        return next(
            (kind for kind in Update.ALL_TYPES if getattr(update, kind, None) is not None),
            "other",
        )
    return "other"


_METHOD_RE = re.compile(r"^[A-Za-z]{1,64}$")


def api_method(url: str) -> str:
    """The Bot API method of a request URL; ``file`` for downloads. The URL holds the
    token: only its last segment, a bare method name, is ever kept."""
    if "/file/bot" in url:
        return "file"
    method = url.rsplit("/", 1)[-1]
    return method if _METHOD_RE.match(method) else "other"


class CountingRequest(HTTPXRequest):
    """PTB's HTTP layer, counting the calls that fail (``API_ERRORS``): every error answer
    by its HTTP code, a time-out or a lost connection by its kind."""

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        try:
            code, payload = await super().do_request(url, method, *args, **kwargs)
        except TimedOut:
            API_ERRORS.labels(method=api_method(url), code="timeout").inc()
            raise
        except NetworkError:
            API_ERRORS.labels(method=api_method(url), code="network").inc()
            raise
        if code >= 400:
            API_ERRORS.labels(method=api_method(url), code=str(code)).inc()
        return code, payload


def _one_line(error: BaseException, secret: str) -> str:
    """An error as one short line, the token blanked out should it appear."""
    message = str(error).splitlines()[0] if str(error) else ""
    message = message.replace(secret, "***") if secret else message
    return f"{type(error).__name__}: {message}"[:200] if message else type(error).__name__


def updates_problem(application: Application) -> str | None:
    """Why updates are not coming in any more, or None: the application or its updater
    stopped, or the polling loop ended on its own (PTB ends it on a revoked token and
    leaves the process running)."""
    if not application.running:
        return "updates: the application is not running"
    updater = application.updater
    if updater is None:
        return None
    if not updater.running:
        return "updates: the updater is not running"
    # PTB keeps the polling task private; it is the only sign that polling gave up.
    polling = getattr(updater, "_Updater__polling_task", None)
    if isinstance(polling, asyncio.Task) and polling.done():
        error = None if polling.cancelled() else polling.exception()
        cause = type(error).__name__ if error else "ended"
        return f"updates: polling stopped ({cause})"
    return None


@dataclass
class Monitor:
    """The monitoring server of one bot, and its health checks."""

    application: Application
    services: Services
    settings: MonitoringSettings
    telegram_cache_seconds: float = 5.0
    """A ``getMe`` answer is reused this long, so a burst of probes costs one call."""
    port: int | None = None
    """The port listened on, once started."""
    _runner: web.AppRunner | None = field(default=None, init=False)
    _telegram: tuple[float, str | None] | None = field(default=None, init=False)
    """When Telegram was last asked, and its answer."""
    _telegram_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    async def start(self) -> None:
        """Listen; a port that cannot be bound is logged, and the bot runs on without it."""
        host = self.settings.listen
        app = web.Application(middlewares=[_plain_errors])
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(
            app,
            access_log=None,
            keepalive_timeout=IDLE_SECONDS,
            shutdown_timeout=SHUTDOWN_SECONDS,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, self.settings.port).start()
        except OSError as error:
            await runner.cleanup()
            log.error("monitoring not started on %s:%s: %s", host, self.settings.port, error)
            return
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        shown = f"[{host}]" if ":" in host else host
        log.info("monitoring: /healthz and /metrics on http://%s:%s", shown, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def problem(self) -> str | None:
        """The first reason the bot is unhealthy, in one line, or None."""
        return (
            updates_problem(self.application)
            or await self._database_problem()
            or self._room_problem()
            or await self._telegram_problem()
        )

    def _room_problem(self) -> str | None:
        """A folder a write found full, until it has room again (the catch-up job looks)."""
        full = sorted(self.services.full.full)
        return f"disk: full ({', '.join(full)})" if full else None

    async def _database_problem(self) -> str | None:
        engine = self.services.engine
        try:
            async with asyncio.timeout(CHECK_SECONDS), engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            locked = await asyncio.to_thread(sqlite_write_problem, engine)
        except Exception as error:
            return f"database: {_one_line(error, '')}"
        return f"database: {locked}" if locked else None

    async def _telegram_problem(self) -> str | None:
        async with self._telegram_lock:
            now = time.monotonic()
            if self._telegram is None or now - self._telegram[0] >= self.telegram_cache_seconds:
                self._telegram = (now, await self._call_get_me())
            return self._telegram[1]

    async def _call_get_me(self) -> str | None:
        bot = self.application.bot
        try:
            async with asyncio.timeout(CHECK_SECONDS):
                await bot.get_me()
        except (TelegramError, TimeoutError) as error:
            return f"telegram: {_one_line(error, bot.token)}"
        return None

    async def metrics(self) -> bytes:
        await self._refresh_database_gauges()
        return generate_latest()

    async def _refresh_database_gauges(self) -> None:
        """Entries by status and the queue, from one GROUP BY; without a database they are
        left out rather than shown stale."""
        services = self.services
        statement = select(Submission.status, func.count()).group_by(Submission.status)
        try:
            async with asyncio.timeout(CHECK_SECONDS), services.sessions() as session:
                rows = {status: count for status, count in await session.execute(statement)}
        except Exception as error:
            log.warning("metrics without the database gauges: %s", _one_line(error, ""))
            SUBMISSIONS.clear()
            return
        counts = {status: 0 for status in SubmissionStatus} | rows
        for status, count in counts.items():
            SUBMISSIONS.labels(status=status.value).set(count)
        QUEUE_LENGTH.set(counts[SubmissionStatus.APPROVED])
        NEXT_SLOT.set(next_slots(services.settings.schedule, utcnow(), 1)[0].timestamp())

    async def _healthz(self, request: web.Request) -> web.Response:
        problem = await self.problem()
        if problem is None:
            return _plain(200, "ok")
        return _plain(503, problem)

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=await self.metrics(),
            headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"},
        )


def _plain(status: int, line: str) -> web.Response:
    return web.Response(
        status=status,
        text=f"{line}\n",
        content_type="text/plain",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )


@web.middleware
async def _plain_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own 404 and 405 pages, as one plain line like the others."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return _plain(404, "not found")
    except web.HTTPMethodNotAllowed:
        return _plain(405, "GET or HEAD")
