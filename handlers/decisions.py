"""Decisions on the moderation cards: approve, refuse (a listed reason or a typed one),
undo, and the first taps of two-tap actions.

Every button press is checked in the same order: the data is well-formed, the presser is a
moderator of the configured group, the entry exists and the action fits its state. Each
decision is one conditional UPDATE committed with its audit row BEFORE any Telegram call,
so a failing edit or notification never loses it; the loser of a race is told who won.

A typed reason is awaited in ``bot_data`` (card message id → entry), which the persistence
writes within half a second: a moderator who taps "other reason" and replies after a
restart still refuses the entry.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Message, Update

from bot.campaign.captions import visible_text
from bot.campaign.schedule import slot_for_position
from bot.i18n import plain, sentence, t
from bot.telegram.callbacks import Card, CardPress
from bot.telegram.cards import ban_keyboard, reason_text, reasons_keyboard, refresh_card, when
from bot.telegram.notify import tell_apprentice
from bot.telegram.removals import remove_lost_card
from handlers import bans, publishing
from handlers.common import (
    CardAction,
    Context,
    decide,
    is_moderator,
    moderation_language,
    moderator_name,
    services,
)
from models import AuditAction, Submission, SubmissionStatus
from models.base import utcnow
from models.lifecycle import approve, refuse, undo_decision
from models.moderation import set_moderation_card
from models.publishing import queue_position
from models.submissions import get_entry

log = logging.getLogger(__name__)

REASON_MAX = 200
TYPED_REASONS = "typed_reasons"

S = SubmissionStatus


def typed_reasons(context: Context) -> dict[str, Any]:
    """Cards whose "other reason" was tapped: card message id (as text: the persistence
    stores JSON) → entry id."""
    return context.bot_data.setdefault(TYPED_REASONS, {})


async def on_card_button(update: Update, context: Context) -> None:
    """Route a card button to its action after checking data, presser and entry."""
    query = update.callback_query
    assert query and query.data and update.effective_user
    lang = moderation_language(context)
    press = CardPress.parse(query.data)
    action = card_actions().get(press.action) if press else None
    if not is_moderator(update, context) or press is None or action is None:
        log.warning(
            "refused card button %r from user %s in chat %s",
            query.data,
            update.effective_user.id,
            update.effective_chat.id if update.effective_chat else None,
        )
        await query.answer(plain(lang, "mod.not_allowed"), show_alert=True)
        return
    submission_id, argument = press.entry_id, press.argument
    async with services(context).sessions() as session:
        entry = await get_entry(session, submission_id)
    pressed = query.message
    known = (
        entry is not None
        and pressed is not None
        and (entry.moderation_message_id == pressed.message_id)
    )
    if not known and not await _card_the_bot_lost(update, context, entry, submission_id):
        return
    await action(update, context, submission_id, argument)


async def _card_the_bot_lost(
    update: Update, context: Context, entry: Submission | None, submission_id: int
) -> bool:
    """A card the bot has no record of: its send was carried out but the answer was lost
    (or a forged press). The entry's only card is adopted (True: the press goes on); a
    copy, or the card of an erased entry, is removed."""
    query = update.callback_query
    assert query and isinstance(query.message, Message)
    svc, lang = services(context), moderation_language(context)
    title = visible_text(t(lang, "card.title", number=submission_id))
    its_card = title in (query.message.caption or "")
    chat_id, message_id = query.message.chat.id, query.message.message_id
    if entry is not None and not its_card:  # another entry's card: a forged press
        await query.answer(plain(lang, "mod.not_allowed"), show_alert=True)
        return False
    if entry is not None and entry.moderation_message_id is None:
        async with svc.sessions() as session, session.begin():
            await set_moderation_card(session, submission_id, chat_id, message_id, None)
        log.info("entry %s: card %s adopted", submission_id, message_id)
        return True
    if its_card:  # a copy, or the card of an erased entry: it goes
        await remove_lost_card(context.bot, svc, str(chat_id), message_id, submission_id)
    if entry is None:
        await query.answer(plain(lang, "mod.gone"), show_alert=True)
    else:
        await query.answer(plain(lang, "mod.duplicate_card", number=submission_id), show_alert=True)
    return False


async def _already_decided(update: Update, context: Context, submission_id: int) -> None:
    """The race was lost (or the button is stale): say who decided first."""
    assert update.callback_query
    lang = moderation_language(context)
    async with services(context).sessions() as session:
        entry = await get_entry(session, submission_id)
    if entry is None:
        await update.callback_query.answer(plain(lang, "mod.gone"), show_alert=True)
        return
    text = plain(
        lang,
        "mod.already_decided",
        moderator=entry.decided_by_name or "?",
        status=plain(lang, f"state.{entry.status}"),
    )
    await update.callback_query.answer(text, show_alert=True)
    await refresh_card(context.bot, services(context), submission_id)


async def approve_entry(
    update: Update, context: Context, submission_id: int, _: str | None
) -> None:
    assert update.callback_query and update.effective_user
    svc, lang, moderator = services(context), moderation_language(context), update.effective_user
    name = moderator_name(moderator)
    won = await decide(
        update,
        context,
        AuditAction.APPROVE,
        lambda session: approve(session, submission_id, moderator.id, name),
        submission_id=submission_id,
    )
    if not won:
        await _already_decided(update, context, submission_id)
        return
    log.info("entry %s approved by %s", submission_id, moderator.id)
    await update.callback_query.answer(plain(lang, "mod.approved"))
    await refresh_card(context.bot, svc, submission_id)
    await tell_approval(context, submission_id)


async def tell_approval(context: Context, submission_id: int) -> None:
    svc = services(context)
    async with svc.sessions() as session:
        entry = await get_entry(session, submission_id)
        position = await queue_position(session, submission_id)
    if entry is None or position is None:
        return
    slot = slot_for_position(svc.settings.schedule, utcnow(), position)

    def moment(language: str) -> str:
        return when(slot, language, svc) if slot else plain(language, "card.no_slot")

    await tell_apprentice(context.bot, svc, entry.apprentice_id, "decision.approved", when=moment)


async def _still_pending(update: Update, context: Context, submission_id: int) -> bool:
    """For the first tap of a two-tap action: if the entry was decided meanwhile, say so."""
    async with services(context).sessions() as session:
        entry = await get_entry(session, submission_id)
    if entry is None or entry.status != S.PENDING:
        await _already_decided(update, context, submission_id)
        return False
    return True


async def show_buttons(
    update: Update, context: Context, submission_id: int, markup: InlineKeyboardMarkup | None
) -> None:
    """The first tap of a two-tap action: the card's buttons become the second tap's."""
    assert update.callback_query
    if not await _still_pending(update, context, submission_id):
        return
    await update.callback_query.answer()
    await update.callback_query.edit_message_reply_markup(markup)


async def ask_reason(update: Update, context: Context, submission_id: int, _: str | None) -> None:
    await show_buttons(
        update, context, submission_id, reasons_keyboard(submission_id, services(context))
    )


async def ask_ban(update: Update, context: Context, submission_id: int, _: str | None) -> None:
    await show_buttons(
        update, context, submission_id, ban_keyboard(submission_id, services(context))
    )


async def refuse_with_listed_reason(
    update: Update, context: Context, submission_id: int, code: str | None
) -> None:
    assert update.callback_query
    if code not in services(context).settings.moderation.reason_codes():
        await update.callback_query.answer(
            plain(moderation_language(context), "mod.not_allowed"), show_alert=True
        )
        return
    await refuse_entry(update, context, submission_id, code)


async def refuse_entry(update: Update, context: Context, submission_id: int, reason: str) -> None:
    """Refuse with ``reason`` (a listed code or typed text) and tell the apprentice why."""
    assert update.effective_user
    svc, lang, moderator = services(context), moderation_language(context), update.effective_user
    name = moderator_name(moderator)
    won = await decide(
        update,
        context,
        AuditAction.REFUSE,
        lambda session: refuse(session, submission_id, moderator.id, name, reason),
        submission_id=submission_id,
        reason=reason,
    )
    if not won:
        if update.callback_query:
            await _already_decided(update, context, submission_id)
        return
    log.info("entry %s refused by %s", submission_id, moderator.id)
    if update.callback_query:
        await update.callback_query.answer(plain(lang, "mod.refused"))
    await refresh_card(context.bot, svc, submission_id)
    async with svc.sessions() as session:
        entry = await get_entry(session, submission_id)
    if entry is not None:
        await tell_apprentice(
            context.bot,
            svc,
            entry.apprentice_id,
            "decision.refused",
            reason=lambda language: sentence(reason_text(reason, language, svc)),
        )


async def ask_typed_reason(
    update: Update, context: Context, submission_id: int, _: str | None
) -> None:
    query = update.callback_query
    assert query and query.message
    if not await _still_pending(update, context, submission_id):
        return
    typed_reasons(context)[str(query.message.message_id)] = submission_id
    await query.answer(plain(moderation_language(context), "mod.type_reason"), show_alert=True)


async def on_reason_reply(update: Update, context: Context) -> None:
    """A moderator's reply to a card awaiting an "other" reason: that text is the reason."""
    message = update.effective_message
    assert message and message.reply_to_message and message.text
    card = str(message.reply_to_message.message_id)
    submission_id = typed_reasons(context).get(card)
    if submission_id is None or not is_moderator(update, context):
        return
    reason = " ".join(message.text.split())
    if len(reason) > REASON_MAX:
        await message.reply_text(
            t(moderation_language(context), "mod.reason_too_long", max=REASON_MAX)
        )
        return
    del typed_reasons(context)[card]
    await refuse_entry(update, context, submission_id, reason)


