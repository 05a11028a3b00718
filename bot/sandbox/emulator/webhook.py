"""Webhook delivery, as Telegram does it once ``setWebhook`` has a URL.

Each pending update is POSTed as JSON to the URL, with the secret in the
``X-Telegram-Bot-Api-Secret-Token`` header, one at a time and in order; an update leaves
the queue only when the bot answered 2xx. Any other answer, or none, is a failed delivery:
``getWebhookInfo`` shows it (``last_error_date``, ``last_error_message``) and the same
update is tried again after a pause that grows up to :data:`MAX_RETRY_PAUSE`.

One deliberate difference with Telegram: plain ``http://`` URLs are accepted on loopback
(the bot under test listens there without TLS); elsewhere only HTTPS on Telegram's ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from .errors import bad_request
from .state import DEFAULT_UPDATE_TYPES, UpdateQueue

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PORTS = (80, 88, 443, 8443)
LOOPBACK = ("127.0.0.1", "localhost", "::1")
FIRST_RETRY_PAUSE = 0.05
MAX_RETRY_PAUSE = 2.0
DELIVERY_TIMEOUT = 10.0
_SECRET_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def check_url(url: str) -> None:
    """Telegram's refusals of a webhook URL (loopback HTTP excepted, see above)."""
    parts = urlsplit(url)
    if parts.hostname in LOOPBACK and parts.scheme in ("http", "https"):
        return
    if parts.scheme != "https" or not parts.hostname:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if (parts.port or 443) not in PORTS:
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")


def check_secret(secret: str | None) -> None:
    if secret is not None and not (1 <= len(secret) <= 256 and set(secret) <= _SECRET_CHARS):
        raise bad_request("secret token contains unallowed characters")


class Webhook:
    """The webhook of the emulated bot and the task delivering to it."""

    def __init__(self, queue: UpdateQueue, stopping: asyncio.Event) -> None:
        self.queue = queue
        self.stopping = stopping
        self.url = ""
        self.secret: str | None = None
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self.delivered: list[int] = []  # update ids answered 2xx, for tests
        self._task: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return bool(self.url)

    async def set(self, url: str, secret: str | None) -> None:
        """Deliver to ``url`` from now on (restarting the delivery on a new URL)."""
        await self.delete()
        self.url, self.secret = url, secret
        self.resume()

    def resume(self) -> None:
        """Deliver again to the webhook still set (the emulator starts again after a stop),
        as Telegram does after an outage."""
        if self.url and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._deliver(), name="webhook")

    async def delete(self) -> None:
        await self.close()
        self.url, self.secret = "", None
        self.last_error_date = self.last_error_message = None

    async def close(self) -> None:
        """Stop delivering (the emulator stops); the webhook stays set."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def info(self) -> dict[str, Any]:
        """getWebhookInfo's WebhookInfo."""
        info: dict[str, Any] = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.queue.pending),
        }
        if not self.url:
            return info
        info["max_connections"] = 40
        if self.queue.allowed != DEFAULT_UPDATE_TYPES:
            info["allowed_updates"] = sorted(self.queue.allowed)
        if self.last_error_date is not None:
            info["last_error_date"] = self.last_error_date
            info["last_error_message"] = self.last_error_message
        return info

    async def _deliver(self) -> None:
        timeout = aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            pause = FIRST_RETRY_PAUSE
            while not self.stopping.is_set():
                await self.queue.wait(3600, self.stopping)
                if not self.queue.pending:
                    continue
                update = self.queue.pending[0]
                if await self._post(session, update):
                    self._confirm(update)
                    pause = FIRST_RETRY_PAUSE
                else:
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, MAX_RETRY_PAUSE)

    async def _post(self, session: aiohttp.ClientSession, update: dict[str, Any]) -> bool:
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers[SECRET_HEADER] = self.secret
        body = json.dumps(update, ensure_ascii=False)
        try:
            async with session.post(self.url, data=body, headers=headers) as answer:
                if 200 <= answer.status < 300:
                    return True
                error = f"Wrong response from the webhook: {answer.status} {answer.reason}"
        except (aiohttp.ClientError, TimeoutError) as problem:
            error = f"Connection failed: {type(problem).__name__}"
        self.last_error_date = int(time.time())
        self.last_error_message = error
        return False

    def _confirm(self, update: dict[str, Any]) -> None:
        if self.queue.pending and self.queue.pending[0] is update:
            self.queue.pending.pop(0)
        self.delivered.append(update["update_id"])
