"""Publishing controls for moderators: card buttons, forwarded posts, /publish_now, /pause,
/resume, and the scheduled job."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Chat, MessageOriginChannel, Update
from telegram.error import TelegramError

from bot.campaign.captions import entry_caption, visible_text
from bot.i18n import plain, t
from bot.services import Services
from bot.telegram.cards import refresh_card, unpublish_keyboard
from bot.telegram.notify import tell_apprentice
from bot.telegram.publisher import Outcome, Publisher, tell_published
from bot.telegram.removals import Result, carry_out
from handlers.common import (
    Context,
    decide,
    moderation_language,
    moderator_name,
    services,
)
from models import AuditAction, SubmissionStatus
from models.lifecycle import mark_published, requeue, unpublish
from models.publishing import needs_check_entries
from models.removals import owe_removal
from models.submissions import get_entry

log = logging.getLogger(__name__)


async def _publish(update: Update, context: Context, submission_id: int) -> Outcome:
    await decide(update, context, AuditAction.PUBLISH_NOW, submission_id=submission_id)
    return await Publisher(services(context)).publish(context.bot, submission_id)


async def publish_from_card(
    update: Update, context: Context, submission_id: int, _: str | None
) -> None:
    assert update.callback_query
    outcome = await _publish(update, context, submission_id)
    lang = moderation_language(context)
    await update.callback_query.answer(
        plain(lang, f"publishing.outcome.{outcome}", number=submission_id)
    )


async def take_off_channel(update: Update, context: Context, submission_id: int) -> Result | None:
    """A moderator unpublishes an entry: its post is removed (or hidden and asked for by
    hand) and its author told. None when the entry was not on the channel."""
    assert update.effective_user
    svc, moderator = services(context), update.effective_user
    name = moderator_name(moderator)
    owed: list[int] = []

    async def unpublish_and_owe(session: AsyncSession) -> bool:
        entry = await get_entry(session, submission_id)
        if entry is None or not await unpublish(session, submission_id, moderator.id, name):
            return False
        removal = await owe_removal(
            session,
            chat=str(svc.settings.campaign.channel),
            message_id=entry.channel_message_id,
            kind="post",
            submission_id=submission_id,
            cause="unpublished",
            by_hand=entry.channel_message_id is None,
        )
        owed.append(removal.id)
        return True

    won = await decide(
        update, context, AuditAction.UNPUBLISH, unpublish_and_owe, submission_id=submission_id
    )
    if not won:
        return None
    await svc.update_site([submission_id])
    [result] = await carry_out(context.bot, svc, owed)
    await refresh_card(context.bot, svc, submission_id)
    async with svc.sessions() as session:
        entry = await get_entry(session, submission_id)
    if entry is not None:
        await tell_apprentice(context.bot, svc, entry.apprentice_id, "published.removed")
    return result


async def ask_unpublish(
    update: Update, context: Context, submission_id: int, _: str | None
) -> None:
    """The first tap of « Retirer de la chaîne »: the card asks to confirm."""
    assert update.callback_query
    svc = services(context)
    async with svc.sessions() as session:
        entry = await get_entry(session, submission_id)
    if entry is None or entry.status != SubmissionStatus.PUBLISHED:
        lang = moderation_language(context)
        await update.callback_query.answer(plain(lang, "publishing.not_published"), show_alert=True)
        await refresh_card(context.bot, svc, submission_id)
        return
    await update.callback_query.answer()
    await update.callback_query.edit_message_reply_markup(unpublish_keyboard(submission_id, svc))


async def unpublish_from_card(
    update: Update, context: Context, submission_id: int, _: str | None
) -> None:
    assert update.callback_query
    lang = moderation_language(context)
    result = await take_off_channel(update, context, submission_id)
    if result is None:
        await update.callback_query.answer(plain(lang, "publishing.not_published"), show_alert=True)
        return
    text = plain(lang, f"publishing.unpublished.{result}")
    await update.callback_query.answer(text, show_alert=result != Result.GONE)


async def queue_again(update: Update, context: Context, submission_id: int, _: str | None) -> None:
    """needs_check | held → approved: a moderator found no post in the channel (or wants a
    post Telegram refused tried again). It takes its place in the queue."""
    assert update.callback_query
    lang = moderation_language(context)
    won = await decide(
        update,
        context,
        AuditAction.REQUEUE,
        lambda session: requeue(session, submission_id),
        submission_id=submission_id,
    )
    if not won:
        await update.callback_query.answer(
            plain(lang, "publishing.already_checked"), show_alert=True
        )
    else:
        await update.callback_query.answer(plain(lang, "publishing.requeued"))
    await refresh_card(context.bot, services(context), submission_id)


def _is_channel(chat: Chat, svc: Services) -> bool:
    channel = svc.settings.campaign.channel
    if isinstance(channel, str) and channel.startswith("@"):
        return (chat.username or "").lower() == channel[1:].lower()
    return str(chat.id) == str(channel)


async def on_forwarded_post(update: Update, context: Context) -> None:
    """A moderator forwards a channel post to the group: it settles the entry whose post was
    unconfirmed (needs_check), with its message id, so a later erasure can still delete it."""
    message = update.effective_message
    assert message and update.effective_user
    svc, lang = services(context), moderation_language(context)
    origin = message.forward_origin
    if not isinstance(origin, MessageOriginChannel) or not _is_channel(origin.chat, svc):
        return
    async with svc.sessions() as session:
        waiting = await needs_check_entries(session)
    shown = message.caption or message.text or ""
    matching = [e for e in waiting if visible_text(entry_caption(e, svc.settings)) == shown]
    if len(matching) != 1:
        await message.reply_text(t(lang, "publishing.forward_unmatched"))
        return
    [entry] = matching
    won = await decide(
        update,
        context,
        AuditAction.NEEDS_CHECK,
        lambda session: mark_published(session, entry.id, origin.message_id),
        submission_id=entry.id,
        reason=f"posted as {origin.message_id}",
    )
    if not won:
        await message.reply_text(t(lang, "publishing.already_checked"))
        return
    log.info("entry %s: post %s confirmed by a moderator", entry.id, origin.message_id)
    await svc.update_site([entry.id])
    await message.reply_text(t(lang, "publishing.forward_recorded", number=entry.id))
    try:  # the group keeps no copy of the post: its author may erase it one day
        await message.delete()
    except TelegramError as error:
        log.info("forwarded copy of post %s left in the group: %s", origin.message_id, error)
    await refresh_card(context.bot, svc, entry.id)
    await tell_published(context.bot, svc, entry.apprentice_id, origin.message_id)


async def publish_next_now(update: Update, context: Context) -> None:
    assert update.effective_message
    lang = moderation_language(context)
    publisher = Publisher(services(context))
    submission_id = await publisher.pick_next()
    if submission_id is None:
        await update.effective_message.reply_text(t(lang, "publishing.queue_empty"))
        return
    outcome = await _publish(update, context, submission_id)
    await update.effective_message.reply_text(
        t(lang, f"publishing.outcome.{outcome}", number=submission_id)
    )


async def pause(update: Update, context: Context) -> None:
    assert update.effective_message and update.effective_user
    reason = t(
        moderation_language(context),
        "publishing.paused_by",
        moderator=moderator_name(update.effective_user),
    )
    await Publisher(services(context)).set_paused(reason)
    await decide(update, context, AuditAction.PAUSE)
    await update.effective_message.reply_text(t(moderation_language(context), "publishing.paused"))


async def resume(update: Update, context: Context) -> None:
    assert update.effective_message
    await Publisher(services(context)).set_paused(None)
    await decide(update, context, AuditAction.RESUME)
    await update.effective_message.reply_text(t(moderation_language(context), "publishing.resumed"))


async def run_slot(context: Context) -> None:
    """The scheduled job: one publication slot."""
    await Publisher(services(context)).run_slot(context.bot)
