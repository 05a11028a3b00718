"""Checks that run before every handler, and the answer to buttons nobody handles."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, ApplicationHandlerStop, CallbackQueryHandler, TypeHandler

from bot.i18n import t
from handlers.common import Context, language, services


async def stop_banned(update: Update, context: Context) -> None:
    """A banned apprentice gets one polite line per message and nothing is stored."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return
    if user.id not in services(context).banned:
        return
    text = t(language(update, context), "banned.notice")
    if update.callback_query:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await chat.send_message(text)
    raise ApplicationHandlerStop


async def answer_stale_button(update: Update, context: Context) -> None:
    """A button from an old message, pressed twice, or not for this step."""
    assert update.callback_query
    await update.callback_query.answer(t(language(update, context), "common.stale_button"))


def register_first(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(TypeHandler(Update, stop_banned), group=-1)


def register_last(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CallbackQueryHandler(answer_stale_button))
