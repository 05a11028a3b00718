"""Webhook mode: Telegram posts each update to the bot's own aiohttp server.

The server is aiohttp's low-level one (:class:`aiohttp.web.Server` run by a
:class:`aiohttp.web.ServerRunner`), and each request costs a caller without the secret
next to nothing: the ``X-Telegram-Bot-Api-Secret-Token`` header is compared (in constant
time) before a byte of the body is read, and a refused request closes its connection.
The order of the checks: wrong path 404, not POST 405, no secret or a wrong one 403, a
declared ``Content-Length`` over :data:`MAX_BODY` 413; then, for the secret's holder
only, the body is read within :data:`BODY_SECONDS` (408) and at most :data:`MAX_BODY`
bytes of it, chunked or not (413); not JSON or not an update 400. Every refusal is counted
(:data:`REFUSED`) and none is logged: a request is never quoted, and an update that cannot
be read is logged by its id and type only.

What aiohttp gives, set here: ``keepalive_timeout`` (:data:`IDLE_SECONDS`: an idle
keep-alive connection, or one sending its next request's headers too slowly, is closed),
``lingering_time=0`` (the unread body of a refused request is not drained: the connection
is closed at once), ``max_line_size``, ``max_field_size`` and ``max_headers`` (the headers
of a request stay a few KB), ``access_log=None`` and its own ``logger`` (one line per
period, see :class:`OncePerPeriod`), ``shutdown_timeout``. What it lacks, written here
(:class:`GuardedServer`): a deadline for a new connection's first request headers (the
keep-alive timer covers a connection from its first byte only in recent aiohttp, and the
project allows 3.10), a read deadline for the body, and a cap on simultaneous connections
(:func:`connection_cap`).

At the cap a new connection is accepted and the oldest connection that has not yet sent
its first request's headers is closed in its place; if every connection is inside a
request (which needs the secret), the new one is closed at once. Neither refusal waits:
left in the kernel's backlog, Telegram's connections would queue behind a crowd of idle
ones until their deadline, whereas a connection that says who it is in its first packet,
as Telegram's does, is never the oldest silent one; closed at once, a refused client
learns it immediately (Telegram retries).

When the process is out of open files, asyncio's accept loop stops accepting for a second
and tries again (``ACCEPT_RETRY_DELAY``): it does not spin, but reports each retry with a
traceback. :func:`quiet_servers` makes that one warning line per minute.

The lifecycle of :func:`run_webhook` is PTB's ``run_webhook``'s, with this server in place
of PTB's: initialize, post_init, the server, setWebhook, start; on SIGINT or SIGTERM the
server stops first (no new update), then the Application (the updates in hand and the
running jobs finish), post_stop, shutdown, post_shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import resource
import signal
import time
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from prometheus_client import Counter
from telegram import Update
from telegram.ext import Application, ExtBot

from bot.app.logs import LOG_PERIOD, OncePerPeriod, describe
from bot.config import TelegramSettings

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 256 * 1024
"""Largest update accepted, in bytes: Telegram's are a few KB (a caption is 1024
characters, a text 4096)."""
HEADER_SECONDS = 5.0
"""A new connection sends its first request's headers within this time, or is closed."""
BODY_SECONDS = 5.0
"""A request with the secret sends its whole body within this time, or gets 408."""
IDLE_SECONDS = 5.0
"""A keep-alive connection idle this long (or slow with its next headers) is closed."""
SHUTDOWN_SECONDS = 1.0
"""At stop, a request still being read holds the server no longer than this (Telegram
sends again an update it got no answer for)."""
MAX_CONNECTIONS = 100
"""Simultaneous connections at most (Telegram opens up to 40, setWebhook's default)."""
REFUSED = Counter(
    "selfie_webhook_refused",
    "Requests to the webhook refused: wrong path or method, no secret token or a wrong one, "
    "a body too large, too slow or not an update.",
)
"""On prometheus-client's default registry, so ``/metrics`` shows it."""


