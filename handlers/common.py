"""Small helpers shared by the handler modules."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Message, Update, User
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.i18n import LANGUAGES, language_from_telegram
from bot.metrics import observe_decision
from bot.services import Services
from bot.telegram.delivery import maybe_delivered, never_left
from models.audit import record_audit
from models.moderation import decision_seconds


class Context(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """PTB's per-update context, plus the question a pressed button answered.

    :func:`reply` replaces that question instead of sending a new message: the apprentice
    walks through the buttons in one message whose old buttons are gone, and each step
    costs two Bot API calls (answer the button, edit) instead of three.
    """

    question: Message | None = None


CONTEXT_TYPES = ContextTypes(context=Context)

log = logging.getLogger(__name__)


def services(context: Context) -> Services:
    """The parts the application was built with (:mod:`bot.app.application`)."""
    found = getattr(context.application, "services", None)
    assert isinstance(found, Services)
    return found


def language(update: Update, context: Context) -> str:
    """The apprentice's chosen language (/langue), else their Telegram app's language."""
    chosen = context.user_data.get("lang") if context.user_data is not None else None
    if chosen in LANGUAGES:
        return str(chosen)
    user = update.effective_user
    return language_from_telegram(user.language_code if user else None)


def answers(context: Context, *, reset: bool = False) -> dict[str, Any]:
    """The answers of the entry being built, kept in the persisted ``user_data``."""
    assert context.user_data is not None
    if reset or not isinstance(context.user_data.get("entry"), dict):
        context.user_data["entry"] = {}
    return context.user_data["entry"]


def forget_answers(context: Context) -> None:
    """The entry being built is dropped (the language choice stays)."""
    if context.user_data is not None:
        context.user_data.pop("entry", None)


async def reply(
    update: Update, context: Context, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Answer in the chat the update came from: in place of the question a pressed button
    answered (the first reply after :func:`pressed`), else as a new message."""
    question, context.question = context.question, None
    if question is not None:
        try:
            await _once_more(lambda: question.edit_text(text, reply_markup=markup))
            return
        except BadRequest as error:
            if "not modified" in error.message.lower():
                return
            # Deleted by the apprentice, say: the answer still gets through.
            log.info("question %s not replaced (%s): sent anew", question.message_id, error)
    chat = update.effective_chat
    assert chat
    await _once_more(lambda: chat.send_message(text, reply_markup=markup))


async def _once_more(call: Callable[[], Awaitable[object]]) -> None:
    """A reply Telegram did not confirm is tried once more: at worst the person sees a
    question twice, rather than a conversation one step ahead of what they were shown."""
    try:
        await call()
    except TelegramError as error:
        if not (maybe_delivered(error) or never_left(error)):
            raise
        log.info("reply not confirmed (%s): sent again", error.message)
        await call()


async def pressed(update: Update, context: Context) -> str:
    """The pressed button's data, the button answered; its buttons cannot be pressed twice:
    a text question is replaced by the next :func:`reply`, a photo (the preview) keeps its
    caption and loses its buttons."""
    query = update.callback_query
    assert query and query.data
    await query.answer()
    if isinstance(query.message, Message) and query.message.text is not None:
        context.question = query.message
        return query.data
    try:
        await query.edit_message_reply_markup(None)
    except TelegramError:
        log.debug("keyboard already gone for query %s", query.id)
    return query.data


CardAction = Callable[[Update, Context, int, str | None], Awaitable[None]]
"""A card button's action: (update, context, entry id, optional argument)."""


def moderator_name(user: User) -> str:
    """How cards and the audit name a moderator."""
    return f"{user.first_name} (@{user.username})" if user.username else user.first_name


def is_moderator(update: Update, context: Context) -> bool:
    """A configured moderator, in the configured group (a forwarded card proves nothing)."""
    settings = services(context).settings.moderation
    user, chat = update.effective_user, update.effective_chat
    return bool(user and chat and user.id in settings.moderators and chat.id == settings.chat_id)


def moderation_language(context: Context) -> str:
    return services(context).settings.moderation.language


async def decide(
    update: Update,
    context: Context,
    action: str,
    change: Callable[[AsyncSession], Awaitable[bool]] | None = None,
    *,
    submission_id: int | None = None,
    apprentice_id: int | None = None,
    reason: str | None = None,
) -> bool:
    """A moderator's action: the status change and its audit row, in one transaction.

    Committed before any Telegram call, so a failing card edit never loses a decision.
    Returns False, writing nothing, when ``change`` lost (someone decided first).
    """
    moderator = update.effective_user
    assert moderator
    async with services(context).sessions() as session, session.begin():
        if change is not None and not await change(session):
            return False
        await record_audit(
            session,
            action,
            moderator_id=moderator.id,
            moderator_name=moderator_name(moderator),
            submission_id=submission_id,
            apprentice_id=apprentice_id,
            reason=reason,
        )
        seconds = await decision_seconds(session, action, submission_id)
    observe_decision(seconds)
    return True
