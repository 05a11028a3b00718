"""The emulated Telegram world: users, chats, messages, files, pending updates.

Everything is in memory and plain data (dicts shaped like Bot API objects), so the driver can
hand snapshots to tests or to a web page as they are.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

#: Update types delivered when ``allowed_updates`` was never set (or set to ``[]``).
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "callback_query",
        "inline_query",
        "chosen_inline_result",
        "my_chat_member",
        "poll",
        "poll_answer",
        "chat_join_request",
        "shipping_query",
        "pre_checkout_query",
    }
)

BOT_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")
ADMIN_STATUSES = ("creator", "administrator")

#: Optional ChatMemberAdministrator rights that exist only in some kinds of chat (the spec's
#: "for channels only", "for groups and supergroups only"...); the others are always there.
_RIGHTS_OF_CHAT_TYPE = {
    "can_post_messages": ("channel",),
    "can_edit_messages": ("channel",),
    "can_manage_direct_messages": ("channel",),
    "can_pin_messages": ("group", "supergroup"),
    "can_manage_tags": ("group", "supergroup"),
    "can_manage_topics": ("supergroup",),
}


@dataclass
class User:
    """A Telegram user (or the bot itself)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    #: True once the user has written to the bot; before that the bot can't initiate a chat.
    started: bool = False
    blocked_bot: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class AdminRights:
    """An administrator's rights in one chat: the booleans of ChatMemberAdministrator.

    The defaults are what the emulator always gave an administrator bot (everything but
    promoting others), so tests that only say "administrator" keep working.
    """

    is_anonymous: bool = False
    can_manage_chat: bool = True
    can_delete_messages: bool = True
    can_manage_video_chats: bool = True
    can_restrict_members: bool = True
    can_promote_members: bool = False
    can_change_info: bool = True
    can_invite_users: bool = True
    can_post_stories: bool = True
    can_edit_stories: bool = True
    can_delete_stories: bool = True
    can_post_messages: bool = True
    can_edit_messages: bool = True
    can_pin_messages: bool = True
    can_manage_topics: bool = True
    can_manage_direct_messages: bool = True
    can_manage_tags: bool = True

    def changed(self, rights: Mapping[str, bool]) -> AdminRights:
        """A copy with some rights changed; an unknown name is a ValueError (a typo)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(rights) - known)
        if unknown:
            raise ValueError(f"unknown administrator rights {unknown}; known: {sorted(known)}")
        return replace(self, **{name: bool(value) for name, value in rights.items()})

    def member_fields(self, chat_type: str) -> dict[str, bool]:
        """The rights as ChatMemberAdministrator shows them in a chat of this type."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if chat_type in _RIGHTS_OF_CHAT_TYPE.get(f.name, (chat_type,))
        }


@dataclass
class Chat:
    """A private chat, a group, a supergroup or a channel, and the bot's standing in it."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    user: User | None = None  # the other party of a private chat
    members: dict[int, str] = field(default_factory=dict)  # user id -> status
    bot_status: str = "member"
    #: The bot's rights while it is an administrator (None otherwise).
    bot_rights: AdminRights | None = None

    def __post_init__(self) -> None:
        if self.bot_status == "administrator" and self.bot_rights is None:
            self.bot_rights = AdminRights()

    def set_bot_status(self, status: str, rights: Mapping[str, bool] | None = None) -> None:
        """The bot's new status; as administrator, the default rights changed by ``rights``."""
        if status not in BOT_STATUSES:
            raise ValueError(f"bot status must be one of {BOT_STATUSES}")
        if rights and status != "administrator":
            raise ValueError("only an administrator has rights")
        self.bot_status = status
        self.bot_rights = AdminRights().changed(rights or {}) if status == "administrator" else None

    @property
    def bot_is_admin(self) -> bool:
        return self.bot_status in ADMIN_STATUSES

    def bot_can(self, right: str) -> bool:
        """Whether the bot holds this administrator right here (a creator holds them all)."""
        if self.bot_status == "creator":
            return True
        return self.bot_rights is not None and bool(getattr(self.bot_rights, right))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.user is not None:
            out["first_name"] = self.user.first_name
            if self.user.last_name:
                out["last_name"] = self.user.last_name
        if self.title is not None:
            out["title"] = self.title
        username = self.user.username if self.user is not None else self.username
        if username:
            out["username"] = username
        return out

    @property
    def is_group_or_channel(self) -> bool:
        return self.type in ("group", "supergroup", "channel")