def connection_cap(open_files: int | None = None) -> int:
    """:data:`MAX_CONNECTIONS`, or a quarter of the process's open-file limit when that is
    less: the webhook's connections never take the files the database, the Bot API's
    connections, the photos and the monitoring need."""
    if open_files is None:
        open_files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if open_files == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(1, min(MAX_CONNECTIONS, open_files // 4))


ACCEPT_ERROR = "socket.accept() out of system resource"
"""asyncio's report when accept fails for want of files or memory (EMFILE, ENFILE…)."""
HTTP_LOGGER = f"{__name__}.http"
"""aiohttp's reports of what it refused itself (a malformed request), for our server."""


def quiet_servers() -> None:
    """One warning line per period for asyncio's failed accepts (any server of the
    process: the webhook's, the monitoring's) and for the webhook's malformed requests.
    Idempotent."""
    for name, prefixes in (("asyncio", (ACCEPT_ERROR,)), (HTTP_LOGGER, ())):
        logger = logging.getLogger(name)
        if not any(isinstance(f, OncePerPeriod) for f in logger.filters):
            logger.addFilter(OncePerPeriod(prefixes))


class GuardedServer(web.Server):
    """aiohttp's server with a cap on connections and a deadline for the first headers.

    A connection is *fresh* from its accept until its first request's headers are read
    (:meth:`started`); a fresh one still fresh after :data:`HEADER_SECONDS` is closed, and
    at the cap the oldest fresh one makes room for the new (see the module's docstring).
    """

    def __init__(self, handler: Any, *, max_connections: int, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.max_connections = max_connections
        self.open: dict[RequestHandler, None] = {}
        """Connections open, oldest first."""
        self.fresh: dict[RequestHandler, asyncio.TimerHandle] = {}
        """Connections without a request yet, oldest first, and their deadlines."""
        self.closed_at_cap = 0
        self.closed_at_deadline = 0
        self._said_at_cap = float("-inf")

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        loop = asyncio.get_running_loop()
        self.open[handler] = None
        self.fresh[handler] = loop.call_later(HEADER_SECONDS, self._deadline, handler)
        if len(self.open) > self.max_connections:
            self._at_cap(handler)

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        self._forget(handler)

    def started(self, handler: RequestHandler) -> None:
        """``handler``'s connection has sent a request's headers: no longer fresh."""
        deadline = self.fresh.pop(handler, None)
        if deadline is not None:
            deadline.cancel()

    def _forget(self, handler: RequestHandler) -> None:
        self.started(handler)
        self.open.pop(handler, None)

    def _close(self, handler: RequestHandler) -> None:
        self._forget(handler)
        handler.force_close()

    def _deadline(self, handler: RequestHandler) -> None:
        if handler in self.fresh:
            self.closed_at_deadline += 1
            self._close(handler)

    def _at_cap(self, new: RequestHandler) -> None:
        self.closed_at_cap += 1
        oldest_fresh = next((h for h in self.fresh if h is not new), new)
        self._close(oldest_fresh)
        now = time.monotonic()
        if now - self._said_at_cap >= LOG_PERIOD:
            self._said_at_cap = now
            log.warning(
                "webhook: %s connections open, the most allowed: the oldest one without a "
                "request closed for a new one (%s so far)",
                self.max_connections,
                self.closed_at_cap,
            )


class WebhookProblem(Exception):
    """The webhook server cannot start (its port is taken…): the reason, in one line."""


class _Refusal(Exception):
    def __init__(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(text)
        self.status, self.text, self.headers = status, text, headers or {}


class WebhookServer:
    """The webhook's HTTP server: checks each request, puts each update on the
    Application's update queue."""

    def __init__(self, application: Application, path: str, secret: str) -> None:
        if not secret:
            raise ValueError("the webhook needs its secret token")
        self.application = application
        self.paths = {path, path.rstrip("/") + "/"} if path != "/" else {"/"}
        self._secret = secret.encode()
        self.server: GuardedServer | None = None
        self._runner: web.ServerRunner | None = None
        self.port: int | None = None
        """The port listened on, once started."""

    async def start(self, host: str, port: int) -> None:
        self.server = GuardedServer(
            self.handle,
            max_connections=connection_cap(),
            keepalive_timeout=IDLE_SECONDS,
            lingering_time=0,
            max_line_size=4096,
            max_field_size=4096,
            max_headers=32,
            access_log=None,
            logger=logging.getLogger(HTTP_LOGGER),
        )
        runner = web.ServerRunner(self.server, shutdown_timeout=SHUTDOWN_SECONDS)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as error:
            await runner.cleanup()
            # asyncio's strerror repeats the address: the system's words alone.
            reason = os.strerror(error.errno) if error.errno else str(error)
            raise WebhookProblem(
                f"webhook: cannot listen on {host}:{port} ({reason}): check telegram.listen "
                "and telegram.port"
            ) from None
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("webhook: listening on %s:%s", host, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        if self.server is not None:
            for deadline in self.server.fresh.values():
                deadline.cancel()
            self.server.fresh.clear()

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        assert self.server is not None
        self.server.started(request.protocol)
        try:
            update = await self._update(request)
        except _Refusal as refusal:
            REFUSED.inc()
            discard_buffered(request)
            response = web.Response(
                status=refusal.status, text=refusal.text + "\n", headers=refusal.headers
            )
            response.force_close()
            return response
        bot = self.application.bot
        if isinstance(bot, ExtBot):
            bot.insert_callback_data(update)
        await self.application.update_queue.put(update)
        return web.Response()

    async def _update(self, request: web.BaseRequest) -> Update:
        if request.path not in self.paths:
            raise _Refusal(404, "not found")
        if request.method != "POST":
            raise _Refusal(405, "POST only", {"Allow": "POST"})
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self._secret):
            raise _Refusal(403, "forbidden")
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise _Refusal(413, "too large")
        body = await read_body(request)
        data = _json_object(body) if request.content_type == "application/json" else None
        if data is None:
            log.warning(
                "webhook: a request with the secret but not a JSON object (%s bytes)", len(body)
            )
            raise _Refusal(400, "not JSON")
        try:
            update = Update.de_json(data, self.application.bot)
        except Exception as error:
            update, problem = None, type(error).__name__
        else:
            problem = "empty"
        if update is None:
            log.warning(
                "webhook: update %s could not be read (%s): not handled", describe(data), problem
            )
            raise _Refusal(400, "not an update")
        return update


def discard_buffered(request: web.BaseRequest) -> None:
    """Drop the part of a refused request's body already received, without waiting for
    more: a small request (Telegram's, with a stale secret) is then wholly consumed and
    its connection closes cleanly, the answer read; closed with data still unread, the
    connection would be reset, and a reset discards the answer at the other end."""
    with contextlib.suppress(Exception):
        while request.content.read_nowait():
            pass


async def read_body(request: web.BaseRequest) -> bytes:
    """The body, read within :data:`BODY_SECONDS` and at most :data:`MAX_BODY` bytes."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(BODY_SECONDS):
            while chunk := await request.content.readany():
                size += len(chunk)
                if size > MAX_BODY:
                    raise _Refusal(413, "too large")
                chunks.append(chunk)
    except TimeoutError:
        raise _Refusal(408, "too slow") from None
    except _Refusal:
        raise
    except Exception as error:  # the client went away, a malformed chunk…
        raise _Refusal(400, f"unreadable body ({type(error).__name__})") from None
    return b"".join(chunks)


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


async def start_webhook(
    application: Application, telegram: TelegramSettings, allowed_updates: list[str]
) -> WebhookServer:
    """Listen on ``listen:port``, then register the URL with Telegram (``setWebhook``:
    the secret, ``allowed_updates``, pending updates kept)."""
    quiet_servers()
    server = WebhookServer(application, telegram.webhook_path, telegram.secret_token)
    await server.start(telegram.listen, telegram.port)
    try:
        await application.bot.set_webhook(
            url=telegram.webhook_url,
            secret_token=telegram.secret_token,
            allowed_updates=allowed_updates,
            drop_pending_updates=False,
        )
    except BaseException:
        await server.stop()
        raise
    return server


async def run_webhook(
    application: Application, telegram: TelegramSettings, allowed_updates: list[str]
) -> None:
    """Run the Application on the webhook until SIGINT or SIGTERM (see the module)."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for number in signals:
        loop.add_signal_handler(number, stopping.set)
    server: WebhookServer | None = None
    try:
        await application.initialize()
        if application.post_init is not None:
            await application.post_init(application)
        server = await start_webhook(application, telegram, allowed_updates)
        await application.start()
        await stopping.wait()
    finally:
        try:
            if server is not None:
                await server.stop()
            if application.running:
                await application.stop()
                if application.post_stop is not None:
                    await application.post_stop(application)
            await application.shutdown()
            if application.post_shutdown is not None:
                await application.post_shutdown(application)
        finally:
            for number in signals:
                loop.remove_signal_handler(number)


def serve_webhook(
    application: Application, telegram: TelegramSettings, allowed_updates: list[str]
) -> None:
    """:func:`run_webhook` in a new event loop."""
    asyncio.run(run_webhook(application, telegram, allowed_updates))
