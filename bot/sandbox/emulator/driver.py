"""The Python driver: start the emulator and play the humans around the bot.

Tests (and later the browser sandbox) create users, groups and channels, make users write,
send photos and press buttons, then look at what the bot did. Everything runs in-process,
on the event loop of the caller; the bot under test talks to it over loopback HTTP.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

from aiohttp import web

from . import media
from .faults import Fault, FaultPlan, Match
from .limits import FloodControl, FloodLimits
from .methods import BotApi, document_dict
from .server import Call, create_app
from .spec import ApiSpec
from .state import CallbackQuery, Chat, User, World

ChatLike = Chat | User | int
Predicate = Callable[[dict[str, Any]], bool] | str | None
_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?")
#: What a forward copies from the original message.
_FORWARDED_KEYS = (
    "text",
    "entities",
    "photo",
    "document",
    "sticker",
    "video",
    "animation",
    "caption",
    "caption_entities",
    "show_caption_above_media",
    "has_media_spoiler",
)


class Emulator:
    """An in-memory Telegram with a Bot API HTTP server for one bot."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        spec_path: str | None = None,
        flood_limits: bool | FloodLimits = True,
        bot_username: str = "selfie_test_bot",
        bot_name: str = "Selfie Bot",
        group_privacy: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        bot_id = token.split(":", 1)[0]
        if not bot_id.isdigit():
            raise ValueError("token must look like '<bot id>:<secret>'")
        self.token = token
        self.spec = ApiSpec.load(spec_path)
        self.bot = User(int(bot_id), bot_name, username=bot_username, is_bot=True)
        self.world = World(self.bot)
        if isinstance(flood_limits, bool):
            flood_limits = FloodLimits(enabled=flood_limits)
        self.flood = FloodControl(flood_limits, clock)
        self.faults = FaultPlan()
        self.calls: list[Call] = []
        #: With privacy on, in groups where the bot is not admin it only gets commands/replies.
        self.group_privacy = group_privacy
        self.stopping = asyncio.Event()
        self._release = asyncio.Event()
        self.api = BotApi(self.world, self.flood, self.stopping)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._host = "127.0.0.1"
        self._cursors: dict[int, int] = {}
        self._query_ids = iter(range(4_000_000_000_000, 10**19))
        #: Called with the aiohttp application before it starts, to add routes (the web page).
        self.app_hooks: list[Callable[[web.Application], None]] = []

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Emulator:
        """Listen on ``host:port`` (0 = a free port)."""
        self.stopping.clear()
        app = create_app(self)
        for hook in self.app_hooks:
            hook(app)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server) and server.sockets
        self._host = host
        self._port = server.sockets[0].getsockname()[1]
        self.api.webhook.resume()
        return self

    def release_held(self) -> None:
        """Let the calls held by a "timeout" or "delay" fault end now, as their fault says
        (dropped, or answered): a test done with a slow Telegram need not wait it out."""
        self._release.set()
        self._release = asyncio.Event()

    async def released(self) -> None:
        """Until :meth:`release_held` is next called."""
        await self._release.wait()

    async def stop(self) -> None:
        """Release long polls and held requests, then close the server."""
        self.stopping.set()
        await self.api.webhook.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Root URL of the server, e.g. ``http://127.0.0.1:PORT``."""
        if self._port is None:
            raise RuntimeError("the emulator is not started")
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        """The port it listens on (kept after :meth:`stop`, to start again on it)."""
        if self._port is None:
            raise RuntimeError("the emulator was never started")
        return self._port

    @property
    def api_url(self) -> str:
        """The value for the configuration key ``telegram.api_url``."""
        return self.url

    @property
    def base_url(self) -> str:
        """For PTB's ``ApplicationBuilder().base_url(...)``."""
        return f"{self.api_url}/bot"

    @property
    def base_file_url(self) -> str:
        """For PTB's ``ApplicationBuilder().base_file_url(...)``."""
        return f"{self.api_url}/file/bot"

    @property
    def flood_limits(self) -> FloodLimits:
        return self.flood.limits

    # -- the world's clock ---------------------------------------------------------------

    @property
    def now(self) -> int:
        """The world's Unix time: the wall clock moved forward by every ``travel``."""
        return self.world.now()

    def travel(self, seconds: float = 0.0, *, hours: float = 0.0) -> None:
        """Move the world's clock forward: every message gets older (its ``date`` stays).

        For time rules without waiting, e.g. ``travel(hours=49)`` before a deleteMessage
        that Telegram refuses after 48 hours. Flood-control windows move along.
        """
        delta = seconds + hours * 3600
        if delta < 0:
            raise ValueError("the world's clock only moves forward")
        self.world.clock_offset += delta
        self.flood.advance(delta)

    # -- people and chats ----------------------------------------------------------------

    def create_user(
        self,
        first_name: str,
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "fr",
    ) -> User:
        user = User(self.world.next_user_id(), first_name, last_name, username, language_code)
        self.world.users[user.id] = user
        self.world.chats[user.id] = Chat(user.id, "private", user=user)
        return user

    def create_group(
        self,
        title: str,
        members: Iterable[User] = (),
        *,
        bot_status: str = "member",
        bot_rights: Mapping[str, bool] | None = None,
        admins: Iterable[User] = (),
        username: str | None = None,
        supergroup: bool = True,
    ) -> Chat:
        """A supergroup (id ``-100...``; ``supergroup=False``: a basic group) with these
        members and the bot in ``bot_status`` (an administrator: with ``bot_rights``)."""
        if supergroup:
            chat = Chat(self.world.next_group_id(), "supergroup", title=title, username=username)
        else:
            chat = Chat(self.world.next_basic_group_id(), "group", title=title)
        chat.members = {u.id: "member" for u in members}
        chat.members.update({u.id: "administrator" for u in admins})
        chat.set_bot_status(bot_status, bot_rights)
        self.world.chats[chat.id] = chat
        return chat

    def create_channel(
        self,
        title: str,
        *,
        username: str | None = None,
        bot_status: str = "administrator",
        bot_rights: Mapping[str, bool] | None = None,
    ) -> Chat:
        """A channel; the bot is an administrator with every right unless told otherwise."""
        chat = Chat(self.world.next_group_id(), "channel", title=title, username=username)
        chat.set_bot_status(bot_status, bot_rights)
        self.world.chats[chat.id] = chat
        return chat

    def set_bot_status(self, chat: ChatLike, status: str, **rights: bool) -> None:
        """The bot's standing in a group or channel: left, kicked, member, administrator...

        An administrator has every right (but promoting) except those given as False here,
        e.g. ``set_bot_status(chan, "administrator", can_delete_messages=False)``.
        """
        self.chat(chat).set_bot_status(status, rights)

    def set_bot_rights(self, chat: ChatLike, **rights: bool) -> None:
        """Change some of the bot's administrator rights, keeping the others."""
        target = self.chat(chat)
        if target.bot_rights is None:
            raise ValueError(f"the bot is {target.bot_status}, not administrator, there")
        target.bot_rights = target.bot_rights.changed(rights)

    def block_bot(self, user: User) -> None:
        """The user blocks the bot: sending to them now gives 403."""
        user.blocked_bot = True

    def unblock_bot(self, user: User) -> None:
        user.blocked_bot = False

    def chat(self, chat: ChatLike) -> Chat:
        """The Chat for a Chat, a User (their private chat with the bot) or a chat id."""
        chat_id = chat if isinstance(chat, int) else chat.id
        found = self.world.chats.get(chat_id)
        if found is None:
            raise KeyError(f"no chat {chat_id}")
        return found

    # -- what users do -------------------------------------------------------------------

    def _post(
        self,
        user: User,
        chat: ChatLike | None,
        content: dict[str, Any],
        reply_to: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Store a user's message and deliver it to the bot as a ``message`` update."""
        target = self.chat(chat if chat is not None else user)
        if target.type == "private":
            user.started = True
            user.blocked_bot = False  # writing again means pressing "Restart"
        elif target.type == "channel":
            raise ValueError("users do not post in the channel; only the bot does")
        else:
            target.members.setdefault(user.id, "member")
        if reply_to is not None:
            original = dict(reply_to)
            original.pop("reply_to_message", None)
            content["reply_to_message"] = original
        message = self.world.new_message(target, user, content, from_bot=False)
        if self._bot_receives(target, message):
            self.world.updates.push("message", copy.deepcopy(message))
        return message

    def admin_post(self, channel: ChatLike, text: str) -> dict[str, Any]:
        """Another administrator posts ``text`` in the channel: its id is the next of the
        channel's one sequence, which the bot's posts share."""
        target = self.chat(channel)
        if target.type != "channel":
            raise ValueError("admin_post is for channels")
        return self.world.new_message(target, None, {"text": text}, from_bot=False)

    def _bot_receives(self, chat: Chat, message: dict[str, Any]) -> bool:
        if chat.type == "private":
            return True
        if chat.bot_status in ("left", "kicked"):
            return False
        if not self.group_privacy or chat.bot_is_admin:
            return True
        if "forward_origin" in message:
            return False  # a forward is no command, even of "/start"
        replied = message.get("reply_to_message", {}).get("from", {}).get("id")
        return replied == self.bot.id or bool(_COMMAND.match(message.get("text", "")))

    async def send_text(
        self,
        user: User,
        text: str,
        *,
        chat: ChatLike | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The user writes ``text`` (private chat by default); /commands get their entity."""
        content: dict[str, Any] = {"text": text}
        match = _COMMAND.match(text)
        if match:
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": match.end()}]
        return self._post(user, chat, content, reply_to)

    async def send_photo(
        self,
        user: User,
        data: bytes,
        caption: str | None = None,
        *,
        chat: ChatLike | None = None,
        reply_to: dict[str, Any] | None = None,
        media_group_id: str | None = None,
    ) -> dict[str, Any]:
        """The user sends a photo; it gets the PhotoSize ladder computed from the image."""
        if media.image_size(data) is None:
            raise ValueError("not an image Pillow can read")
        renditions = await asyncio.to_thread(media.photo_renditions, data)
        records = [
            self.world.files.add("photo", r.data, width=r.width, height=r.height)
            for r in renditions
        ]
        for record in records:
            record.photo_set = [r.file_id for r in records]
        content: dict[str, Any] = {"photo": [r.photo_size() for r in records]}
        if media_group_id:
            content["media_group_id"] = media_group_id
        if caption:
            content["caption"] = caption
        return self._post(user, chat, content, reply_to)

    async def send_album(
        self,
        user: User,
        photos: list[bytes],
        caption: str | None = None,
        *,
        chat: ChatLike | None = None,
    ) -> list[dict[str, Any]]:
        """Several photo messages sharing a ``media_group_id`` (caption on the first)."""
        group = self.world.next_media_group_id()
        return [
            await self.send_photo(
                user, data, caption if i == 0 else None, chat=chat, media_group_id=group
            )
            for i, data in enumerate(photos)
        ]

    async def send_document(
        self,
        user: User,
        data: bytes,
        filename: str = "file.bin",
        mime_type: str | None = None,
        caption: str | None = None,
        *,
        chat: ChatLike | None = None,
    ) -> dict[str, Any]:
        """The user sends a file "as document" (uncompressed; any size up to 2 GB)."""
        record = self.world.files.add(
            "document", data, file_name=filename, mime_type=mime_type or "application/octet-stream"
        )
        content: dict[str, Any] = {"document": document_dict(record)}
        if caption:
            content["caption"] = caption
        return self._post(user, chat, content, None)

    async def send_sticker(self, user: User, *, chat: ChatLike | None = None) -> dict[str, Any]:
        record = self.world.files.add(
            "sticker", b"RIFF\0\0\0\0WEBPVP8 sticker", width=512, height=512
        )
        sticker = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
            "file_size": record.file_size,
        }
        return self._post(user, chat, {"sticker": sticker}, None)

    async def send_video(self, user: User, *, chat: ChatLike | None = None) -> dict[str, Any]:
        record = self.world.files.add(
            "video", b"\0\0\0\x18ftypmp42 video", width=720, height=1280, mime_type="video/mp4"
        )
        return self._post(user, chat, {"video": self._clip(record)}, None)

    async def send_animation(self, user: User, *, chat: ChatLike | None = None) -> dict[str, Any]:
        record = self.world.files.add(
            "animation", b"\0\0\0\x18ftypmp42 gif", width=320, height=240, mime_type="video/mp4"
        )
        clip = self._clip(record)
        clip["file_name"] = "animation.mp4"
        document = {
            k: clip[k] for k in ("file_id", "file_unique_id", "file_name", "mime_type", "file_size")
        }
        return self._post(user, chat, {"animation": clip, "document": document}, None)

    @staticmethod
    def _clip(record: Any) -> dict[str, Any]:
        return {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "width": record.width,
            "height": record.height,
            "duration": 3,
            "mime_type": record.mime_type,
            "file_size": record.file_size,
        }

    async def press_button(
        self, user: User, message: dict[str, Any], callback_data: str, *, forged: bool = False
    ) -> str:
        """The user presses the inline button carrying ``callback_data``; returns the query id.

        The message is looked up again, so the keyboard is the current one (after edits).
        ``forged=True`` sends ``callback_data`` even if no such button exists, as a modified
        client could: for testing that the bot refuses it.
        """
        chat_id = message["chat"]["id"]
        stored = self.world.find_message(chat_id, message["message_id"])
        if stored is None:
            raise LookupError(f"message {message['message_id']} is not in chat {chat_id}")
        keyboard = stored.data.get("reply_markup", {}).get("inline_keyboard", [])
        found = [b.get("callback_data") for row in keyboard for b in row]
        if callback_data not in found and not forged:
            raise LookupError(f"no button with callback_data {callback_data!r}; buttons: {found}")
        query_id = str(next(self._query_ids))
        self.world.callback_queries[query_id] = CallbackQuery(
            query_id, user, chat_id, message["message_id"], callback_data
        )
        self.world.updates.push(
            "callback_query",
            {
                "id": query_id,
                "from": user.to_dict(),
                "message": copy.deepcopy(stored.data),
                "chat_instance": str(abs(chat_id) * 7 + user.id),
                "data": callback_data,
            },
        )
        return query_id

    async def forward_message(
        self, user: User, message: dict[str, Any], chat: ChatLike | None = None
    ) -> dict[str, Any]:
        """The user forwards an existing message (a channel post...) into ``chat`` (a group,
        or by default their private chat with the bot); delivered like any user message.

        The copy carries ``forward_origin``: MessageOriginChannel for a channel post,
        MessageOriginUser for a person's or the bot's message; a forward of a forward keeps
        the first origin.
        """
        chat_id = message["chat"]["id"]
        stored = self.world.find_message(chat_id, message["message_id"])
        if stored is None:
            raise LookupError(f"message {message['message_id']} is not in chat {chat_id}")
        original = stored.data
        content = {k: copy.deepcopy(original[k]) for k in _FORWARDED_KEYS if k in original}
        origin = original.get("forward_origin") or _origin(original)
        content["forward_origin"] = copy.deepcopy(origin)
        return self._post(user, chat, content, None)

    def delete_message(self, message: dict[str, Any]) -> None:
        """Someone (a group admin, the user in a private chat) deletes a message, at any age:
        the 48 hours limit is the bot's, not the humans'."""
        chat_id = message["chat"]["id"]
        stored = self.world.find_message(chat_id, message["message_id"])
        if stored is None:
            raise LookupError(f"message {message['message_id']} is not in chat {chat_id}")
        stored.deleted = True
        self.world.record_event("deleted", chat_id, stored.data)

    def callback_answer(self, query_id: str) -> dict[str, Any] | None:
        """What answerCallbackQuery said (text, show_alert, url, cache_time), or None."""
        query = self.world.callback_queries.get(query_id)
        if query is None:
            raise KeyError(f"unknown callback query {query_id}")
        return query.answer

    # -- what the bot did ----------------------------------------------------------------

    def messages(self, chat: ChatLike, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """All messages of the chat in order (users' and bot's), edits applied.

        Deleted messages are left out unless ``include_deleted``; then they carry
        ``"deleted": True`` (a sandbox-only key).
        """
        return self._messages(chat, include_deleted, bot_only=False)

    def bot_messages(
        self, chat: ChatLike, *, include_deleted: bool = False
    ) -> list[dict[str, Any]]:
        """Only what the bot sent in the chat (in a channel, not the other admins' posts)."""
        return self._messages(chat, include_deleted, bot_only=True)

    def _messages(
        self, chat: ChatLike, include_deleted: bool, bot_only: bool
    ) -> list[dict[str, Any]]:
        out = []
        for stored in self.world.messages.get(self.chat(chat).id, []):
            if (stored.deleted and not include_deleted) or (bot_only and not stored.from_bot):
                continue
            message = copy.deepcopy(stored.data)
            if stored.deleted:
                message["deleted"] = True
            out.append(message)
        return out

    async def wait_for(
        self,
        chat: ChatLike,
        predicate: Predicate = None,
        timeout: float = 5.0,  # noqa: ASYNC109 (a deadline is the point of this helper)
        *,
        edits: bool = True,
    ) -> dict[str, Any]:
        """Wait until the bot sends or edits a message in ``chat`` that matches.

        ``predicate`` is a callable on the message dict, a substring of its text/caption, or
        None (anything); ``edits=False`` looks at new messages only. Each chat has a cursor:
        a call only sees bot actions after the one the previous call returned, so a
        conversation reads step by step. Returns the message as it was right after that
        action; raises TimeoutError listing what did arrive.
        """
        chat_id = self.chat(chat).id
        match = _as_predicate(predicate)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            signal = self.world.event_signal()
            events = self.world.events
            for index in range(self._cursors.get(chat_id, 0), len(events)):
                event = events[index]
                wanted = event.kind != "deleted" and (edits or event.kind != "edited")
                if event.chat_id == chat_id and wanted and match(event.message):
                    self._cursors[chat_id] = index + 1
                    return copy.deepcopy(event.message)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(self._describe_wait(chat_id, predicate, timeout))
            try:
                await asyncio.wait_for(signal.wait(), remaining)
            except TimeoutError:
                pass

    def _describe_wait(self, chat_id: int, predicate: Predicate, timeout: float) -> str:
        start = self._cursors.get(chat_id, 0)
        seen = [
            f"  {e.kind}: {_summary(e.message)}"
            for e in self.world.events[start:]
            if e.chat_id == chat_id
        ]
        errors = [f"  {c.method} -> {c.status}" for c in self.calls[-10:] if c.status != 200]
        lines = [
            f"no bot message matching {predicate!r} in chat {chat_id} within {timeout}s",
            "bot actions in that chat since the last match:",
            *(seen or ["  (none)"]),
        ]
        if errors:
            lines += ["recent failed API calls:", *errors]
        return "\n".join(lines)

    def calls_for(self, method: str) -> list[dict[str, Any]]:
        """Parameters of the successful calls of ``method``, oldest first."""
        return [call.params for call in self.calls if call.method == method and call.status == 200]

    # -- settings the bot stored ---------------------------------------------------------

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list:
        """The commands set with setMyCommands for that scope and language."""
        key = json.dumps(scope or {"type": "default"}, sort_keys=True)
        return copy.deepcopy(self.world.commands.get((key, language_code), []))

    def bot_setting(self, field: str, language_code: str = "") -> str | None:
        """``name``, ``description`` or ``short_description`` as set by the bot."""
        return self.world.settings.get((field, language_code))

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.world.updates.pending)

    # -- faults --------------------------------------------------------------------------

    def inject_fault(
        self,
        method: str,
        kind: str,
        count: int | None = 1,
        *,
        retry_after: int = 1,
        hold: float = 60.0,
        delivered: bool = False,
        description: str | None = None,
        match: Match | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` (``"*"``: any) fail; see faults.py.

        ``match`` limits the fault to the calls whose parameters satisfy it (others go
        through and do not consume it); ``count=None`` fails every such call until
        ``clear_faults``. ``description`` is the text of a 4xx/5xx answer.
        """
        fault = Fault(str(kind), retry_after, hold, delivered, description)
        self.faults.inject(method, fault, count, match)

    def fault_rate(
        self,
        methods: Iterable[str] | None,
        rate: float,
        kinds: Iterable[str] = ("429", "500"),
        seed: int | None = None,
        *,
        retry_after: int = 1,
        hold: float = 60.0,
        delivered: float = 0.0,
        exclude: Iterable[str] = (),
    ) -> None:
        """From now on, each call of ``methods`` (None: all but ``exclude``) fails with
        probability ``rate``; a share ``delivered`` of its 5xx/timeout/drop faults is
        executed first (sent, only the answer lost)."""
        self.faults.set_rate(
            methods, rate, kinds, seed, retry_after, hold, delivered=delivered, exclude=exclude
        )

    def clear_faults(self, method: str | None = None) -> None:
        """Forget the planned faults of ``method``, or all faults and the rate."""
        self.faults.clear(method)


def _as_predicate(predicate: Predicate) -> Callable[[dict[str, Any]], bool]:
    if predicate is None:
        return lambda message: True
    if isinstance(predicate, str):
        needle = predicate
        return lambda m: needle in (m.get("text") or m.get("caption") or "")
    return predicate


def _origin(message: dict[str, Any]) -> dict[str, Any]:
    """The MessageOrigin of a message forwarded for the first time."""
    chat = message["chat"]
    if chat["type"] == "channel":
        origin = {"type": "channel", "chat": chat, "message_id": message["message_id"]}
    elif "sender_chat" in message:
        origin = {"type": "chat", "sender_chat": message["sender_chat"]}
    else:
        origin = {"type": "user", "sender_user": message["from"]}
    origin["date"] = message["date"]
    if "author_signature" in message:
        origin["author_signature"] = message["author_signature"]
    return origin


def _summary(message: dict[str, Any]) -> str:
    kind = next((k for k in ("text", "photo", "document", "sticker") if k in message), "?")
    body = message.get("text") or message.get("caption") or f"<{kind}>"
    buttons = [
        b.get("callback_data") or b.get("url")
        for row in message.get("reply_markup", {}).get("inline_keyboard", [])
        for b in row
    ]
    extra = f" buttons={buttons}" if buttons else ""
    return f"#{message['message_id']} {body[:80]!r}{extra}"
