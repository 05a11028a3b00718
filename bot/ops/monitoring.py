"""``/healthz`` and ``/metrics`` on their own port, served from the bot's event loop.

A minimal HTTP/1.1 server (``asyncio.start_server``: GET and HEAD, one request per
connection) rather than a web framework: two fixed pages, read by a monitoring system on
loopback or through the proxy. ``/healthz`` answers 200 ``ok`` or 503 with the first
problem found, in one line; ``/metrics`` is Prometheus' text format of the default
registry (:mod:`bot.metrics` and whatever else registers there).

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

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import HTTPXRequest

from bot.campaign.schedule import next_slots
from bot.config import MonitoringSettings
from bot.metrics import API_ERRORS, NEXT_SLOT, QUEUE_LENGTH, SUBMISSIONS
from models import AuditAction, Submission, SubmissionStatus
from models.base import utcnow

if TYPE_CHECKING:
    from bot.services import SelfieApplication

log = logging.getLogger(__name__)

CHECK_SECONDS = 10.0
"""Longest wait for Telegram or the database before calling it unreachable."""
READ_SECONDS = 5.0
MAX_HEADER_LINES = 100
TIMED_DECISIONS = frozenset({AuditAction.APPROVE, AuditAction.REFUSE})


def update_type(update: object) -> str:
    """The kind of an update (``message``, ``callback_query``…), ``other`` for anything else."""
    if isinstance(update, Update):
        return next(
            (kind for kind in Update.ALL_TYPES if getattr(update, kind, None) is not None),
            "other",
        )
    return "other"


async def decision_seconds(
    session: AsyncSession, action: str, submission_id: int | None
) -> float | None:
    """How long the entry waited for the decision just recorded (None if not a decision)."""
    if action not in TIMED_DECISIONS or submission_id is None:
        return None
    return await session.scalar(
        select(Submission.decision_seconds).where(Submission.id == submission_id)
    )


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


def updates_problem(application: SelfieApplication) -> str | None:
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

    application: SelfieApplication
    settings: MonitoringSettings
    telegram_cache_seconds: float = 5.0
    """A ``getMe`` answer is reused this long, so a burst of probes costs one call."""
    port: int | None = None
    """The port listened on, once started."""
    _server: asyncio.Server | None = field(default=None, init=False)
    _telegram: tuple[float, str | None] | None = field(default=None, init=False)
    """When Telegram was last asked, and its answer."""
    _telegram_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    async def start(self) -> None:
        host = self.settings.listen
        try:
            self._server = await asyncio.start_server(self._serve, host, self.settings.port)
        except OSError as error:
            log.error("monitoring not started on %s:%s: %s", host, self.settings.port, error)
            return
        self.port = int(self._server.sockets[0].getsockname()[1])
        shown = f"[{host}]" if ":" in host else host
        log.info("monitoring: /healthz and /metrics on http://%s:%s", shown, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def problem(self) -> str | None:
        """The first reason the bot is unhealthy, in one line, or None."""
        return (
            updates_problem(self.application)
            or await self._database_problem()
            or await self._telegram_problem()
        )

    async def _database_problem(self) -> str | None:
        engine = self.application.services.engine
        try:
            async with asyncio.timeout(CHECK_SECONDS), engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            return f"database: {_one_line(error, '')}"
        return None

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
        services = self.application.services
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

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_SECONDS):
                method, path = await _read_request(reader)
            status, content_type, body = await self._answer(method, path)
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
                "Connection: close\r\n\r\n"
            )
            writer.write(head.encode("ascii") + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (TimeoutError, ValueError, ConnectionError):
            pass  # a slow, malformed or vanished client: nothing to answer
        except Exception:
            log.exception("monitoring request failed")
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError:
                pass

    async def _answer(self, method: str, path: str) -> tuple[str, str, bytes]:
        plain_text = "text/plain; charset=utf-8"
        if path not in ("/healthz", "/metrics"):
            return "404 Not Found", plain_text, b"not found\n"
        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", plain_text, b"GET or HEAD\n"
        if path == "/metrics":
            return "200 OK", CONTENT_TYPE_LATEST, await self.metrics()
        problem = await self.problem()
        if problem is None:
            return "200 OK", plain_text, b"ok\n"
        return "503 Service Unavailable", plain_text, f"{problem}\n".encode()


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str]:
    """The method and path of a request; its headers are read and ignored."""
    parts = (await reader.readline()).decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise ValueError("not an HTTP request")
    for _ in range(MAX_HEADER_LINES):
        if (await reader.readline()).strip() == b"":
            break
    else:
        raise ValueError("too many header lines")
    return parts[0], parts[1].split("?", 1)[0]
