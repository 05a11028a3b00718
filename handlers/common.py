"""Small helpers shared by the handler modules."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackContext

from bot.i18n import language_from_telegram
from bot.services import SelfieApplication, Services


def services(context: CallbackContext) -> Services:  # type: ignore[type-arg]
    application = context.application
    assert isinstance(application, SelfieApplication)
    return application.services


def user_language(update: Update) -> str:
    user = update.effective_user
    return language_from_telegram(user.language_code if user else None)