@dataclass
class FileRecord:
    """One stored file (each photo size is its own file)."""

    file_id: str
    file_unique_id: str
    kind: str  # photo, document, sticker, video, animation
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    photo_set: list[str] = field(default_factory=list)  # all sizes of the same photo

    @property
    def file_size(self) -> int:
        return len(self.data)

    def photo_size(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "file_size": self.file_size,
        }


@dataclass
class StoredMessage:
    """A message as its chat holds it: the Bot API dict plus bookkeeping."""

    data: dict[str, Any]
    from_bot: bool
    deleted: bool = False


@dataclass
class BotEvent:
    """Something the bot did in a chat, for ``Emulator.wait_for``."""

    kind: str  # "sent" | "edited" | "deleted"
    chat_id: int
    message: dict[str, Any]


@dataclass
class CallbackQuery:
    id: str
    user: User
    chat_id: int
    message_id: int
    data: str
    answer: dict[str, Any] | None = None


_FOLDERS = {
    "photo": ("photos", ".jpg"),
    "document": ("documents", ""),
    "sticker": ("stickers", ".webp"),
    "video": ("videos", ".mp4"),
    "animation": ("animations", ".mp4"),
}


class FileStore:
    """Files by file_id; ``file_unique_id`` is derived from the content, so it is stable."""

    def __init__(self) -> None:
        self.by_id: dict[str, FileRecord] = {}
        self.by_path: dict[str, FileRecord] = {}
        self._counter = itertools.count(1)

    def add(self, kind: str, data: bytes, **meta: Any) -> FileRecord:
        number = next(self._counter)
        digest = hashlib.sha256(kind.encode() + b"\0" + data).digest()
        unique = "AQAD" + base64.urlsafe_b64encode(digest[:12]).decode().rstrip("=")
        file_id = "BQAC" + base64.urlsafe_b64encode(
            number.to_bytes(4, "big") + digest[:12]
        ).decode().rstrip("=")
        folder, ext = _FOLDERS[kind]
        name = meta.get("file_name") or ""
        if kind == "document" and "." in name:
            ext = "." + name.rsplit(".", 1)[1][:8]
        record = FileRecord(file_id, unique, kind, data, f"{folder}/file_{number}{ext}", **meta)
        self.by_id[file_id] = record
        self.by_path[record.file_path] = record
        return record


