"""Implementations of the Bot API methods over the in-memory :class:`~.state.World`.

Each method reads its parameters through the typed accessors of :class:`~.params.Params`
(``p.integer("offset")``, ``p.json("reply_markup")``...), which convert form strings whether
or not :mod:`.spec` has validated the call first. It returns the ``result`` of the answer, or
raises :class:`~.errors.ApiError`. Descriptions of errors follow Telegram's wording where it
is known.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import re
from collections.abc import Awaitable, Callable
from typing import Any

from . import media, webhook
from .errors import ApiError, bad_request, forbidden
from .formatting import check_caption, check_text
from .limits import FloodControl
from .params import Params, Upload, to_chat_id
from .state import AdminRights, Chat, FileRecord, StoredMessage, World

Handler = Callable[["BotApi", Params], Awaitable[Any]]

MAX_DOCUMENT_UPLOAD = 50 * 1024 * 1024
MAX_DOWNLOAD = 20 * 1024 * 1024
#: deleteMessage: "a message can only be deleted if it was sent less than 48 hours ago".
DELETE_WINDOW = 48 * 3600
_CONTENT_KEYS = ("text", "entities", "photo", "document", "sticker", "video", "animation")
_CAPTION_KEYS = ("caption", "caption_entities", "show_caption_above_media", "has_media_spoiler")
#: What editMessageMedia can replace (a text too, since Bot API 10.0).
_MEDIA_EDITABLE = ("text", "photo", "document", "video", "animation")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_OLD_QUERY = "query is too old and response timeout expired or query ID is invalid"

REGISTRY: dict[str, Handler] = {}


def api_method(name: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        REGISTRY[name] = func
        return func

    return register


class BotApi:
    """The method implementations, bound to one world and its flood control."""

    def __init__(self, world: World, flood: FloodControl, stopping: asyncio.Event) -> None:
        self.world = world
        self.flood = flood
        self.stopping = stopping
        self.webhook = webhook.Webhook(world.updates, stopping)

    async def call(self, method: str, params: Params) -> Any:
        handler = REGISTRY.get(method)
        if handler is None:
            raise ApiError(404, "Not Found")
        return await handler(self, params)

    # -- shared checks -------------------------------------------------------------------

    def chat_for_bot(self, chat_id: Any, *, sending: bool) -> Chat:
        """The chat, if the bot may act in it; else Telegram's 400/403 answers."""
        chat = self.world.resolve_chat(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        if chat.type == "private":
            assert chat.user is not None
            if chat.user.blocked_bot:
                raise forbidden("bot was blocked by the user")
            if not chat.user.started:
                raise forbidden("bot can't initiate conversation with a user")
            return chat
        kind = "channel" if chat.type == "channel" else f"{chat.type}"
        if chat.bot_status == "kicked":
            raise forbidden(f"bot was kicked from the {kind} chat")
        if chat.bot_status == "left":
            raise forbidden(f"bot is not a member of the {kind} chat")
        if sending and chat.type == "channel" and not chat.bot_can("can_post_messages"):
            raise bad_request("need administrator rights in the channel chat")
        return chat

    def message_in(self, chat: Chat, message_id: int, missing: str) -> StoredMessage:
        stored = self.world.find_message(chat.id, message_id)
        if stored is None:
            raise bad_request(missing)
        return stored

    def reply_markup(self, markup: Any) -> dict[str, Any] | None:
        """Check an inline keyboard; only inline keyboards are kept in the Message."""
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return None
        for row in markup["inline_keyboard"]:
            for button in row:
                if "callback_data" in button:
                    size = len(button["callback_data"].encode("utf-8"))
                    if not 1 <= size <= 64:
                        raise bad_request("BUTTON_DATA_INVALID")
                elif len(button) <= 1:
                    raise bad_request(
                        "can't parse inline keyboard button: Text buttons are unallowed in "
                        "the inline keyboard"
                    )
        return markup

    def reply_to(self, chat: Chat, params: Params) -> dict[str, Any] | None:
        reply = params.json("reply_parameters")
        if not reply:
            return None
        target_chat = chat
        if reply.get("chat_id") is not None:
            target_chat = self.chat_for_bot(reply["chat_id"], sending=False)
        stored = self.world.find_message(target_chat.id, int(reply["message_id"]))
        if stored is None:
            if reply.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        original = dict(stored.data)
        original.pop("reply_to_message", None)
        return original

    def send(self, chat: Chat, content: dict[str, Any], params: Params) -> dict[str, Any]:
        """Count the message against flood limits, then store it as sent by the bot."""
        markup = self.reply_markup(params.json("reply_markup"))
        reply = self.reply_to(chat, params)
        self.flood.check(chat.id, chat.is_group_or_channel)
        if reply is not None:
            content["reply_to_message"] = reply
        if markup is not None:
            content["reply_markup"] = markup
        return self.world.new_message(chat, self.world.bot, content, from_bot=True)

    def caption_content(self, params: Params) -> dict[str, Any]:
        content: dict[str, Any] = {}
        if "caption" in params:
            text, entities = check_caption(
                params.string("caption"),
                params.string("parse_mode"),
                params.json("caption_entities"),
            )
            if text:
                content["caption"] = text
                if entities:
                    content["caption_entities"] = entities
        if params.boolean("show_caption_above_media"):
            content["show_caption_above_media"] = True
        if params.boolean("has_spoiler"):  # the Message field is has_media_spoiler
            content["has_media_spoiler"] = True
        return content

    def existing_file(self, value: str, kind: str) -> FileRecord:
        if value.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content (the sandbox has no Internet)")
        record = self.world.files.by_id.get(value)
        if record is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if record.kind != kind and not (kind == "document" and record.kind != "photo"):
            raise bad_request("type of file mismatch")
        return record

    async def store_photo(self, data: bytes) -> list[dict[str, Any]]:
        """Check an uploaded photo and store its renditions; return the PhotoSize array."""
        media.check_photo(data)
        renditions = await asyncio.to_thread(media.photo_renditions, data)
        records = [
            self.world.files.add("photo", r.data, width=r.width, height=r.height)
            for r in renditions
        ]
        ids = [r.file_id for r in records]
        for record in records:
            record.photo_set = ids
        return [r.photo_size() for r in records]

    async def photo_sizes(self, photo: Upload | str) -> list[dict[str, Any]]:
        """The PhotoSize array of an uploaded photo (stored) or of a known photo's file_id."""
        if isinstance(photo, Upload):
            return await self.store_photo(photo.data)
        record = self.existing_file(photo, "photo")
        return [self.world.files.by_id[i].photo_size() for i in record.photo_set]

    def store_document(self, upload: Upload) -> dict[str, Any]:
        if len(upload.data) > MAX_DOCUMENT_UPLOAD:
            raise ApiError(413, "Request Entity Too Large")
        if not upload.data:
            raise bad_request("file must be non-empty")
        mime = mimetypes.guess_type(upload.filename)[0] or upload.content_type
        record = self.world.files.add(
            "document", upload.data, file_name=upload.filename, mime_type=mime
        )
        return document_dict(record)


def document_dict(record: FileRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"file_id": record.file_id, "file_unique_id": record.file_unique_id}
    if record.file_name:
        out["file_name"] = record.file_name
    if record.mime_type:
        out["mime_type"] = record.mime_type
    out["file_size"] = record.file_size
    return out


def member_dict(
    user: dict[str, Any], status: str, chat_type: str, rights: AdminRights | None = None
) -> dict[str, Any]:
    """A ChatMember of the given status, with the fields PTB requires.

    An administrator shows ``rights`` (default: AdminRights()), only those that exist in a
    chat of this type (can_post_messages in channels, can_pin_messages in groups...).
    """
    out: dict[str, Any] = {"status": status, "user": user}
    if status == "administrator":
        out["can_be_edited"] = False
        out.update((rights or AdminRights()).member_fields(chat_type))
    elif status == "creator":
        out["is_anonymous"] = False
    elif status == "kicked":
        out["until_date"] = 0
    elif status == "restricted":
        out.update({"is_member": True, "until_date": 0})
    return out


# -- bot identity and settings -------------------------------------------------------------


@api_method("getMe")
async def get_me(api: BotApi, p: Params) -> Any:
    me = api.world.bot.to_dict()
    me.update(
        can_join_groups=True,
        can_read_all_group_messages=False,
        supports_inline_queries=False,
        can_connect_to_business=False,
        has_main_web_app=False,
    )
    return me


@api_method("logOut")
@api_method("close")
async def log_out(api: BotApi, p: Params) -> Any:
    return True


@api_method("setWebhook")
async def set_webhook(api: BotApi, p: Params) -> Any:
    url = p.string("url", required=True) or ""
    if p.get("certificate") is not None:
        raise bad_request("the emulator takes no self-signed certificate")
    if not url:
        return await delete_webhook(api, p)
    webhook.check_url(url)
    secret = p.string("secret_token")
    webhook.check_secret(secret)
    if p.boolean("drop_pending_updates"):
        api.world.updates.pending.clear()
    api.world.updates.set_allowed(p.json("allowed_updates"))
    await api.webhook.set(url, secret)
    return True


@api_method("deleteWebhook")
async def delete_webhook(api: BotApi, p: Params) -> Any:
    await api.webhook.delete()
    if p.boolean("drop_pending_updates"):
        api.world.updates.pending.clear()
    return True


@api_method("getWebhookInfo")
async def get_webhook_info(api: BotApi, p: Params) -> Any:
    return api.webhook.info()


def _scope_key(p: Params) -> tuple[str, str]:
    scope = dict(p.json("scope") or {"type": "default"})
    if "chat_id" in scope:  # BotCommandScopeChat*: the same key for "-100123" and -100123
        scope["chat_id"] = to_chat_id(scope["chat_id"])
    return json.dumps(scope, sort_keys=True), p.string("language_code") or ""


@api_method("setMyCommands")
async def set_my_commands(api: BotApi, p: Params) -> Any:
    commands = p.json("commands", required=True)
    if len(commands) > 100:
        raise bad_request("too many commands")
    for command in commands:
        name = str(command.get("command", ""))
        if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    api.world.commands[_scope_key(p)] = [
        {"command": c["command"], "description": c["description"]} for c in commands
    ]
    return True


@api_method("getMyCommands")
async def get_my_commands(api: BotApi, p: Params) -> Any:
    return api.world.commands.get(_scope_key(p), [])


@api_method("deleteMyCommands")
async def delete_my_commands(api: BotApi, p: Params) -> Any:
    api.world.commands.pop(_scope_key(p), None)
    return True


def _setting(name: str, field: str, limit: int) -> None:
    setter = "setMy" + name
    getter = "getMy" + name

    async def set_value(api: BotApi, p: Params) -> Any:
        value = p.string(field) or ""
        if len(value) > limit:
            raise bad_request(f"{field} is too long (at most {limit} characters)")
        api.world.settings[(field, p.string("language_code") or "")] = value
        return True

    async def get_value(api: BotApi, p: Params) -> Any:
        settings = api.world.settings
        lang = p.string("language_code") or ""
        return {field: settings.get((field, lang), settings.get((field, ""), ""))}

    api_method(setter)(set_value)
    api_method(getter)(get_value)


_setting("Name", "name", 64)
_setting("Description", "description", 512)
_setting("ShortDescription", "short_description", 120)


# -- updates -------------------------------------------------------------------------------


@api_method("getUpdates")
async def get_updates(api: BotApi, p: Params) -> Any:
    if api.webhook.active:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
            "to delete the webhook first",
        )
    queue = api.world.updates
    offset = p.integer("offset")
    if offset is not None:
        queue.confirm(offset)
    queue.set_allowed(p.json("allowed_updates"))
    limit = min(max(p.integer("limit", 100), 1), 100)
    await queue.wait(min(p.integer("timeout", 0), 50), api.stopping)
    return queue.pending[:limit]


