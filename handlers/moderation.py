"""The moderators' group: decisions on cards, refusal reasons, bans, /queue and /stats.

Every button press is checked in the same order: the data is well-formed, the presser is a
moderator of the configured group, the entry exists and the action fits its state. Each
decision is one conditional UPDATE committed with its audit row BEFORE any Telegram call,
so a failing edit or notification never loses it; the loser of a race is told who won.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.campaign.captions import visible_text
from bot.campaign.interest import local_day
from bot.campaign.schedule import next_slots, slot_for_position
from bot.i18n import plain, plain_n, t, tn
from bot.reports.charts import stats_chart
from bot.services import SelfieApplication, Services
from bot.site.pages import channel_post_url
from bot.telegram.cards import (
    ban_keyboard,
    reason_text,
    reasons_keyboard,
    refresh_card,
    when,
)
from bot.telegram.catchup import catch_up_with_telegram
from bot.telegram.commands import BAN, MODERATION_COMMANDS, MODERATION_HELP, QUEUE, STATS, UNBAN
from bot.telegram.notify import tell_apprentice
from bot.telegram.removals import Check, Result, confirm_by_hand, remove_lost_card
from handlers import publishing
from handlers.common import (
    CardAction,
    Context,
    decide,
    keyboard,
    moderation_language,
    moderator_name,
    services,
)
from models import AuditAction, Submission, SubmissionStatus
from models.apprentices import ban_apprentice, unban_apprentice
from models.base import utcnow
from models.lifecycle import approve, refuse, refuse_banned, undo_decision
from models.moderation import set_moderation_card
from models.publishing import queue_position
from models.stats import CampaignStats, campaign_stats, queue_summary
from models.submissions import get_entry, published_of
from models.weekly import weeks

log = logging.getLogger(__name__)

CALLBACK = re.compile(r"^mod:([a-z]{2,7}):(\d{1,12})(?::([a-z0-9_]{1,24}))?$")
REASON_MAX = 200
STATS_TOP = 10
CHART_WEEKS = 8
"""Trades and centres /stats names; with trades of at most 60 characters and centres of
120, the message stays well under Telegram's 4096."""

S = SubmissionStatus


def is_moderator(update: Update, context: Context) -> bool:
    """A configured moderator, in the configured group (a forwarded card proves nothing)."""
    settings = services(context).settings.moderation
    user, chat = update.effective_user, update.effective_chat
    return bool(user and chat and user.id in settings.moderators and chat.id == settings.chat_id)


async def on_card_button(update: Update, context: Context) -> None:
    """Route a card button to its action after checking data, presser and entry."""
    query = update.callback_query
    assert query and query.data and update.effective_user
    lang = moderation_language(context)
    match = CALLBACK.match(query.data)
    action = card_actions().get(match.group(1)) if match else None
    if not is_moderator(update, context) or match is None or action is None:
        log.warning(
            "refused card button %r from user %s in chat %s",
            query.data,
            update.effective_user.id,
            update.effective_chat.id if update.effective_chat else None,
        )
        await query.answer(plain(lang, "mod.not_allowed"), show_alert=True)
        return
    submission_id, argument = int(match.group(2)), match.group(3)
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


async def ask_reason(update: Update, context: Context, submission_id: int, _: str | None) -> None:
    assert update.callback_query
    if not await _still_pending(update, context, submission_id):
        return
    await update.callback_query.answer()
    await update.callback_query.edit_message_reply_markup(
        reasons_keyboard(submission_id, services(context))
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
            reason=lambda language: reason_text(reason, language, svc),
        )


async def ask_typed_reason(
    update: Update, context: Context, submission_id: int, _: str | None
) -> None:
    query = update.callback_query
    assert query and query.message
    if not await _still_pending(update, context, submission_id):
        return
    services(context).awaiting_reason[query.message.message_id] = submission_id
    await query.answer(plain(moderation_language(context), "mod.type_reason"), show_alert=True)


async def on_reason_reply(update: Update, context: Context) -> None:
    """A moderator's reply to a card awaiting an "other" reason: that text is the reason."""
    message = update.effective_message
    assert message and message.reply_to_message and message.text
    svc = services(context)
    submission_id = svc.awaiting_reason.get(message.reply_to_message.message_id)
    if submission_id is None or not is_moderator(update, context):
        return
    reason = " ".join(message.text.split())
    if len(reason) > REASON_MAX:
        await message.reply_text(
            t(moderation_language(context), "mod.reason_too_long", max=REASON_MAX)
        )
        return
    del svc.awaiting_reason[message.reply_to_message.message_id]
    await refuse_entry(update, context, submission_id, reason)