async def restore_buttons(
    update: Update, context: Context, submission_id: int, _: str | None
) -> None:
    assert update.callback_query and update.callback_query.message
    typed_reasons(context).pop(str(update.callback_query.message.message_id), None)
    await update.callback_query.answer()
    await refresh_card(context.bot, services(context), submission_id)


async def undo(update: Update, context: Context, submission_id: int, _: str | None) -> None:
    """Back to pending: a refusal within ``undo_minutes``; an entry waiting for the channel
    (approved, or held after Telegram refused it) at any time."""
    assert update.callback_query and update.effective_user
    svc, lang = services(context), moderation_language(context)
    window = timedelta(minutes=svc.settings.moderation.undo_minutes)

    told: list[tuple[int, str]] = []  # who to tell what, read before the UPDATE expires the row

    async def undo_in_time(session: AsyncSession) -> bool:
        entry = await get_entry(session, submission_id)
        if entry is None:
            return False
        late = entry.decided_at is None or utcnow() - entry.decided_at > window
        if entry.status == S.REFUSED and late:
            return False
        apprentice, key = entry.apprentice_id, _undone_key(entry)
        if not await undo_decision(session, submission_id):
            return False
        told.append((apprentice, key))
        return True

    won = await decide(update, context, AuditAction.UNDO, undo_in_time, submission_id=submission_id)
    if not won:
        await update.callback_query.answer(plain(lang, "mod.cannot_undo"), show_alert=True)
        await refresh_card(context.bot, svc, submission_id)
        return
    await update.callback_query.answer(plain(lang, "mod.undone"))
    await refresh_card(context.bot, svc, submission_id)
    # What the apprentice was last told no longer holds: say what it means for them now.
    [(apprentice, key)] = told
    await tell_apprentice(context.bot, svc, apprentice, key)


def _undone_key(entry: Submission) -> str:
    """What to tell the apprentice when the decision on ``entry`` is taken back."""
    if entry.status == S.REFUSED and entry.refusal_reason == "unpublished":
        return "decision.undone_removal"
    if entry.status == S.REFUSED:
        return "decision.undone_refusal"
    return "decision.undone_approval"


def card_actions() -> dict[str, CardAction]:
    """Every card button: the decisions here and the publishing ones of handlers.publishing."""
    return {
        Card.APPROVE: approve_entry,
        Card.REFUSE: ask_reason,
        Card.REASON: refuse_with_listed_reason,
        Card.OTHER_REASON: ask_typed_reason,
        Card.BACK: restore_buttons,
        Card.BAN: ask_ban,
        Card.CONFIRM_BAN: bans.ban_from_card,
        Card.UNDO: undo,
        Card.PUBLISH_NOW: publishing.publish_from_card,
        Card.UNPUBLISH: publishing.ask_unpublish,
        Card.CONFIRM_UNPUBLISH: publishing.unpublish_from_card,
        Card.REQUEUE: publishing.queue_again,
    }
