"""The sandbox page and its JSON/SSE API, served by the emulator's own aiohttp server.

``GET /`` is the page (plain HTML, CSS and JavaScript from ``static/``, no build step, no
CDN) and ``/favicon.ico`` its icon. The page reads ``/sandbox/api/view`` (the three chats as
the emulator holds them, and the campaign's timezone for their times), listens to
``/sandbox/api/events`` (server-sent events: "something changed") and acts through the
driver: ``send`` (text, commands, replies), ``upload`` (photo or file, from the computer or a
sample), ``press`` (an inline button), ``persona`` (a new apprentice) and ``slot`` (the next
publication slot now). Photos come from the emulator's file store
(``/sandbox/file/<file_id>``). ``/site/`` serves the campaign's public site as the bot
writes it (:mod:`bot.site.gallery`), shown in the fourth pane, its live wall
(``/site/wall/``, :mod:`bot.site.wall`) linked from the header: every file ``no-store``, so
the wall's JSON read again is always the bot's latest. ``/sandbox/posters/<file>`` draws
the campaign's QR posters (:mod:`bot.ops.posters`) for the emulated bot's username, on request.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import mimetypes
from pathlib import Path
from typing import Any

from aiohttp import web
from PIL import Image, ImageDraw

from bot.config import Centre
from bot.ops.posters import poster_files, poster_pdf

from .emulator.state import Chat, User
from .world import DemoWorld

WORLD_KEY: web.AppKey[DemoWorld] = web.AppKey("sandbox_world")
STATIC = Path(__file__).with_name("static")
PRESS_WAIT = 5.0
LANGUAGES = ("fr", "en")


def install(app: web.Application, world: DemoWorld) -> None:
    app[WORLD_KEY] = world
    app.router.add_get("/", index)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_static("/sandbox/static/", STATIC)
    app.router.add_get("/sandbox/api/view", view)
    app.router.add_get("/sandbox/api/events", events)
    app.router.add_post("/sandbox/api/send", send)
    app.router.add_post("/sandbox/api/upload", upload)
    app.router.add_post("/sandbox/api/sticker", sticker)
    app.router.add_post("/sandbox/api/press", press)
    app.router.add_post("/sandbox/api/persona", persona)
    app.router.add_post("/sandbox/api/slot", slot)
    app.router.add_get("/sandbox/file/{file_id}", stored_file)
    app.router.add_get("/sandbox/samples/{name}", sample_file)
    app.router.add_get("/site/{path:.*}", site_file)
    app.router.add_get("/sandbox/posters/{name}", poster_file)


def _error(message: str, status: int = 400) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status)


def _world(request: web.Request) -> DemoWorld:
    return request.app[WORLD_KEY]


def _same_origin(request: web.Request) -> bool:
    """Refuse actions posted by other web pages (the sandbox listens on loopback)."""
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.host}"


async def index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


@functools.cache
def _icon() -> bytes:
    """A camera on the page's blue, drawn once: browsers ask for /favicon.ico on every tab."""
    size = 64
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=14, fill=(42, 157, 244))
    draw.rounded_rectangle((10, 20, 54, 50), radius=6, fill=(255, 255, 255))
    draw.rectangle((24, 14, 40, 22), fill=(255, 255, 255))
    draw.ellipse((22, 25, 42, 45), fill=(42, 157, 244))
    draw.ellipse((27, 30, 37, 40), fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "ICO", sizes=[(16, 16), (32, 32), (48, 48), (64, 64)])
    return buffer.getvalue()


async def favicon(request: web.Request) -> web.Response:
    return web.Response(
        body=_icon(), content_type="image/x-icon", headers={"Cache-Control": "max-age=86400"}
    )


# -- reading -------------------------------------------------------------------------------


def _person(user: User, world: DemoWorld) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.first_name,
        "username": user.username,
        "language": user.language_code or "fr",
        "moderator": user in world.moderators,
    }