async def restore_buttons(
    update: Update, context: Context, submission_id: int, _: str | None
) -> None:
    assert update.callback_query and update.callback_query.message
    services(context).awaiting_reason.pop(update.callback_query.message.message_id, None)
    await update.callback_query.answer()
    await refresh_card(context.bot, services(context), submission_id)


async def ask_ban(update: Update, context: Context, submission_id: int, _: str | None) -> None:
    assert update.callback_query
    if not await _still_pending(update, context, submission_id):
        return
    await update.callback_query.answer()
    await update.callback_query.edit_message_reply_markup(
        ban_keyboard(submission_id, services(context))
    )


async def ban_from_card(
    update: Update, context: Context, submission_id: int, _: str | None
) -> None:
    assert update.callback_query
    async with services(context).sessions() as session:
        entry = await get_entry(session, submission_id)
    assert entry is not None
    refused = await ban(update, context, entry.apprentice_id)
    await update.callback_query.answer(
        plain_n(moderation_language(context), "mod.banned", len(refused)), show_alert=True
    )
    await offer_to_unpublish(update, context, entry.apprentice_id)


async def ban(update: Update, context: Context, apprentice_id: int) -> list[int]:
    """Ban (known or not yet seen) and refuse their entries waiting for a moderator or for
    the channel; their cards are re-drawn. Returns the entries refused."""
    assert update.effective_user
    svc, moderator = services(context), update.effective_user
    name = moderator_name(moderator)
    refused: list[int] = []

    async def ban_and_refuse(session: AsyncSession) -> bool:
        await ban_apprentice(session, apprentice_id, moderator.id)
        refused.extend(await refuse_banned(session, apprentice_id, moderator.id, name))
        return True

    await decide(update, context, AuditAction.BAN, ban_and_refuse, apprentice_id=apprentice_id)
    svc.banned.add(apprentice_id)
    log.info(
        "apprentice %s banned by %s (%s entries refused)", apprentice_id, moderator.id, len(refused)
    )
    await update_site_of(svc, apprentice_id)
    for refused_id in refused:
        await refresh_card(context.bot, svc, refused_id)
    return refused


async def update_site_of(svc: Services, apprentice_id: int) -> None:
    """A ban takes the person's posts off the public site at once (the channel keeps them
    until a moderator says so); lifting it puts them back."""
    async with svc.sessions() as session:
        published = await published_of(session, apprentice_id)
    await svc.update_site(published)


async def offer_to_unpublish(update: Update, context: Context, apprentice_id: int) -> None:
    """After a ban: their posts already on the channel stay unless a moderator says so."""
    assert update.effective_chat
    lang = moderation_language(context)
    async with services(context).sessions() as session:
        published = await published_of(session, apprentice_id)
    if not published:
        return
    button = (plain_n(lang, "mod.unpublish_all", len(published)), f"ban:unpub:{apprentice_id}")
    await update.effective_chat.send_message(
        tn(lang, "mod.banned_published", len(published)), reply_markup=keyboard([[button]])
    )


async def unpublish_banned(update: Update, context: Context) -> None:
    """The moderators' answer to :func:`offer_to_unpublish`: every post of theirs goes."""
    query = update.callback_query
    assert query and query.data
    lang = moderation_language(context)
    if not is_moderator(update, context):
        await query.answer(plain(lang, "mod.not_allowed"), show_alert=True)
        return
    apprentice_id = int(query.data.rsplit(":", 1)[1])
    async with services(context).sessions() as session:
        published = await published_of(session, apprentice_id)
    results = [await publishing.take_off_channel(update, context, i) for i in published]
    removed = sum(result == Result.GONE for result in results)
    told = [plain_n(lang, "mod.unpublished_all", removed)]
    if left := len(results) - removed:
        told.append(plain_n(lang, "mod.unpublished_left", left))
    await query.answer(" ".join(told), show_alert=True)
    await query.edit_message_reply_markup(None)


async def removal_done(update: Update, context: Context) -> None:
    """A moderator removed by hand a message the bot could not: checked, then forgotten."""
    query = update.callback_query
    assert query and query.data and update.effective_user
    lang = moderation_language(context)
    if not is_moderator(update, context):
        await query.answer(plain(lang, "mod.not_allowed"), show_alert=True)
        return
    moderator = (update.effective_user.id, moderator_name(update.effective_user))
    removal_id = int(query.data.rsplit(":", 1)[1])
    check = await confirm_by_hand(context.bot, services(context), removal_id, moderator)
    await query.answer(plain(lang, f"removal.check.{check}"), show_alert=check != Check.GONE)


