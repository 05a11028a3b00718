"""The moderators' commands in their group: /aide, /queue, /stats (with its chart), the
polite no to other members, the "removed by hand" button, and the catch-up job."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.error import TelegramError

from bot.campaign.schedule import local_day
from bot.i18n import plain, t
from bot.reports.charts import stats_chart
from bot.reports.texts import queue_lines, stats_text
from bot.telegram.callbacks import REMOVAL_DONE
from bot.telegram.catchup import catch_up_with_telegram
from bot.telegram.commands import MODERATION_COMMANDS
from bot.telegram.removals import Check, confirm_by_hand
from handlers.common import Context, is_moderator, moderation_language, moderator_name, services
from models.base import utcnow
from models.stats import CampaignStats, campaign_stats, queue_summary
from models.weekly import weeks

log = logging.getLogger(__name__)

STATS_TOP = 10
CHART_WEEKS = 8
"""Trades and centres /stats names; with trades of at most 60 characters and centres of
120, the message stays well under Telegram's 4096."""


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
    lines = queue_lines(lang, summary, svc.settings, utcnow(), in_full=True)
    await update.effective_message.reply_text("\n".join(lines))


async def show_stats(update: Update, context: Context) -> None:
    assert update.effective_message
    svc, lang = services(context), moderation_language(context)
    stats = await campaign_stats(svc.sessions, top=STATS_TOP)
    await update.effective_message.reply_text(stats_text(lang, stats, svc.settings))
    await send_chart(update, context, stats)


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


async def removal_done(update: Update, context: Context) -> None:
    """A moderator removed by hand a message the bot could not: checked, then forgotten."""
    query = update.callback_query
    assert query and query.data and update.effective_user
    lang = moderation_language(context)
    if not is_moderator(update, context):
        await query.answer(plain(lang, "mod.not_allowed"), show_alert=True)
        return
    moderator = (update.effective_user.id, moderator_name(update.effective_user))
    removal_id = REMOVAL_DONE.number(query.data)
    check = await confirm_by_hand(context.bot, services(context), removal_id, moderator)
    await query.answer(plain(lang, f"removal.check.{check}"), show_alert=check != Check.GONE)


async def catch_up(context: Context) -> None:
    """Job: what Telegram refused earlier, tried again (cards, their edits, removals owed,
    the pause alert), so that no entry waits without the moderators knowing."""
    await catch_up_with_telegram(context.bot, services(context))
