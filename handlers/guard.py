"""Checks that run before every handler, and the answer to buttons nobody handles."""

from __future__ import annotations

import re

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.i18n import plain, t
from bot.telegram.callbacks import CONSENT_TEXT, ERASE
from bot.telegram.commands import DELETE, HELP, LANGUAGE, MY_DATA, STATUS
from bot.telegram.concurrency import Admission, admission
from handlers.common import Context, language, services

BANNED_MAY_USE = frozenset(
    name for c in (DELETE, STATUS, MY_DATA, HELP, LANGUAGE) for name in c.all_names
)
"""Commands a ban never takes away: erasing one's data is a right, and so is knowing it."""


def _always_allowed(update: Update) -> bool:
    """/supprimer (and its confirmation button), /statut, /mesdonnees (and its consent
    texts), /aide, /langue."""
    if update.callback_query:
        data = update.callback_query.data or ""
        return any(re.match(button.pattern, data) for button in (ERASE, CONSENT_TEXT))
    text = update.message.text if update.message else None
    if not text or not text.startswith("/"):
        return False
    return text[1:].split(maxsplit=1)[0].split("@")[0].lower() in BANNED_MAY_USE


async def drop_flood(update: Update, context: Context) -> None:
    """An update over its sender's queue (``bot.telegram.concurrency``) goes no further. The
    first of
    a burst gets "slow down" (in a private chat; never posted in a group), and every
    dropped button press is answered, or the phone would spin until Telegram gives up."""
    decision = admission()
    if decision is Admission.QUEUED:
        return
    text = None
    if decision is Admission.SLOW_DOWN:
        text = t(language(update, context), "common.slow_down")
    chat = update.effective_chat
    if update.callback_query:
        await update.callback_query.answer(text)
    elif text and chat is not None and chat.type == ChatType.PRIVATE:
        await chat.send_message(text)
    raise ApplicationHandlerStop


async def stop_banned(update: Update, context: Context) -> None:
    """A banned apprentice gets one polite line per message and nothing is stored, except
    for the commands about their own data."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return
    if user.id not in services(context).banned or _always_allowed(update):
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
    await update.callback_query.answer(plain(language(update, context), "common.stale_button"))
