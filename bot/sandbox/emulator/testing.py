"""Helpers for tests that use the emulator: images, a raw HTTP client, a ready PTB app.

Not fixtures themselves (tests/conftest.py belongs to the project); wrap them in the
fixtures a test module needs.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from PIL import Image

from . import spec
from .driver import Emulator

if TYPE_CHECKING:
    from telegram.ext import Application


def make_jpeg(
    width: int = 640, height: int = 480, color: tuple[int, int, int] = (200, 90, 40)
) -> bytes:
    """A real JPEG of the given size (a gradient, so sizes differ between renditions)."""
    img = Image.new("RGB", (width, height), color)
    stripe = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    img = Image.blend(img, stripe, 0.3)
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


@asynccontextmanager
async def running_emulator(**options: Any) -> AsyncIterator[Emulator]:
    """An emulator listening on a free loopback port for the duration of the block."""
    emu = Emulator(**options)
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


#: The two ways the emulator runs: validating against the official spec, or without it.
SPEC_MODES = ("spec", "no spec")
MISSING_SPEC = Path("/nonexistent/shared/telegram-bot-api/api.min.json")


@asynccontextmanager
async def running_emulator_in(mode: str, **options: Any) -> AsyncIterator[Emulator]:
    """``running_emulator`` in one of :data:`SPEC_MODES`.

    ``"no spec"`` points ``spec_path`` to a missing file (as for an installed copy of the bot)
    and checks that the emulator said, once, that it does not validate.
    """
    if mode == "spec":
        async with running_emulator(**options) as emu:
            yield emu
        return
    assert mode == "no spec", mode
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect(logging.WARNING)
    spec.log.addHandler(handler)
    warned, spec._warned = spec._warned, False
    try:
        async with running_emulator(spec_path=MISSING_SPEC, **options) as emu:
            assert emu.spec is None
            messages = [r.getMessage() for r in records]
            assert len(messages) == 1 and "NOT validate" in messages[0], messages
            yield emu
    finally:
        spec.log.removeHandler(handler)
        spec._warned = warned or spec._warned


class ApiClient:
    """Calls the emulator like any HTTP client would; returns ``(status, decoded JSON)``."""

    def __init__(self, emu: Emulator, token: str | None = None) -> None:
        self.emu = emu
        self.token = token or emu.token
        self.session = aiohttp.ClientSession()

    async def close(self) -> None:
        await self.session.close()

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def call(
        self,
        method: str,
        *,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        as_json: bool = False,
        **params: Any,
    ) -> tuple[int, dict[str, Any]]:
        """POST ``params`` (urlencoded, JSON with ``as_json``, multipart when ``files``).

        Values that are not strings are JSON-encoded as PTB does; ``files`` maps a part name
        to ``(filename, data, content_type)``.
        """
        url = f"{self.emu.api_url}/bot{self.token}/{method}"
        if as_json:
            response = await self.session.post(url, json=params)
        elif files:
            form = aiohttp.FormData()
            for name, value in params.items():
                form.add_field(name, _encode(value))
            for name, (filename, data, ctype) in files.items():
                form.add_field(name, data, filename=filename, content_type=ctype)
            response = await self.session.post(url, data=form)
        else:
            response = await self.session.post(url, data={k: _encode(v) for k, v in params.items()})
        async with response:
            return response.status, await response.json(content_type=None)

    async def ok(self, method: str, **params: Any) -> Any:
        """Call and return ``result``; fail loudly when Telegram would refuse."""
        status, body = await self.call(method, **params)
        assert status == 200 and body["ok"], (method, status, body)
        return body["result"]

    async def download(self, file_path: str) -> tuple[int, bytes]:
        url = f"{self.emu.api_url}/file/bot{self.token}/{file_path}"
        async with self.session.get(url) as response:
            return response.status, await response.read()


def _encode(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def build_application(emu: Emulator, *, timeout: float = 5.0) -> Application:
    """A PTB Application wired to the emulator (no updater tweaks, no persistence)."""
    from telegram.ext import ApplicationBuilder

    return (
        ApplicationBuilder()
        .token(emu.token)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .read_timeout(timeout)
        .get_updates_read_timeout(timeout)
        .build()
    )
