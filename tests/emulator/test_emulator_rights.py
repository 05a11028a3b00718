"""The world clock, the bot's administrator rights and what they allow: deleteMessage's 48
hours, posting and editing in a channel, getChatMember. Through raw HTTP calls, and PTB for
the rights it reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from telegram import ChatMemberAdministrator

from bot.sandbox.emulator import Emulator
from bot.sandbox.emulator.state import Chat, User
from bot.sandbox.emulator.testing import SPEC_MODES, ApiClient, build_application

HOUR = 3600
REFUSED = (400, "Bad Request: message can't be deleted")
both_modes = pytest.mark.parametrize("emu", SPEC_MODES, indirect=True)


@pytest.fixture
async def lea(emu: Emulator) -> User:
    user = emu.create_user("Léa")
    await emu.send_text(user, "/start")
    return user


# -- the world clock -------------------------------------------------------------------


async def test_travel_ages_messages_without_changing_their_date(
    emu: Emulator, api: ApiClient, lea: User
) -> None:
    sent = await api.ok("sendMessage", chat_id=lea.id, text="avant")
    before = emu.now
    emu.travel(hours=49)
    emu.travel(60)
    assert emu.now - before >= 49 * HOUR + 60
    assert emu.messages(lea)[-1]["date"] == sent["date"]
    later = await api.ok("sendMessage", chat_id=lea.id, text="après")
    assert later["date"] - sent["date"] >= 49 * HOUR + 60
    with pytest.raises(ValueError, match="forward"):
        emu.travel(-1)


# -- deleteMessage -----------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One deleteMessage situation: where, the bot's standing, whose message, how old."""

    chat: str  # private | supergroup | group (basic) | channel
    sender: str  # bot (outgoing) | user (incoming)
    hours: float
    allowed: bool
    status: str = "administrator"
    rights: tuple[tuple[str, bool], ...] = ()

    def __str__(self) -> str:
        rights = "".join(f"({k}={v})" for k, v in self.rights)
        return f"{self.chat}-{self.status}{rights}-{self.sender}-{self.hours}h"


NO_DELETE = (("can_delete_messages", False),)
CASES = [
    # private chats: outgoing and incoming, less than 48 hours old
    Case("private", "bot", 0, True),
    Case("private", "bot", 47, True),
    Case("private", "bot", 49, False),
    Case("private", "user", 0, True),
    Case("private", "user", 49, False),
    # supergroups: outgoing only, unless can_delete_messages (then anything, at any age)
    Case("supergroup", "bot", 0, True, status="member"),
    Case("supergroup", "bot", 49, False, status="member"),
    Case("supergroup", "user", 0, False, status="member"),
    Case("supergroup", "user", 0, False, rights=NO_DELETE),
    Case("supergroup", "bot", 49, False, rights=NO_DELETE),
    Case("supergroup", "user", 0, True),
    Case("supergroup", "user", 49, True),
    Case("supergroup", "bot", 24 * 30, True),
    # basic groups: an administrator deletes any message, but within 48 hours
    Case("group", "user", 0, True),
    Case("group", "user", 49, False),
    Case("group", "user", 0, False, status="member"),
    Case("group", "bot", 0, True, status="member"),
    # channels: outgoing with can_post_messages; anything with can_delete_messages
    Case("channel", "bot", 49, True),
    Case("channel", "bot", 0, True, rights=NO_DELETE),
    Case("channel", "bot", 49, False, rights=NO_DELETE),
    Case("channel", "bot", 0, False, rights=(*NO_DELETE, ("can_post_messages", False))),
    Case("channel", "bot", 49, True, rights=(("can_post_messages", False),)),
    Case("channel", "bot", 0, False, status="member"),
]


async def _message_in(emu: Emulator, api: ApiClient, case: Case) -> tuple[Chat, dict[str, Any]]:
    """A message of ``case.sender`` in a fresh chat of ``case.chat``, the bot then set up."""
    lea = emu.create_user("Léa")
    await emu.send_text(lea, "/start")
    if case.chat == "private":
        chat = emu.chat(lea)
    elif case.chat == "channel":
        chat = emu.create_channel("Fiers d'être apprentis")
    else:
        chat = emu.create_group("Modération", [lea], supergroup=case.chat == "supergroup")
    if case.sender == "bot":
        message = await api.ok("sendMessage", chat_id=chat.id, text="carte")
    else:
        message = await emu.send_text(lea, "bonjour", chat=chat)
    if chat.type != "private":
        emu.set_bot_status(chat, case.status, **dict(case.rights))
    return chat, message


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_delete_message_follows_the_bot_api_rules(
    emu: Emulator, api: ApiClient, case: Case
) -> None:
    chat, message = await _message_in(emu, api, case)
    emu.travel(hours=case.hours)
    status, body = await api.call(
        "deleteMessage", chat_id=chat.id, message_id=message["message_id"]
    )
    still_there = message["message_id"] in [m["message_id"] for m in emu.messages(chat)]
    if case.allowed:
        assert (status, body["result"], still_there) == (200, True, False)
    else:
        assert (status, body["description"], still_there) == (*REFUSED, True)


