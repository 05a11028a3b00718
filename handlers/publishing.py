"""Publishing controls for moderators: card buttons, /publish_now, /pause, /resume, the job."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot.cards import refresh_card
from bot.commands import PAUSE, PUBLISH_NOW, RESUME
from bot.i18n import t
from bot.notify import tell_apprentice
from bot.publisher import Outcome, Publisher
from bot.schedule import cron_trigger
from bot.services import SelfieApplication
from handlers.common import (
    CardAction,
    Context,
    decide,
    moderation_language,
    moderator_name,
    services,
)
from models import AuditAction
from models.entries import get_entry
from models.submissions import mark_published, release_claim, unpublish

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
        t(lang, f"publishing.outcome.{outcome}", number=submission_id)
    )


async def unpublish_from_card(
    update: Update, context: Context, submission_id: int, _: str | None
) -> None:
    assert update.callback_query and update.effective_user
    svc, lang, moderator = services(context), moderation_language(context), update.effective_user
    async with svc.sessions() as session:
        entry = await get_entry(session, submission_id)
    name = moderator_name(moderator)
    won = await decide(
        update,
        context,
        AuditAction.UNPUBLISH,
        lambda session: unpublish(session, submission_id, moderator.id, name),
        submission_id=submission_id,
    )
    if not won or entry is None:
        await update.callback_query.answer(t(lang, "publishing.not_published"), show_alert=True)
        return
    if entry.channel_message_id:
        await Publisher(svc).delete_post(context.bot, entry.channel_message_id)
        await update.callback_query.answer(t(lang, "publishing.unpublished"))
    else:  # confirmed after a crash: the post's id is unknown
        await update.callback_query.answer(
            t(lang, "publishing.remove_by_hand", number=submission_id), show_alert=True
        )
    await refresh_card(context.bot, svc, submission_id)
    await tell_apprentice(context.bot, svc, entry.apprentice_id, "published.removed")


async def confirm_posted(
    update: Update, context: Context, submission_id: int, _: str | None
) -> None:
    """needs_check → published: a moderator saw the post in the channel."""
    won = await decide(
        update,
        context,
        AuditAction.NEEDS_CHECK,
        lambda session: mark_published(session, submission_id, None),
        submission_id=submission_id,
        reason="posted",
    )
    await _checked(update, context, submission_id, won)
    if won:  # the apprentice is told, without the link: the post's id died with the crash
        svc = services(context)
        async with svc.sessions() as session:
            entry = await get_entry(session, submission_id)
        if entry is not None:
            await tell_apprentice(context.bot, svc, entry.apprentice_id, "published.no_link")


async def post_again(update: Update, context: Context, submission_id: int, _: str | None) -> None:
    """needs_check → approved, then posted now: a moderator found no post in the channel."""
    won = await decide(
        update,
        context,
        AuditAction.NEEDS_CHECK,
        lambda session: release_claim(session, submission_id),
        submission_id=submission_id,
        reason="post again",
    )
    await _checked(update, context, submission_id, won)
    if won:
        await Publisher(services(context)).publish(context.bot, submission_id)


async def _checked(update: Update, context: Context, submission_id: int, won: bool) -> None:
    assert update.callback_query
    lang = moderation_language(context)
    if not won:
        await update.callback_query.answer(t(lang, "publishing.already_checked"), show_alert=True)
        return
    await update.callback_query.answer(t(lang, "publishing.checked"))
    await refresh_card(context.bot, services(context), submission_id)


CARD_ACTIONS: dict[str, CardAction] = {
    "now": publish_from_card,
    "unpub": unpublish_from_card,
    "posted": confirm_posted,
    "repost": post_again,
}


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


def register(application: Application) -> None:  # type: ignore[type-arg]
    assert isinstance(application, SelfieApplication)
    settings = application.services.settings
    moderators = filters.Chat(settings.moderation.chat_id) & filters.User(
        settings.moderation.moderators
    )
    application.add_handler(CommandHandler(PUBLISH_NOW.all_names, publish_next_now, moderators))
    application.add_handler(CommandHandler(PAUSE.all_names, pause, moderators))
    application.add_handler(CommandHandler(RESUME.all_names, resume, moderators))
    assert application.job_queue is not None
    application.job_queue.run_custom(
        run_slot, job_kwargs={"trigger": cron_trigger(settings.schedule)}, name="publish"
    )
