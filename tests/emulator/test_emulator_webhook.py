"""The emulator's webhook: setWebhook, getWebhookInfo, deleteWebhook, and delivery by HTTP
POST to a real receiver on loopback (one update at a time, in order, retried on failure)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from bot.sandbox.emulator import Emulator
from bot.sandbox.emulator.testing import ApiClient
from bot.sandbox.emulator.webhook import SECRET_HEADER


@dataclass
class Receiver:
    """A webhook endpoint: records what it gets; answers ``failures`` times 500 first."""

    url: str = ""
    received: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)
    failures: int = 0
    attempts: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.failures:
            self.failures -= 1
            return web.Response(status=500)
        self.received.append((request.headers.get(SECRET_HEADER), await request.json()))
        return web.Response(text="")

    async def count(self, n: int) -> list[dict[str, Any]]:
        async with asyncio.timeout(10):
            while len(self.received) < n:
                await asyncio.sleep(0.02)
        return [update for _, update in self.received]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    receiver.url = f"http://127.0.0.1:{port}/hook"
    yield receiver
    await runner.cleanup()


def texts(updates: list[dict[str, Any]]) -> list[str]:
    return [u["message"]["text"] for u in updates]


async def test_set_webhook_delivers_in_order_with_the_secret(
    emu: Emulator, api: ApiClient, receiver: Receiver
) -> None:
    lea = emu.create_user("Léa")
    await emu.send_text(lea, "avant")  # pending before the webhook: delivered too
    assert await api.ok(
        "setWebhook",
        url=receiver.url,
        secret_token="s3cret_-",
        allowed_updates=json.dumps(["message", "callback_query"]),
    )
    for text in ("un", "deux"):
        await emu.send_text(lea, text)
    assert texts(await receiver.count(3)) == ["avant", "un", "deux"]
    assert {secret for secret, _ in receiver.received} == {"s3cret_-"}
    info = await api.ok("getWebhookInfo")
    assert info["url"] == receiver.url
    assert info["allowed_updates"] == ["callback_query", "message"]
    assert info["pending_update_count"] == 0
    status, body = await api.call("getUpdates")
    assert status == 409 and "webhook is active" in body["description"]


async def test_failed_deliveries_are_retried_and_shown(
    emu: Emulator, api: ApiClient, receiver: Receiver
) -> None:
    receiver.failures = 3
    lea = emu.create_user("Léa")
    await api.ok("setWebhook", url=receiver.url)
    await emu.send_text(lea, "un")
    await emu.send_text(lea, "deux")
    assert texts(await receiver.count(2)) == ["un", "deux"]
    assert receiver.attempts == 5
    info = await api.ok("getWebhookInfo")
    assert "500" in info["last_error_message"] and info["last_error_date"] > 0


async def test_delete_webhook_stops_delivery_and_reopens_get_updates(
    emu: Emulator, api: ApiClient, receiver: Receiver
) -> None:
    lea = emu.create_user("Léa")
    await api.ok("setWebhook", url=receiver.url, secret_token="abc")
    await emu.send_text(lea, "un")
    await receiver.count(1)
    assert await api.ok("deleteWebhook")
    await emu.send_text(lea, "deux")
    assert texts(await api.ok("getUpdates")) == ["deux"]
    assert (await api.ok("getWebhookInfo"))["url"] == ""
    assert texts(await receiver.count(1)) == ["un"]
    # setWebhook with an empty URL removes it too; drop_pending_updates empties the queue.
    await api.ok("setWebhook", url=receiver.url, drop_pending_updates=True)
    assert (await api.ok("getWebhookInfo"))["pending_update_count"] == 0
    await api.ok("setWebhook", url="")
    assert (await api.ok("getWebhookInfo"))["url"] == ""


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"url": "http://example.org/hook"}, "An HTTPS URL must be provided"),
        ({"url": "https://example.org:9000/hook"}, "only on ports 80, 88, 443 or 8443"),
        ({"url": "https://example.org/hook", "secret_token": "no spaces"}, "unallowed"),
    ],
)
async def test_set_webhook_refusals(
    api: ApiClient, params: dict[str, str], description: str
) -> None:
    status, body = await api.call("setWebhook", **params)
    assert status == 400 and description in body["description"]
