"""/supprimer: the apprentice takes everything back, after one confirmation."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.commands import DELETE
from bot.erasure import erase_apprentice
from bot.i18n import t
from handlers.common import Context, keyboard, language, pressed, reply, services

log = logging.getLogger(__name__)


async def ask_erasure(update: Update, context: Context) -> None:
    lang = language(update, context)
    await reply(
        update,
        context,
        t(lang, "erase.confirm"),
        keyboard([[(t(lang, "erase.yes"), "erase:yes")], [(t(lang, "erase.no"), "erase:no")]]),
    )


async def on_erasure_choice(update: Update, context: Context) -> None:
    assert update.effective_user
    choice = await pressed(update, context)
    lang = language(update, context)
    if choice == "erase:no":
        await reply(update, context, t(lang, "erase.kept"))
        return
    user_id = update.effective_user.id
    count = await erase_apprentice(context.bot, services(context), user_id)
    context.application.drop_user_data(user_id)
    log.info("erased user %s: %s entries", user_id, count)
    await reply(update, context, t(lang, "erase.done", count=count))


def register(application: Application) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler(DELETE.all_names, ask_erasure, filters=private))
    application.add_handler(CallbackQueryHandler(on_erasure_choice, pattern=r"^erase:(yes|no)$"))