# -- sending -------------------------------------------------------------------------------


@api_method("sendMessage")
async def send_message(api: BotApi, p: Params) -> Any:
    chat = api.chat_for_bot(p.chat_id(), sending=True)
    text, entities = check_text(
        p.string("text", required=True), p.string("parse_mode"), p.json("entities")
    )
    content: dict[str, Any] = {"text": text}
    if entities:
        content["entities"] = entities
    return api.send(chat, content, p)


@api_method("sendPhoto")
async def send_photo(api: BotApi, p: Params) -> Any:
    chat = api.chat_for_bot(p.chat_id(), sending=True)
    content = api.caption_content(p)
    sizes = await api.photo_sizes(p.file("photo"))
    return api.send(chat, {"photo": sizes, **content}, p)


@api_method("sendDocument")
async def send_document(api: BotApi, p: Params) -> Any:
    chat = api.chat_for_bot(p.chat_id(), sending=True)
    content = api.caption_content(p)
    document = p.file("document")
    if isinstance(document, Upload):
        doc = api.store_document(document)
    else:
        doc = document_dict(api.existing_file(document, "document"))
    return api.send(chat, {"document": doc, **content}, p)


@api_method("copyMessage")
async def copy_message(api: BotApi, p: Params) -> Any:
    source_chat = api.chat_for_bot(p.chat_id("from_chat_id"), sending=False)
    chat = api.chat_for_bot(p.chat_id(), sending=True)
    message_id = p.integer("message_id", required=True)
    source = api.message_in(source_chat, message_id, "message to copy not found").data
    content = {k: source[k] for k in (*_CONTENT_KEYS, *_CAPTION_KEYS) if k in source}
    if not any(k in content for k in _CONTENT_KEYS):
        raise bad_request("message can't be copied")
    if "caption" in p:
        for key in ("caption", "caption_entities"):
            content.pop(key, None)
        content.update(api.caption_content(p))
    message = api.send(chat, content, p)
    return {"message_id": message["message_id"]}