class UpdateQueue:
    """Pending updates with Telegram's getUpdates semantics (offset confirms, long polling)."""

    def __init__(self) -> None:
        self.pending: list[dict[str, Any]] = []
        self.allowed: frozenset[str] = DEFAULT_UPDATE_TYPES
        self.dropped: list[dict[str, Any]] = []  # refused by allowed_updates, for debugging
        self._next_id = 1
        self._arrived = asyncio.Event()

    def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Queue an update unless ``allowed_updates`` excludes its type (then it is dropped)."""
        update = {"update_id": self._next_id, kind: payload}
        self._next_id += 1
        if kind not in self.allowed:
            self.dropped.append(update)
            return None
        self.pending.append(update)
        self._arrived.set()
        return update

    def set_allowed(self, allowed: list[str] | None) -> None:
        if allowed is None:
            return
        self.allowed = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES

    def confirm(self, offset: int) -> None:
        if offset > 0:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        elif offset < 0:
            self.pending = self.pending[offset:]

    async def wait(self, seconds: float, stopping: asyncio.Event) -> None:
        """Sleep until an update arrives, the timeout expires or the server stops."""
        if self.pending or seconds <= 0:
            return
        self._arrived.clear()
        arrived = asyncio.ensure_future(self._arrived.wait())
        stopped = asyncio.ensure_future(stopping.wait())
        try:
            await asyncio.wait({arrived, stopped}, timeout=seconds, return_when="FIRST_COMPLETED")
        finally:
            arrived.cancel()
            stopped.cancel()


class World:
    """All chats, users, messages and files of one emulator.

    Its clock is the wall clock plus ``clock_offset``: ``Emulator.travel`` moves it forward,
    so stored messages grow older (for deleteMessage's 48 hours) without any real wait.
    """

    def __init__(self, bot: User) -> None:
        self.bot = bot
        self.clock_offset = 0.0
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.messages: dict[int, list[StoredMessage]] = {}
        self.files = FileStore()
        self.updates = UpdateQueue()
        self.events: list[BotEvent] = []
        self.callback_queries: dict[str, CallbackQuery] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.settings: dict[tuple[str, str], Any] = {}  # (name|description|..., lang) -> value
        self._event_signal = asyncio.Event()
        self._ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._media_groups = itertools.count(13_000_000_000_000_000)

    def now(self) -> int:
        """The world's current Unix time (``date`` of new messages, ``edit_date``)."""
        return int(time.time() + self.clock_offset)

    def age(self, message: dict[str, Any]) -> int:
        """How many seconds ago, in world time, the message was sent."""
        return self.now() - int(message["date"])

    # -- identities ----------------------------------------------------------------------

    def next_user_id(self) -> int:
        return 1_000_000 + next(self._ids)

    def next_group_id(self) -> int:
        """A supergroup or channel id (``-100...``)."""
        return -1_001_000_000_000 - next(self._ids)

    def next_basic_group_id(self) -> int:
        """A basic group id (negative, without the ``-100`` prefix)."""
        return -4_000_000_000 - next(self._ids)

    def next_media_group_id(self) -> str:
        return str(next(self._media_groups))

    def resolve_chat(self, chat_id: int | str) -> Chat | None:
        if isinstance(chat_id, str):
            if chat_id.startswith("@"):
                name = chat_id[1:].lower()
                for chat in self.chats.values():
                    uname = chat.user.username if chat.user else chat.username
                    if uname and uname.lower() == name:
                        return chat
                return None
            try:
                chat_id = int(chat_id)
            except ValueError:
                return None
        return self.chats.get(chat_id)

    # -- messages ------------------------------------------------------------------------

    def new_message(
        self, chat: Chat, sender: User | None, content: dict[str, Any], from_bot: bool
    ) -> dict[str, Any]:
        """Store a new message in ``chat`` and return its dict."""
        counter = self._message_ids.setdefault(chat.id, itertools.count(1))
        message: dict[str, Any] = {"message_id": next(counter), "date": self.now()}
        if chat.type == "channel":
            message["sender_chat"] = chat.to_dict()
        elif sender is not None:
            message["from"] = sender.to_dict()
        message["chat"] = chat.to_dict()
        message.update(content)
        self.messages.setdefault(chat.id, []).append(StoredMessage(message, from_bot))
        if from_bot:
            self.record_event("sent", chat.id, message)
        return message

    def find_message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        for stored in self.messages.get(chat_id, []):
            if stored.data["message_id"] == message_id and not stored.deleted:
                return stored
        return None

    def record_event(self, kind: str, chat_id: int, message: dict[str, Any]) -> None:
        self.events.append(BotEvent(kind, chat_id, copy.deepcopy(message)))
        self._event_signal.set()
        self._event_signal = asyncio.Event()

    def event_signal(self) -> asyncio.Event:
        """An event set at the next bot action (take it *before* checking the log)."""
        return self._event_signal
