"""Publishing controls for moderators: card buttons, /publish_now, /pause, /resume, the job."""

from __future__ import annotations

import logging

from telegram import Update, User
from telegram.ext import Application, CommandHandler, filters

from bot.cards import refresh_card
from bot.commands import PAUSE, PUBLISH_NOW, RESUME
from bot.i18n import t
from bot.notify import tell_apprentice
from bot.publisher import Outcome, Publisher
from bot.schedule import cron_trigger
from bot.services import SelfieApplication
from handlers.common import CardAction, Context, services
from models import AuditAction
from models.entries import get_entry
from models.submissions import mark_published, record_audit, release_claim, unpublish

log = logging.getLogger(__name__)


def _name(user: User) -> str:
    return f"{user.first_name} (@{user.username})" if user.username else user.first_name


def _language(context: Context) -> str:
    return services(context).settings.moderation.language


async def _audit(update: Update, context: Context, action: str, submission_id: int | None) -> None:
    assert update.effective_user
    async with services(context).sessions() as session, session.begin():
        await record_audit(
            session,
            action,
            moderator_id=update.effective_user.id,
            moderator_name=_name(update.effective_user),
            submission_id=submission_id,
        )


async def _publish(update: Update, context: Context, submission_id: int) -> Outcome:
    await _audit(update, context, AuditAction.PUBLISH_NOW, submission_id)
    return await Publisher(services(context)).publish(context.bot, submission_id)


async def publish_from_card(
    update: Update, context: Context, submission_id: int, _: str | None
) -> None:
    assert update.callback_query
    outcome = await _publish(update, context, submission_id)
    lang = _language(context)
    await update.callback_query.answer(
        t(lang, f"publishing.outcome.{outcome}", number=submission_id)
    )


async def unpublish_from_card(
    update: Update, context: Context, submission_id: int, _: str | None
) -> None:
    assert update.callback_query and update.effective_user
    svc, lang, moderator = services(context), _language(context), update.effective_user
    async with svc.sessions() as session, session.begin():
        entry = await get_entry(session, submission_id)
        won = await unpublish(session, submission_id, moderator.id, _name(moderator))
        if won:
            await record_audit(
                session,
                AuditAction.UNPUBLISH,
                moderator_id=moderator.id,
                moderator_name=_name(moderator),
                submission_id=submission_id,
            )
    if not won or entry is None:
        await update.callback_query.answer(t(lang, "publishing.not_published"), show_alert=True)
        return
    if entry.channel_message_id:
        await Publisher(svc).delete_post(context.bot, entry.channel_message_id)
    await update.callback_query.answer(t(lang, "publishing.unpublished"))
    await refresh_card(context.bot, svc, submission_id)
    await tell_apprentice(context.bot, svc, entry.apprentice_id, "published.removed")


async def confirm_posted(
    update: Update, context: Context, submission_id: int, _: str | None
) -> None:
    """needs_check → published: a moderator saw the post in the channel."""
    assert update.callback_query
    async with services(context).sessions() as session, session.begin():
        won = await mark_published(session, submission_id, None)
    await _settle_check(update, context, submission_id, won, AuditAction.NEEDS_CHECK)


async def post_again(update: Update, context: Context, submission_id: int, _: str | None) -> None:
    """needs_check → approved, then posted now: a moderator found no post in the channel."""
    assert update.callback_query
    async with services(context).sessions() as session, session.begin():
        won = await release_claim(session, submission_id)
    await _settle_check(update, context, submission_id, won, AuditAction.NEEDS_CHECK)
    if won:
        await Publisher(services(context)).publish(context.bot, submission_id)


async def _settle_check(
    update: Update, context: Context, submission_id: int, won: bool, action: str
) -> None:
    assert update.callback_query
    lang = _language(context)
    if not won:
        await update.callback_query.answer(t(lang, "publishing.already_checked"), show_alert=True)
        return
    await _audit(update, context, action, submission_id)
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
    lang = _language(context)
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
    reason = t(_language(context), "publishing.paused_by", moderator=_name(update.effective_user))
    await Publisher(services(context)).set_paused(reason)
    await _audit(update, context, AuditAction.PAUSE, None)
    await update.effective_message.reply_text(t(_language(context), "publishing.paused"))


async def resume(update: Update, context: Context) -> None:
    assert update.effective_message
    await Publisher(services(context)).set_paused(None)
    await _audit(update, context, AuditAction.RESUME, None)
    await update.effective_message.reply_text(t(_language(context), "publishing.resumed"))


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
