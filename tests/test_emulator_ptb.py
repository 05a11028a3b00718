"""The real python-telegram-bot Application, unmodified, against the emulator over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
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

from bot.sandbox import Emulator
from bot.sandbox.testing import build_application, make_jpeg, running_emulator


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


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with running_emulator(flood_limits=False) as emu:
        yield emu


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


async def test_photo_round_trip_through_ptb(emu: Emulator, app: Application) -> None:
    lea = emu.create_user("Léa")
    sent = await emu.send_photo(lea, make_jpeg(1600, 1200))
    reply = await emu.wait_for(lea, lambda m: "photo" in m)
    largest = sent["photo"][-1]
    assert (largest["width"], largest["height"]) == (1280, 960)
    assert reply["caption"] == f"{largest['file_size']} octets"


async def test_wait_for_timeout_lists_what_arrived(emu: Emulator, app: Application) -> None:
    lea = emu.create_user("Léa")
    await emu.send_text(lea, "salut")
    with pytest.raises(TimeoutError, match="echo: salut"):
        await emu.wait_for(lea, "jamais", timeout=0.5)


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