async def undo(update: Update, context: Context, submission_id: int, _: str | None) -> None:
    """Back to pending: a refusal within ``undo_minutes``; an entry waiting for the channel
    (approved, or held after Telegram refused it) at any time."""
    assert update.callback_query and update.effective_user
    svc, lang = services(context), moderation_language(context)
    window = timedelta(minutes=svc.settings.moderation.undo_minutes)

    async def undo_in_time(session: AsyncSession) -> bool:
        entry = await get_entry(session, submission_id)
        if entry is None:
            return False
        late = entry.decided_at is None or utcnow() - entry.decided_at > window
        if entry.status == S.REFUSED and late:
            return False
        return await undo_decision(session, submission_id)

    won = await decide(update, context, AuditAction.UNDO, undo_in_time, submission_id=submission_id)
    if not won:
        await update.callback_query.answer(plain(lang, "mod.cannot_undo"), show_alert=True)
        await refresh_card(context.bot, svc, submission_id)
        return
    await update.callback_query.answer(plain(lang, "mod.undone"))
    await refresh_card(context.bot, svc, submission_id)


def card_actions() -> dict[str, CardAction]:
    """Every card button: the decisions here and the publishing ones of handlers.publishing."""
    return {
        "ok": approve_entry,
        "no": ask_reason,
        "why": refuse_with_listed_reason,
        "other": ask_typed_reason,
        "back": restore_buttons,
        "ban": ask_ban,
        "banok": ban_from_card,
        "undo": undo,
        **publishing.CARD_ACTIONS,
    }


# --- group commands -----------------------------------------------------------------------


async def show_help(update: Update, context: Context) -> None:
    """What the cards are for, then every command of the group's menu, as in that menu."""
    assert update.effective_message
    lang = moderation_language(context)
    commands = [
        t(
            lang,
            "help.moderation_command",
            command=command.names[lang],
            description=plain(lang, command.description_key),
        )
        for command in MODERATION_COMMANDS
    ]
    await update.effective_message.reply_text("\n".join([t(lang, "help.moderation"), *commands]))


async def show_queue(update: Update, context: Context) -> None:
    assert update.effective_message
    svc, lang = services(context), moderation_language(context)
    async with svc.sessions() as session:
        summary = await queue_summary(session)
    now = utcnow()
    slots = next_slots(svc.settings.schedule, now, 3)
    lines = [
        tn(lang, "queue.pending", summary.pending),
        tn(lang, "queue.approved", summary.approved),
    ]
    if summary.approved:  # none waiting (a new campaign, all posted): no last slot to tell
        last = slot_for_position(svc.settings.schedule, now, summary.approved - 1)
        if last:
            lines.append(tn(lang, "queue.last", summary.approved, when=when(last, lang, svc)))
    if summary.needs_check:
        lines.append(tn(lang, "queue.needs_check", summary.needs_check))
    if summary.held:
        lines.append(tn(lang, "queue.held", summary.held))
    if summary.removals:
        lines.append(tn(lang, "queue.removals", summary.removals))
    lines.append(t(lang, "queue.next", slots=", ".join(when(s, lang, svc) for s in slots)))
    await update.effective_message.reply_text("\n".join(lines))


def trade_lines(lang: str, stats: CampaignStats) -> list[str]:
    """One line per top trade (entries, published), then how many trades are left out."""
    if not stats.by_trade:
        return []
    lines = [t(lang, "stats.trades")]
    lines += [
        t(
            lang,
            "stats.trade",
            trade=f.trade,
            entries=f.entries,
            published=f.published,
            interest=f.interest,
        )
        for f in stats.by_trade
    ]
    if stats.trades > len(stats.by_trade):
        lines.append(tn(lang, "stats.trades_more", stats.trades - len(stats.by_trade)))
    return lines


async def show_stats(update: Update, context: Context) -> None:
    assert update.effective_message
    lang = moderation_language(context)
    stats = await campaign_stats(services(context).sessions, top=STATS_TOP)
    statuses = ", ".join(
        f"{plain(lang, f'state.{status}')} {count}" for status, count in stats.by_status.items()
    )
    lines = [t(lang, "stats.title"), t(lang, "stats.by_status", statuses=statuses)]
    lines += trade_lines(lang, stats)
    if stats.by_centre:
        centres = ", ".join(f"{centre} {count}" for centre, count in stats.by_centre)
        lines.append(t(lang, "stats.by_centre", centres=centres))
    if stats.approval_rate is not None:
        lines.append(t(lang, "stats.approval_rate", rate=round(stats.approval_rate * 100)))
    if stats.median_decision is not None:
        minutes = round(stats.median_decision.total_seconds() / 60)
        lines.append(t(lang, "stats.median", minutes=minutes))
    lines += top_post_lines(lang, stats, services(context))
    await update.effective_message.reply_text("\n".join(lines))
    await send_chart(update, context, stats)


