"""The moderators' group: only the configured chat is listened to."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes, filters

from bot.commands import MODERATION_HELP
from bot.i18n import t
from bot.services import SelfieApplication
from handlers.common import language


async def show_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message
    await update.effective_message.reply_text(t(language(update, context), "help.moderation"))


def register(application: Application) -> None:  # type: ignore[type-arg]
    assert isinstance(application, SelfieApplication)
    group = filters.Chat(application.services.settings.moderation.chat_id)
    application.add_handler(CommandHandler(MODERATION_HELP.all_names, show_help, filters=group))