# -- files ---------------------------------------------------------------------------------


@api_method("getFile")
async def get_file(api: BotApi, p: Params) -> Any:
    record = api.world.files.by_id.get(p.string("file_id", required=True))
    if record is None:
        raise bad_request("invalid file_id")
    if record.file_size > MAX_DOWNLOAD:
        raise bad_request("file is too big")
    return {
        "file_id": record.file_id,
        "file_unique_id": record.file_unique_id,
        "file_size": record.file_size,
        "file_path": record.file_path,
    }


# -- callback queries ----------------------------------------------------------------------


@api_method("answerCallbackQuery")
async def answer_callback_query(api: BotApi, p: Params) -> Any:
    query = api.world.callback_queries.get(p.string("callback_query_id", required=True))
    if query is None or query.answer is not None:
        raise bad_request(_OLD_QUERY)
    text = p.string("text") or ""
    if len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    query.answer = {
        "text": text or None,
        "show_alert": p.boolean("show_alert"),
        "url": p.string("url"),
        "cache_time": p.integer("cache_time", 0),
    }
    return True


# -- edits and deletes ---------------------------------------------------------------------


def _editable(api: BotApi, p: Params) -> tuple[Chat, StoredMessage]:
    if p.string("inline_message_id"):
        raise bad_request("inline messages are not supported by the sandbox")
    chat_id = p.chat_id()
    message_id = p.integer("message_id")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    chat = api.chat_for_bot(chat_id, sending=False)
    stored = api.message_in(chat, message_id, "message to edit not found")
    if not _may_edit(chat, stored):
        raise bad_request("message can't be edited")
    return chat, stored


