"""Last line of defence: log the failure with its context, tell the user kindly, never crash."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.i18n import t
from bot.telegram.catchup import tell_about_room
from handlers.common import Context, language, services

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    full = services(context).full.note(context.error) if context.error else None
    if full is not None:
        await tell_about_room(context.bot, services(context))
    if not isinstance(update, Update):
        log.error("error outside an update", exc_info=context.error)
        return
    chat = update.effective_chat
    user = update.effective_user
    log.error(
        "error handling update %s (chat %s, user %s)",
        update.update_id,
        chat.id if chat else None,
        user.id if user else None,
        exc_info=context.error,
    )
    if chat is None or chat.type != ChatType.PRIVATE:
        return
    lang = language(update, context)
    text = t(lang, "error.generic") if full is None else t(lang, "error.disk_full")
    try:
        await context.bot.send_message(chat.id, text)
    except TelegramError:
        log.warning("could not tell chat %s about the error", chat.id)