def _commands(world: DemoWorld, scope_type: str, language: str) -> list[dict[str, Any]]:
    """The menu the bot set with setMyCommands for a scope, in a language (else default)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for (key, lang), commands in world.emu.world.commands.items():
        scope = json.loads(key)
        if scope.get("type") != scope_type:
            continue
        if scope_type == "chat" and int(scope.get("chat_id", 0)) != world.group.id:
            continue
        found[lang] = commands
    return found.get(language) or found.get("") or []


def _site(world: DemoWorld) -> Path | None:
    """The public site's folder, once the bot runs with it enabled."""
    if not world.ready:
        return None
    gallery = world.bot_app.services.settings.gallery
    return Path(gallery.path) if gallery.enabled else None


def _site_stamp(world: DemoWorld) -> int:
    """Changes whenever the bot rewrites the site's front page (each publication, removal)."""
    root = _site(world)
    try:
        return (root / "index.html").stat().st_mtime_ns if root else 0
    except FileNotFoundError:
        return 0


def _version(world: DemoWorld) -> list[int]:
    w = world.emu.world
    stamp = _site_stamp(world)
    return [len(w.events), sum(len(m) for m in w.messages.values()), len(w.users), stamp]


async def view(request: web.Request) -> web.Response:
    world = _world(request)
    emu = world.emu
    wanted = request.query.get("apprentice", "")
    apprentice = next((u for u in world.apprentices if str(u.id) == wanted), world.apprentices[0])
    language = apprentice.language_code or "fr"
    moderation_language, timezone = "fr", None
    if world.ready:
        settings = world.bot_app.services.settings
        moderation_language, timezone = settings.moderation.language, settings.schedule.timezone
    payload = {
        "ok": True,
        "ready": world.ready,
        "site": _site_stamp(world),
        "timezone": timezone,
        "version": _version(world),
        "bot": {"id": emu.bot.id, "name": emu.bot.first_name, "username": emu.bot.username},
        "apprentice": apprentice.id,
        "apprentices": [_person(u, world) for u in world.apprentices],
        "members": [_person(u, world) for u in [*world.moderators, world.bystander]],
        "group": {"id": world.group.id, "title": world.group.title},
        "channel": {
            "id": world.channel.id,
            "title": world.channel.title,
            "username": world.channel.username,
        },
        "chats": {
            "private": emu.messages(apprentice),
            "group": emu.messages(world.group),
            "channel": emu.messages(world.channel),
        },
        "commands": {
            "private": _commands(world, "all_private_chats", language),
            "group": _commands(world, "chat", moderation_language),
        },
        "posters": _posters(world),
        "samples": [
            {
                "name": s.name,
                "fr": s.fr,
                "en": s.en,
                "tags": list(s.tags),
                "url": f"/sandbox/samples/{s.filename}",
            }
            for s in world.samples
        ],
    }
    return web.json_response(payload, dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: one ``data:`` line with the version whenever something changed."""
    world = _world(request)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    await response.prepare(request)
    poke = asyncio.Event()
    world.listeners.append(poke)
    last: list[int] | None = None
    try:
        while not world.emu.stopping.is_set():
            signal = world.emu.world.event_signal()
            version = _version(world)
            if version != last:
                last = version
                await response.write(f"data: {json.dumps(version)}\n\n".encode())
            else:
                await response.write(b": keep-alive\n\n")
            poke.clear()
            waiters = [asyncio.ensure_future(e.wait()) for e in (signal, poke, world.emu.stopping)]
            try:
                await asyncio.wait(waiters, timeout=15, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
            await asyncio.sleep(0.05)  # coalesce bursts of bot actions
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        world.listeners.remove(poke)
    return response


async def stored_file(request: web.Request) -> web.StreamResponse:
    record = _world(request).emu.world.files.by_id.get(request.match_info["file_id"])
    if record is None:
        raise web.HTTPNotFound()
    ctype = record.mime_type or mimetypes.guess_type(record.file_path)[0]
    # Cacheable: a file_id's bytes never change; an edited photo (editMessageMedia) has new
    # file_ids, so the page's new <img> URL fetches the new picture.
    return web.Response(
        body=record.data,
        content_type=ctype or "application/octet-stream",
        headers={"Cache-Control": "max-age=3600"},
    )


async def site_file(request: web.Request) -> web.StreamResponse:
    """A file of the public site as a web server would serve it: a folder's index.html,
    the site's own 404 page for anything missing (and nothing outside the folder)."""
    root = _site(_world(request))
    if root is None:
        raise web.HTTPNotFound(text="The public site is not built yet.")
    root = root.resolve()
    target = (root / request.match_info["path"]).resolve()
    if target.is_dir():
        target = target / "index.html"
    if not target.is_relative_to(root) or not target.is_file():
        missing = root / "404.html"
        if missing.is_file():
            return web.FileResponse(missing, status=404, headers={"Cache-Control": "no-store"})
        raise web.HTTPNotFound()
    return web.FileResponse(target, headers={"Cache-Control": "no-store"})


def _poster_languages(world: DemoWorld) -> dict[str, tuple[Centre | None, str]]:
    """File name → (centre, language) of every poster the campaign has, once the bot runs."""
    if not world.ready:
        return {}
    settings = world.bot_app.services.settings
    return {
        name: (centre, language)
        for language in LANGUAGES
        for name, centre in poster_files(settings, language).items()
    }


def _posters(world: DemoWorld) -> list[dict[str, Any]]:
    """The page's list: one row per poster, the general one first, with its two languages."""
    rows: dict[str | None, dict[str, Any]] = {}
    for name, (centre, language) in _poster_languages(world).items():
        key = centre.code if centre else None
        row = rows.setdefault(key, {"centre": centre.name if centre else None})
        row[language] = f"/sandbox/posters/{name}"
    return list(rows.values())


async def poster_file(request: web.Request) -> web.StreamResponse:
    """A poster drawn now, in a worker thread (about a second of CPU), for download."""
    world = _world(request)
    name = request.match_info["name"]
    found = _poster_languages(world).get(name)
    if found is None:
        raise web.HTTPNotFound(text="No such poster.")
    centre, language = found
    settings = world.bot_app.services.settings
    username = str(world.emu.bot.username)
    pdf = await asyncio.to_thread(poster_pdf, settings, username, centre, language)
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


async def sample_file(request: web.Request) -> web.StreamResponse:
    world = _world(request)
    name = request.match_info["name"]
    if name not in {s.filename for s in world.samples}:
        raise web.HTTPNotFound()
    return web.FileResponse(world.samples_dir / name)


# -- acting --------------------------------------------------------------------------------


class _Refused(Exception):
    pass


def _user(world: DemoWorld, value: Any) -> User:
    people = [*world.apprentices, *world.moderators, world.bystander]
    user = next((u for u in people if str(u.id) == str(value)), None)
    if user is None:
        raise _Refused("unknown user")
    return user


def _chat(world: DemoWorld, user: User, where: Any) -> Chat:
    if where == "group":
        return world.group
    if where in (None, "", "private"):
        return world.emu.chat(user)
    raise _Refused("chat must be private or group")


def _replied(world: DemoWorld, chat: Chat, message_id: Any) -> dict[str, Any] | None:
    if message_id in (None, ""):
        return None
    stored = world.emu.world.find_message(chat.id, int(message_id))
    if stored is None:
        raise _Refused(f"no message {message_id} to reply to")
    return stored.data


async def _body(request: web.Request) -> dict[str, Any]:
    if not _same_origin(request):
        raise web.HTTPForbidden(text="cross-origin request refused")
    try:
        body = await request.json()
    except ValueError:
        raise _Refused("JSON body expected") from None
    if not isinstance(body, dict):
        raise _Refused("JSON object expected")
    return body


def _acting(handler):
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            result = await handler(request, _world(request))
        except (_Refused, ValueError, LookupError) as error:
            return _error(str(error))
        _world(request).changed()
        return web.json_response({"ok": True, **result})

    return wrapped


@_acting
async def send(request: web.Request, world: DemoWorld) -> dict[str, Any]:
    body = await _body(request)
    user = _user(world, body.get("user"))
    chat = _chat(world, user, body.get("chat"))
    text = str(body.get("text") or "").strip()
    if not text:
        raise _Refused("empty message")
    message = await world.emu.send_text(
        user, text, chat=chat, reply_to=_replied(world, chat, body.get("reply_to"))
    )
    return {"message_id": message["message_id"]}


@_acting
async def upload(request: web.Request, world: DemoWorld) -> dict[str, Any]:
    if not _same_origin(request):
        raise web.HTTPForbidden(text="cross-origin request refused")
    form = await request.post()
    user = _user(world, form.get("user"))
    chat = _chat(world, user, form.get("chat"))
    caption = str(form.get("caption") or "").strip() or None
    sample_name = str(form.get("sample") or "")
    part = form.get("file")
    if sample_name:
        sample = next((s for s in world.samples if s.name == sample_name), None)
        if sample is None:
            raise _Refused(f"no sample {sample_name!r}")
        data, filename = (world.samples_dir / sample.filename).read_bytes(), sample.filename
        mime: str | None = "image/jpeg"
    elif isinstance(part, web.FileField):
        data, filename = part.file.read(), part.filename or "file"
        mime = part.content_type or mimetypes.guess_type(filename)[0]
    else:
        raise _Refused("choose a file or a sample photo")
    reply_to = _replied(world, chat, form.get("reply_to"))
    if form.get("as") == "document":
        message = await world.emu.send_document(
            user, data, filename=filename, mime_type=mime, caption=caption, chat=chat
        )
    else:
        try:
            message = await world.emu.send_photo(user, data, caption, chat=chat, reply_to=reply_to)
        except ValueError:
            raise _Refused(
                "Telegram n'envoie pas ce fichier comme photo : envoyez-le comme fichier. "
                "/ Not a photo Telegram accepts: send it as a file."
            ) from None
    return {"message_id": message["message_id"]}


@_acting
async def sticker(request: web.Request, world: DemoWorld) -> dict[str, Any]:
    body = await _body(request)
    user = _user(world, body.get("user"))
    message = await world.emu.send_sticker(user, chat=_chat(world, user, body.get("chat")))
    return {"message_id": message["message_id"]}


@_acting
async def press(request: web.Request, world: DemoWorld) -> dict[str, Any]:
    body = await _body(request)
    user = _user(world, body.get("user"))
    message = {"chat": {"id": int(body["chat_id"])}, "message_id": int(body["message_id"])}
    query_id = await world.emu.press_button(user, message, str(body.get("data")))
    world.changed()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PRESS_WAIT
    # answerCallbackQuery records no bot event to wait on: poll the (in-memory) answer.
    while (answer := world.emu.callback_answer(query_id)) is None and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.03)
    return {"answer": answer}


@_acting
async def persona(request: web.Request, world: DemoWorld) -> dict[str, Any]:
    body = await _body(request)
    name = str(body.get("name") or "").strip()[:64]
    language = body.get("language") if body.get("language") in LANGUAGES else "fr"
    if not name:
        raise _Refused("a name is needed")
    user = world.emu.create_user(name, language_code=language)
    world.apprentices.append(user)
    return {"persona": _person(user, world)}


@_acting
async def slot(request: web.Request, world: DemoWorld) -> dict[str, Any]:
    await _body(request)
    if not world.ready:
        raise _Refused("the bot is still starting")
    return await world.run_slot()