@both_modes
async def test_delete_not_found_too_old_kicked_then_allowed(
    emu: Emulator, api: ApiClient, lea: User
) -> None:
    chan = emu.create_channel("Fiers", bot_rights={"can_delete_messages": False})
    post = await api.ok("sendMessage", chat_id=chan.id, text="Léa, apprentie")
    ident = {"chat_id": chan.id, "message_id": post["message_id"]}
    status, body = await api.call("deleteMessage", chat_id=chan.id, message_id=999)
    assert (status, body["description"]) == (400, "Bad Request: message to delete not found")
    emu.travel(hours=49)
    assert (await api.call("deleteMessage", **ident)) == (
        400,
        {"ok": False, "error_code": 400, "description": REFUSED[1]},
    )
    emu.set_bot_status(chan, "kicked")
    status, body = await api.call("deleteMessage", **ident)
    assert (status, body["description"]) == (403, "Forbidden: bot was kicked from the channel chat")
    emu.set_bot_status(chan, "administrator")  # every right again
    assert await api.ok("deleteMessage", **ident) is True


async def test_humans_delete_at_any_age(emu: Emulator, api: ApiClient, lea: User) -> None:
    chan = emu.create_channel("Fiers")
    post = await api.ok("sendMessage", chat_id=chan.id, text="Léa")
    own = await emu.send_text(lea, "coucou")
    emu.travel(hours=24 * 365)
    emu.delete_message(post)
    emu.delete_message(own)
    assert emu.messages(chan) == [] and own not in emu.messages(lea)


# -- rights: getChatMember, posting, editing ----------------------------------------------


@both_modes
async def test_get_chat_member_shows_the_rights_of_that_chat(emu: Emulator, api: ApiClient) -> None:
    chan = emu.create_channel("Fiers", bot_rights={"can_delete_messages": False})
    mods = emu.create_group("Modération", bot_status="administrator")
    me = await api.ok("getChatMember", chat_id=chan.id, user_id=emu.bot.id)
    assert me["status"] == "administrator"
    assert (me["can_post_messages"], me["can_edit_messages"]) == (True, True)
    assert (me["can_delete_messages"], me["can_promote_members"]) == (False, False)
    assert "can_pin_messages" not in me  # "for groups and supergroups only"
    in_group = await api.ok("getChatMember", chat_id=mods.id, user_id=emu.bot.id)
    assert in_group["can_delete_messages"] and in_group["can_pin_messages"]
    assert "can_post_messages" not in in_group  # "for channels only"

    emu.set_bot_rights(chan, can_delete_messages=True, can_post_messages=False)
    me = await api.ok("getChatMember", chat_id=chan.id, user_id=emu.bot.id)
    assert (me["can_delete_messages"], me["can_post_messages"]) == (True, False)
    assert me["can_edit_messages"] is True  # kept
    emu.set_bot_status(chan, "member")
    me = await api.ok("getChatMember", chat_id=chan.id, user_id=emu.bot.id)
    assert me == {"status": "member", "user": me["user"]}
    with pytest.raises(ValueError, match="not administrator"):
        emu.set_bot_rights(chan, can_post_messages=True)
    with pytest.raises(ValueError, match="unknown administrator rights"):
        emu.set_bot_status(chan, "administrator", can_fly=True)


async def test_ptb_reads_the_rights(emu: Emulator) -> None:
    chan = emu.create_channel("Fiers", bot_rights={"can_post_messages": False})
    app = build_application(emu)
    await app.initialize()
    try:
        member = await app.bot.get_chat_member(chan.id, emu.bot.id)
    finally:
        await app.shutdown()
    assert isinstance(member, ChatMemberAdministrator)
    assert (member.can_post_messages, member.can_delete_messages) == (False, True)


@both_modes
async def test_posting_in_a_channel_needs_can_post_messages(emu: Emulator, api: ApiClient) -> None:
    chan = emu.create_channel("Fiers", bot_rights={"can_post_messages": False})
    status, body = await api.call("sendMessage", chat_id=chan.id, text="Léa")
    assert (status, body["description"]) == (
        400,
        "Bad Request: need administrator rights in the channel chat",
    )
    emu.set_bot_rights(chan, can_post_messages=True)
    post = await api.ok("sendMessage", chat_id=chan.id, text="Léa")
    assert post["sender_chat"]["id"] == chan.id


@both_modes
async def test_editing_own_messages_at_any_age_and_channel_rights(
    emu: Emulator, api: ApiClient, lea: User
) -> None:
    card = await api.ok("sendMessage", chat_id=lea.id, text="carte")
    chan = emu.create_channel("Fiers")
    post = await api.ok("sendMessage", chat_id=chan.id, text="Léa")
    emu.travel(hours=24 * 90)
    edited = await api.ok(
        "editMessageText", chat_id=lea.id, message_id=card["message_id"], text="carte (modifiée)"
    )
    assert edited["edit_date"] >= card["date"] + 24 * 90 * HOUR
    ident = {"chat_id": chan.id, "message_id": post["message_id"]}

    async def edit(text: str) -> tuple[int, str]:
        status, body = await api.call("editMessageText", text=text, **ident)
        return status, body.get("description", "")

    emu.set_bot_rights(chan, can_post_messages=False, can_edit_messages=False)
    assert await edit("Léa (1)") == (400, "Bad Request: message can't be edited")
    emu.set_bot_rights(chan, can_edit_messages=True)
    assert await edit("Léa (2)") == (200, "")
    emu.set_bot_rights(chan, can_edit_messages=False, can_post_messages=True)
    assert await edit("Léa (3)") == (200, "")
    emu.set_bot_status(chan, "member")
    assert await edit("Léa (4)") == (400, "Bad Request: message can't be edited")
    emu.set_bot_status(chan, "left")
    assert await edit("Léa (5)") == (403, "Forbidden: bot is not a member of the channel chat")
    assert emu.messages(chan)[0]["text"] == "Léa (3)"
