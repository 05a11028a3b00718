"""The apprentice's private chat with the bot."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes, filters

from bot.commands import HELP, START
from bot.i18n import t
from handlers.common import services, user_language


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message
    campaign = services(context).settings.campaign.name
    await update.effective_message.reply_text(
        t(user_language(update), "start.welcome", campaign=campaign)
    )


async def show_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message
    await update.effective_message.reply_text(t(user_language(update), "help.apprentice"))


def register(application: Application) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler(START.all_names, start, filters=private))
    application.add_handler(CommandHandler(HELP.all_names, show_help, filters=private))