def top_post_lines(lang: str, stats: CampaignStats, svc: Services) -> list[str]:
    """The posts whose « ce métier m'intéresse » link was followed most."""
    if not stats.top_posts:
        return []
    lines = [t(lang, "stats.top_posts")]
    channel = svc.settings.campaign.channel
    for post in stats.top_posts:
        visits = plain_n(lang, "stats.visits", post.visits)
        values = {"number": post.submission_id, "trade": post.trade, "visits": visits}
        link = channel_post_url(channel, post.channel_message_id or 0)
        if link and post.channel_message_id:
            lines.append(t(lang, "stats.top_post_link", link=link, **values))
        else:
            lines.append(t(lang, "stats.top_post", **values))
    return lines


async def send_chart(update: Update, context: Context, stats: CampaignStats) -> None:
    """The figures as a chart, drawn in a thread (a few hundred milliseconds of matplotlib)
    after the text has gone; a failure costs the chart, never the answer."""
    assert update.effective_message
    svc, lang = services(context), moderation_language(context)
    today = local_day(svc.settings, utcnow())
    async with svc.sessions() as session:
        last_weeks = await weeks(session, CHART_WEEKS, today)
    try:
        png = await asyncio.to_thread(stats_chart, stats.by_trade, last_weeks, lang)
        await update.effective_message.reply_photo(png)
    except (TelegramError, ValueError, OSError, RuntimeError) as error:
        log.warning("the /stats chart was not sent: %s", error)


async def moderators_only(update: Update, context: Context) -> None:
    """A moderator command from someone else in the group: a polite no, nothing done."""
    assert update.effective_message
    await update.effective_message.reply_text(
        t(moderation_language(context), "mod.only_moderators")
    )


def _user_id_argument(context: Context) -> int | None:
    if context.args and len(context.args) == 1 and re.fullmatch(r"\d{1,15}", context.args[0]):
        return int(context.args[0])
    return None


async def ban_command(update: Update, context: Context) -> None:
    assert update.effective_message
    lang = moderation_language(context)
    user_id = _user_id_argument(context)
    if user_id is None:
        await update.effective_message.reply_text(t(lang, "mod.ban_usage"))
        return
    refused = await ban(update, context, user_id)
    await update.effective_message.reply_text(
        tn(lang, "mod.banned_user", len(refused), user=user_id)
    )
    await offer_to_unpublish(update, context, user_id)


async def unban_command(update: Update, context: Context) -> None:
    assert update.effective_message and update.effective_user
    svc, lang = services(context), moderation_language(context)
    user_id = _user_id_argument(context)
    if user_id is None:
        await update.effective_message.reply_text(t(lang, "mod.unban_usage"))
        return
    lifted = await decide(
        update,
        context,
        AuditAction.UNBAN,
        lambda session: unban_apprentice(session, user_id),
        apprentice_id=user_id,
    )
    svc.banned.discard(user_id)
    await update_site_of(svc, user_id)
    if lifted:
        await update.effective_message.reply_text(t(lang, "mod.unbanned", user=user_id))
    else:
        await update.effective_message.reply_text(t(lang, "mod.not_banned", user=user_id))


async def catch_up(context: Context) -> None:
    """Job: what Telegram refused earlier, tried again (cards, their edits, removals owed,
    the pause alert), so that no entry waits without the moderators knowing."""
    await catch_up_with_telegram(context.bot, services(context))


def register(application: Application) -> None:
    assert isinstance(application, SelfieApplication)
    svc: Services = application.services
    group = filters.Chat(svc.settings.moderation.chat_id)
    moderators = group & filters.User(svc.settings.moderation.moderators)
    application.add_handler(CallbackQueryHandler(on_card_button, pattern=r"^mod:"))
    application.add_handler(CommandHandler(MODERATION_HELP.all_names, show_help, filters=group))
    application.add_handler(CommandHandler(QUEUE.all_names, show_queue, filters=moderators))
    application.add_handler(CommandHandler(STATS.all_names, show_stats, filters=moderators))
    application.add_handler(CommandHandler(BAN.all_names, ban_command, filters=moderators))
    application.add_handler(CommandHandler(UNBAN.all_names, unban_command, filters=moderators))
    restricted = [n for c in MODERATION_COMMANDS if c is not MODERATION_HELP for n in c.all_names]
    outsiders = group & ~filters.User(svc.settings.moderation.moderators)
    application.add_handler(CommandHandler(restricted, moderators_only, filters=outsiders))
    application.add_handler(
        MessageHandler(group & filters.REPLY & filters.TEXT & ~filters.COMMAND, on_reason_reply)
    )
    application.add_handler(CallbackQueryHandler(removal_done, pattern=r"^rm:done:\d{1,12}$"))
    application.add_handler(CallbackQueryHandler(unpublish_banned, pattern=r"^ban:unpub:\d{1,16}$"))
    assert application.job_queue is not None
    interval = svc.settings.moderation.retry_seconds
    application.job_queue.run_repeating(catch_up, interval=interval, first=interval)
