"""The running bot's own /healthz and /metrics, as a monitoring system reads them."""

from __future__ import annotations

import asyncio

import aiohttp

from bot.ops.monitoring import Monitor
from tests.support.stand import Stand


def monitor_of(stand: Stand) -> Monitor:
    monitor = stand.app.monitor
    assert monitor is not None and monitor.port
    return monitor


async def get(stand: Stand, path: str) -> tuple[int, str]:
    url = f"http://127.0.0.1:{monitor_of(stand).port}{path}"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


async def until_health(stand: Stand, start: str, timeout: float = 15) -> tuple[int, str]:
    """``/healthz`` once its answer starts with ``start``."""
    async with asyncio.timeout(timeout):
        while not (answer := await get(stand, "/healthz"))[1].startswith(start):
            await asyncio.sleep(0.05)
    return answer
