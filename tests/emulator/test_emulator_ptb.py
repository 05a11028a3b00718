"""The real python-telegram-bot Application, unmodified, against the emulator over HTTP.

Every test runs twice: with the official spec (validation) and without it (an installed copy
of the bot, where the methods still convert their parameters themselves).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import (
    Bot,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.sandbox.emulator import Emulator
from bot.sandbox.emulator.testing import (
    SPEC_MODES,
    build_application,
    make_jpeg,
    running_emulator_in,
)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Oui", callback_data="consent:yes")]])
    await update.effective_message.reply_text(
        "<b>Bienvenue</b> !", parse_mode="HTML", reply_markup=keyboard
    )


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(f"echo: {update.effective_message.text}")


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    largest = update.effective_message.photo[-1]
    data = await (await largest.get_file()).download_as_bytearray()
    await update.effective_message.reply_photo(bytes(data), caption=f"{len(data)} octets")


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer("Merci !")
    await query.edit_message_text("Consentement enregistré")


both_modes = pytest.mark.parametrize("emu", SPEC_MODES, indirect=True)


@pytest.fixture
async def app(emu: Emulator) -> AsyncIterator[Application]:
    application = build_application(emu)
    application.add_handler(CommandHandler("start", start))
    application.add_handler(MessageHandler(filters.PHOTO, photo))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.add_handler(CallbackQueryHandler(button))
    await application.initialize()
    await application.bot.set_my_commands([("start", "Commencer")], language_code="fr")
    await application.start()
    await application.updater.start_polling(poll_interval=0, timeout=1)
    yield application
    await application.updater.stop()
    await application.stop()
    await application.shutdown()


@both_modes
async def test_echo_button_and_callback_answer(emu: Emulator, app: Application) -> None:
    lea = emu.create_user("Léa", username="lea")
    await emu.send_text(lea, "/start")
    welcome = await emu.wait_for(lea, "Bienvenue")
    assert welcome["text"] == "Bienvenue !"
    assert welcome["entities"] == [{"type": "bold", "offset": 0, "length": 9}]

    query_id = await emu.press_button(lea, welcome, "consent:yes")
    edited = await emu.wait_for(lea, "Consentement")
    assert edited["message_id"] == welcome["message_id"]
    assert "reply_markup" not in edited
    assert emu.callback_answer(query_id) == {
        "text": "Merci !",
        "show_alert": False,
        "url": None,
        "cache_time": 0,
    }
    with pytest.raises(LookupError):  # the keyboard is gone after the edit
        await emu.press_button(lea, welcome, "consent:yes")

    await emu.send_text(lea, "bonjour")
    assert (await emu.wait_for(lea))["text"] == "echo: bonjour"
    texts = [m.get("text") for m in emu.messages(lea)]
    assert texts == ["/start", "Consentement enregistré", "bonjour", "echo: bonjour"]
    assert emu.commands(language_code="fr") == [{"command": "start", "description": "Commencer"}]


@both_modes
async def test_photo_round_trip_through_ptb(emu: Emulator, app: Application) -> None:
    lea = emu.create_user("Léa")
    sent = await emu.send_photo(lea, make_jpeg(1600, 1200))
    reply = await emu.wait_for(lea, lambda m: "photo" in m)
    largest = sent["photo"][-1]
    assert (largest["width"], largest["height"]) == (1280, 960)
    assert reply["caption"] == f"{largest['file_size']} octets"


@both_modes
async def test_wait_for_timeout_lists_what_arrived(emu: Emulator, app: Application) -> None:
    lea = emu.create_user("Léa")
    await emu.send_text(lea, "salut")
    with pytest.raises(TimeoutError, match="echo: salut"):
        await emu.wait_for(lea, "jamais", timeout=0.5)


@both_modes
async def test_errors_surface_as_ptb_exceptions(emu: Emulator) -> None:
    app = build_application(emu)
    bot = app.bot
    await app.initialize()
    try:
        lea = emu.create_user("Léa")
        with pytest.raises(Forbidden, match="can't initiate"):
            await bot.send_message(lea.id, "bonjour")
        await emu.send_text(lea, "/start")
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(-100999, "x")
        emu.inject_fault("sendMessage", "429", retry_after=7)
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(lea.id, "x")
        assert "Retry in 7 seconds" in str(caught.value)
        emu.inject_fault("sendMessage", "502")
        with pytest.raises(NetworkError):
            await bot.send_message(lea.id, "x")
        emu.inject_fault("sendMessage", "drop")
        with pytest.raises(NetworkError):
            await bot.send_message(lea.id, "x")
        emu.block_bot(lea)
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(lea.id, "x")
        assert emu.bot_messages(lea) == []
    finally:
        await app.shutdown()


@both_modes
async def test_timeout_fault_gives_timed_out(emu: Emulator) -> None:
    request = HTTPXRequest(read_timeout=0.3)
    app = Application.builder().token(emu.token).base_url(emu.base_url).request(request).build()
    await app.initialize()
    try:
        lea = emu.create_user("Léa")
        await emu.send_text(lea, "/start")
        emu.inject_fault("sendMessage", "timeout", hold=2)
        with pytest.raises(TimedOut):
            await app.bot.send_message(lea.id, "x")
        # delivered=True: the message goes out, only the answer is lost
        emu.inject_fault("sendMessage", "drop", delivered=True)
        with pytest.raises(NetworkError):
            await app.bot.send_message(lea.id, "publié ?")
        assert [m["text"] for m in emu.bot_messages(lea)] == ["publié ?"]
    finally:
        await app.shutdown()


# -- the other methods the bot uses, called through PTB's Bot ----------------------------

KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Publier", callback_data="ok"),
            InlineKeyboardButton("Non", callback_data="no"),
        ]
    ]
)


def _plain(value: Any) -> Any:
    """A PTB result as JSON data, without the wall-clock dates."""
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in ("date", "edit_date")}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


async def _session(emu: Emulator, bot: Bot) -> list[Any]:
    """Long polling, keyboards, callbacks, edits, files, commands, chats; returns the results."""
    out: list[Any] = []
    lea = emu.create_user("Léa", username="lea")
    mods = emu.create_group("Modération", members=[lea])

    # long polling: offset, limit, allowed_updates, and a timeout that waits for an update
    await emu.send_text(lea, "/start")
    await emu.send_text(lea, "bonjour")
    first = await bot.get_updates(limit=1, timeout=0, allowed_updates=["message", "callback_query"])
    assert [u.message.text for u in first] == ["/start"]
    rest = await bot.get_updates(offset=first[0].update_id + 1, timeout=0)
    assert [u.message.text for u in rest] == ["bonjour"]
    poll = asyncio.create_task(bot.get_updates(offset=rest[-1].update_id + 1, timeout=3))
    await asyncio.sleep(0.1)
    assert not poll.done()
    await emu.send_text(lea, "plus tard")
    late = await asyncio.wait_for(poll, 2)
    assert [u.message.text for u in late] == ["plus tard"]
    await bot.get_updates(offset=late[-1].update_id + 1, timeout=0)
    assert emu.pending_updates == []
    out += [first, rest, late]

    # sendMessage with a keyboard and a reply, the button pressed and answered
    sent = await bot.send_message(
        lea.id,
        "<i>Ta photo ?</i>",
        parse_mode="HTML",
        reply_markup=KEYBOARD,
        reply_parameters=ReplyParameters(late[0].message.message_id),
    )
    assert sent.reply_markup == KEYBOARD and sent.reply_to_message.text == "plus tard"
    query_id = await emu.press_button(lea, sent.to_dict(), "no")
    (update,) = await bot.get_updates(offset=late[-1].update_id + 1, timeout=1)
    assert (update.callback_query.id, update.callback_query.data) == (query_id, "no")
    assert await bot.answer_callback_query(query_id, "Tant pis", show_alert=True, cache_time=5)
    assert emu.callback_answer(query_id) == {
        "text": "Tant pis",
        "show_alert": True,
        "url": None,
        "cache_time": 5,
    }
    one_button = InlineKeyboardMarkup([KEYBOARD.inline_keyboard[0][:1]])
    edited = await bot.edit_message_reply_markup(lea.id, sent.message_id, reply_markup=one_button)
    assert edited.reply_markup == one_button
    with pytest.raises(LookupError):
        await emu.press_button(lea, sent.to_dict(), "no")
    cleared = await bot.edit_message_reply_markup(str(lea.id), sent.message_id)
    assert cleared.reply_markup is None
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_reply_markup(lea.id, sent.message_id)
    out += [sent, update, edited, cleared]

    # sendPhoto: upload, then file_id reuse; getFile and download
    photo = await bot.send_photo(
        lea.id, make_jpeg(900, 600), caption="<b>Léa</b>", parse_mode="HTML"
    )
    assert photo.caption == "Léa" and photo.photo[-1].width == 900
    again = await bot.send_photo(mods.id, photo.photo[-1].file_id, has_spoiler=True)
    assert [p.file_unique_id for p in again.photo] == [p.file_unique_id for p in photo.photo]
    assert again.has_media_spoiler
    file = await bot.get_file(photo.photo[-1].file_id)
    data = await file.download_as_bytearray()
    assert len(data) == file.file_size == photo.photo[-1].file_size
    document = await bot.send_document(mods.id, b"%PDF-1.4 fiche", filename="fiche.pdf")
    copy = await bot.copy_message(mods.id, lea.id, photo.message_id, caption="copie")
    assert emu.messages(mods)[-1]["caption"] == "copie"
    assert await bot.delete_message(mods.id, copy.message_id)
    file_path = file.file_path.removeprefix(emu.base_file_url)  # the port differs
    out += [photo, again, {**file.to_dict(), "file_path": file_path}, document, copy]

    # commands per scope (chat_id given as a string) and language, settings
    scope = BotCommandScopeChat(str(mods.id))
    assert await bot.set_my_commands([("aide", "Comment ça marche")], scope, "fr")
    assert emu.commands({"type": "chat", "chat_id": mods.id}, "fr") == [
        {"command": "aide", "description": "Comment ça marche"}
    ]
    assert [c.command for c in await bot.get_my_commands(scope, "fr")] == ["aide"]
    assert await bot.delete_my_commands(scope, "fr")
    assert emu.commands({"type": "chat", "chat_id": mods.id}, "fr") == []
    assert await bot.set_my_description("Un selfie, une fiche", language_code="fr")
    assert emu.bot_setting("description", "fr") == "Un selfie, une fiche"
    out.append(await bot.get_my_description("fr"))

    # chats and members
    chat = await bot.get_chat(mods.id)
    assert (chat.id, chat.type, chat.title) == (mods.id, "supergroup", "Modération")
    member = await bot.get_chat_member(str(mods.id), lea.id)
    assert (member.status, member.user.id) == ("member", lea.id)
    me = await bot.get_chat_member(mods.id, emu.bot.id)
    assert me.user.is_bot
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.get_chat(-100999)
    out += [chat, member, me]
    return [_plain(item) for item in out]


@both_modes
async def test_bot_methods_through_ptb(emu: Emulator) -> None:
    app = build_application(emu)
    await app.initialize()
    try:
        await _session(emu, app.bot)
    finally:
        await app.shutdown()
    assert all(call.status in (200, 400) for call in emu.calls)


async def test_same_results_and_calls_with_and_without_the_spec() -> None:
    transcripts = []
    for mode in SPEC_MODES:
        async with running_emulator_in(mode, flood_limits=False) as emu:
            app = build_application(emu)
            await app.initialize()
            try:
                results = await _session(emu, app.bot)
            finally:
                await app.shutdown()
            calls = [(c.method, _plain(c.params), c.status) for c in emu.calls]
            transcripts.append((results, calls))
    (with_spec, with_spec_calls), (without, without_calls) = transcripts
    assert without == with_spec
    assert without_calls == with_spec_calls