def _may_edit(chat: Chat, stored: StoredMessage) -> bool:
    """The bot edits its own messages, at any age; in a channel only as an administrator
    allowed to post or to edit."""
    if not stored.from_bot:
        return False
    if chat.type == "channel":
        return chat.bot_can("can_post_messages") or chat.bot_can("can_edit_messages")
    return True


def _apply_edit(api: BotApi, chat: Chat, stored: StoredMessage, new: dict[str, Any]) -> Any:
    """Replace the given keys (None removes one); refuse an edit that changes nothing."""
    data = stored.data
    if all(data.get(key) == value for key, value in new.items()):
        raise bad_request(_NOT_MODIFIED)
    for key, value in new.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    data["edit_date"] = max(api.world.now(), data["date"])
    api.world.record_event("edited", chat.id, data)
    return data


@api_method("editMessageText")
async def edit_message_text(api: BotApi, p: Params) -> Any:
    chat, stored = _editable(api, p)
    if "text" not in stored.data:
        raise bad_request("there is no text in the message to edit")
    text, entities = check_text(p.string("text"), p.string("parse_mode"), p.json("entities"))
    new = {
        "text": text,
        "entities": entities or None,
        "reply_markup": api.reply_markup(p.json("reply_markup")),
    }
    return _apply_edit(api, chat, stored, new)


@api_method("editMessageCaption")
async def edit_message_caption(api: BotApi, p: Params) -> Any:
    chat, stored = _editable(api, p)
    if not any(k in stored.data for k in ("photo", "document", "video", "animation")):
        raise bad_request("there is no caption in the message to edit")
    text, entities = check_caption(
        p.string("caption"), p.string("parse_mode"), p.json("caption_entities")
    )
    new = {
        "caption": text or None,
        "caption_entities": entities or None,
        "reply_markup": api.reply_markup(p.json("reply_markup")),
    }
    return _apply_edit(api, chat, stored, new)


