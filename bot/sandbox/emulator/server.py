"""HTTP front of the emulator: Bot API routes on aiohttp.web, request parsing, faults.

Routes (as on api.telegram.org): ``GET|POST /bot<token>/<method>`` and
``GET /file/bot<token>/<file_path>``. Parameters are read from the query string and from a
JSON, urlencoded or multipart body; ``attach://<name>`` references are resolved to the
uploaded part. Faults are decided once the parameters are read (faults.py). Run standalone
with ``python -m bot.sandbox --port 8081`` (see cli.py).
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import re
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from .errors import ApiError
from .faults import Fault, FaultPlan
from .methods import REGISTRY, BotApi
from .params import Params, Upload
from .spec import ApiSpec
from .state import World


class Emulator(Protocol):
    """What the HTTP front needs of the emulator (:class:`.driver.Emulator` builds it)."""

    @property
    def token(self) -> str: ...
    @property
    def spec(self) -> ApiSpec | None: ...
    @property
    def world(self) -> World: ...
    @property
    def faults(self) -> FaultPlan: ...
    @property
    def calls(self) -> list[Call]: ...
    @property
    def stopping(self) -> asyncio.Event: ...
    @property
    def api(self) -> BotApi: ...
    async def released(self) -> None: ...


EMULATOR_KEY: web.AppKey[Emulator] = web.AppKey("emulator")
MAX_REQUEST_BYTES = 64 * 1024 * 1024
#: ``"attach://<name>"`` inside a JSON-encoded parameter (InputMedia, InputPaidMedia...).
_ATTACH_IN_JSON = re.compile(r'"attach://([^"\\]+)"')


@dataclass(frozen=True)
class Call:
    """One API call as the emulator saw it: ``(method, params, status)``."""

    method: str
    params: dict[str, Any]
    status: int

    def __iter__(self):  # allows ``method, params, status = call``
        return iter((self.method, self.params, self.status))


def create_app(emulator: Emulator) -> web.Application:
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[EMULATOR_KEY] = emulator
    app.router.add_route("*", r"/bot{token:[^/]+}/{method}", handle_api)
    app.router.add_get(r"/file/bot{token:[^/]+}/{path:.+}", handle_file)
    return app


def _json(payload: dict[str, Any], status: int = 200) -> web.Response:
    text = json.dumps(payload, ensure_ascii=False)
    return web.Response(text=text, status=status, content_type="application/json")


async def read_params(request: web.Request) -> Params:
    """Query string + body (JSON, urlencoded or multipart), with attach:// resolved.

    A parameter that is itself ``attach://<name>`` becomes that part. A part named inside a
    JSON parameter (an InputMedia's ``"media": "attach://<name>"``) moves to
    ``Params.attachments``, so it is no unknown parameter of its own.
    """
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        params.update(await _read_body(request))
    resolved = _resolve_attached(params)
    attachments = _take_nested_attachments(params, skip=resolved)
    return Params(params, attachments=attachments)


def _resolve_attached(params: dict[str, Any]) -> set[str]:
    """Replace each ``attach://<part>`` value by its part; return the parameters replaced."""
    attached = {
        name: value.removeprefix("attach://")
        for name, value in params.items()
        if isinstance(value, str) and value.startswith("attach://")
    }
    for name, part_name in attached.items():
        part = params.get(part_name)
        if not isinstance(part, Upload):
            raise ApiError(
                400, f'Bad Request: file "attach://{part_name}" for field "{name}" not found'
            )
        params[name] = part
    for part_name in attached.values():
        params.pop(part_name, None)
    return set(attached)


def _take_nested_attachments(params: dict[str, Any], skip: set[str]) -> dict[str, Upload]:
    """Remove and return the parts named by ``attach://`` inside JSON-encoded parameters."""
    named = {
        part_name
        for name, value in params.items()
        if isinstance(value, str) and name not in skip
        for part_name in _ATTACH_IN_JSON.findall(value)
    }
    return {name: params.pop(name) for name in named if isinstance(params.get(name), Upload)}


async def _read_body(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON body") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: JSON body must be an object")
        return body
    values: dict[str, Any] = {}
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                data = value.file.read()
                ctype = value.content_type or "application/octet-stream"
                values[name] = Upload(value.filename or name, ctype, data)
            else:
                values[name] = value
    return values


async def call_params(request: web.Request, emu: Emulator, method: str) -> Params:
    """The call's parameters, validated against the spec when it is there."""
    params = await read_params(request)
    if method not in REGISTRY:
        raise ApiError(404, "Not Found")
    if emu.spec is not None and emu.spec.has_method(method):
        # The methods convert what they read (params.py); the spec, when present, validates.
        params = Params(emu.spec.validate(method, params), attachments=params.attachments)
    return params


async def handle_api(request: web.Request) -> web.StreamResponse:
    """One Bot API call: parameters, then a fault if one applies, else the method."""
    emu = request.app[EMULATOR_KEY]
    method = request.match_info["method"]
    if request.match_info["token"] != emu.token:
        return _json(ApiError(401, "Unauthorized").payload(), 401)
    params = Params()
    result: Any = None
    try:
        params = await call_params(request, emu, method)
        fault = emu.faults.next_fault(method, params)
        if fault is not None and fault.kind == "delay":
            await _hold(emu, fault.hold)
            fault = None
        if fault is None or fault.delivered:
            result = await emu.api.call(method, params)
    except ApiError as error:
        emu.calls.append(Call(method, params, error.code))
        return _json(error.payload(), error.code)
    if fault is not None:
        emu.calls.append(Call(method, params, fault.status))
        return await _apply_fault(request, emu, fault)
    emu.calls.append(Call(method, params, 200))
    return _json({"ok": True, "result": result})


async def _apply_fault(request: web.Request, emu: Emulator, fault: Fault) -> web.StreamResponse:
    error = fault.error()
    if error is not None:
        return _json(error.payload(), error.code)
    if fault.kind == "timeout":
        await _hold(emu, fault.hold)
    # "drop", or the end of a "timeout": close the connection without any answer.
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError


async def _hold(emu: Emulator, seconds: float) -> None:
    """Wait ``seconds``, or less if the emulator stops or releases its held calls meanwhile."""
    waits = {asyncio.ensure_future(emu.stopping.wait()), asyncio.ensure_future(emu.released())}
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


async def handle_file(request: web.Request) -> web.StreamResponse:
    emu = request.app[EMULATOR_KEY]
    if request.match_info["token"] != emu.token:
        return _json(ApiError(401, "Unauthorized").payload(), 401)
    record = emu.world.files.by_path.get(request.match_info["path"])
    if record is None:
        return _json(ApiError(404, "Not Found").payload(), 404)
    ctype = record.mime_type or mimetypes.guess_type(record.file_path)[0]
    return web.Response(body=record.data, content_type=ctype or "application/octet-stream")