@api_method("editMessageReplyMarkup")
async def edit_message_reply_markup(api: BotApi, p: Params) -> Any:
    chat, stored = _editable(api, p)
    markup = api.reply_markup(p.json("reply_markup"))
    return _apply_edit(api, chat, stored, {"reply_markup": markup})


@api_method("editMessageMedia")
async def edit_message_media(api: BotApi, p: Params) -> Any:
    chat, stored = _editable(api, p)
    if not any(k in stored.data for k in _MEDIA_EDITABLE):
        raise bad_request("message can't be edited")
    content = await _input_media(api, p, p.json("media", required=True))
    new: dict[str, Any] = dict.fromkeys((*_MEDIA_EDITABLE, "entities", *_CAPTION_KEYS))
    new.update(content)
    new["reply_markup"] = api.reply_markup(p.json("reply_markup"))
    return _apply_edit(api, chat, stored, new)


async def _input_media(api: BotApi, p: Params, media: Any) -> dict[str, Any]:
    """The Message content an InputMediaPhoto/InputMediaDocument describes.

    Its file is a file_id, or ``attach://<name>`` naming an uploaded part; an uploaded photo
    is checked and gets its PhotoSize ladder exactly as with sendPhoto.
    """
    kind = media.get("type") if isinstance(media, dict) else None
    if kind not in ("photo", "document"):
        raise bad_request(f"the sandbox edits photo and document media only, not {kind!r}")
    described = Params(media)
    file = p.attached(described.string("media", required=True), "media")
    media["media"] = file  # the call log shows the upload itself
    content = api.caption_content(described)
    if kind == "photo":
        content["photo"] = await api.photo_sizes(file)
    elif isinstance(file, Upload):
        content["document"] = api.store_document(file)
    else:
        content["document"] = document_dict(api.existing_file(file, "document"))
    return content


@api_method("deleteMessage")
async def delete_message(api: BotApi, p: Params) -> Any:
    chat = api.chat_for_bot(p.chat_id(), sending=False)
    message_id = p.integer("message_id", required=True)
    stored = api.message_in(chat, message_id, "message to delete not found")
    if not _may_delete(chat, stored, api.world.age(stored.data)):
        raise bad_request("message can't be deleted")
    stored.deleted = True
    api.world.record_event("deleted", chat.id, stored.data)
    return True


def _may_delete(chat: Chat, stored: StoredMessage, age: int) -> bool:
    """deleteMessage's limitations, as the Bot API describes them."""
    if chat.type in ("supergroup", "channel") and chat.bot_can("can_delete_messages"):
        return True  # any message, at any age: the point of the right
    if age >= DELETE_WINDOW:
        return False
    if chat.type == "private" or (chat.type == "group" and chat.bot_is_admin):
        return True  # incoming too
    if not stored.from_bot:
        return False
    if chat.type == "channel":
        return chat.bot_can("can_post_messages")
    return True  # outgoing, in a group or supergroup


# -- chats ---------------------------------------------------------------------------------


@api_method("getChat")
async def get_chat(api: BotApi, p: Params) -> Any:
    chat = api.world.resolve_chat(p.chat_id())
    if chat is None or (chat.type != "private" and chat.bot_status in ("left", "kicked")):
        raise bad_request("chat not found")
    info = chat.to_dict()
    info.update(
        accent_color_id=0,
        max_reaction_count=11,
        accepted_gift_types={
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    )
    return info


@api_method("getChatMember")
async def get_chat_member(api: BotApi, p: Params) -> Any:
    chat = api.world.resolve_chat(p.chat_id())
    if chat is None:
        raise bad_request("chat not found")
    user_id = p.integer("user_id", required=True)
    world = api.world
    if user_id == world.bot.id:
        status = "member" if chat.type == "private" else chat.bot_status
        return member_dict(world.bot.to_dict(), status, chat.type, chat.bot_rights)
    user = world.users.get(user_id)
    if user is None:
        raise bad_request("user not found")
    if chat.type == "private":
        status = "member" if chat.id == user_id else "left"
    else:
        if chat.bot_status in ("left", "kicked"):
            raise forbidden(f"bot is not a member of the {chat.type} chat")
        status = chat.members.get(user_id, "left")
    return member_dict(user.to_dict(), status, chat.type)
