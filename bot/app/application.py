"""The composition root: the Application, every handler and every job, start and stop.

Read top to bottom: :func:`build_application` makes PTB's Application from the settings,
:func:`register_handlers` adds every handler in the order PTB tries them, and
:func:`schedule_jobs` every job. Start-up runs in two steps, both here: the database first
(:meth:`SelfieApplication.initialize`: migrated and purged before PTB loads the persisted
conversations), then Telegram (:func:`post_init`: commands, checks, what the last run left
undone); :func:`post_shutdown` stops what start-up started.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.app.persistence import SQLPersistence
from bot.app.polling import UpdatesRequest
from bot.campaign.consent import record_consent_texts
from bot.campaign.schedule import cron_trigger, crontab_trigger
from bot.config import Settings
from bot.metrics import timed_update
from bot.ops.monitoring import CountingRequest, Monitor, update_type
from bot.ops.retention import log_report, purge
from bot.services import Services, make_services
from bot.telegram.callbacks import CONSENT_TEXT, ERASE, REMOVAL_DONE, UNPUBLISH_BANNED, CardPress
from bot.telegram.catchup import catch_up_with_telegram
from bot.telegram.chats import check_chats
from bot.telegram.commands import (
    BAN,
    CANCEL,
    DELETE,
    HELP,
    LANGUAGE,
    MODERATION_COMMANDS,
    MODERATION_HELP,
    MY_DATA,
    PAUSE,
    PUBLISH_NOW,
    QUEUE,
    RESUME,
    STATS,
    STATUS,
    UNBAN,
    register_commands,
)
from bot.telegram.concurrency import MAX_CONCURRENT_UPDATES, PerUserUpdateProcessor
from bot.telegram.publisher import Publisher
from handlers import (
    account,
    apprentice,
    bans,
    decisions,
    digest,
    erasure,
    errors,
    guard,
    interest,
    mydata,
    publishing,
    retention,
    staff,
)
from handlers.common import CONTEXT_TYPES
from models.db import dialect_name, upgrade

log = logging.getLogger(__name__)

CONNECTIONS = 2 * MAX_CONCURRENT_UPDATES
"""HTTP connections to the Bot API: room for every concurrent update and the jobs."""


class SelfieApplication(Application):
    """PTB's Application with the bot's services (so handlers need no global state) and the
    monitor it starts and stops."""

    def __init__(self, *, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services
        self.monitor: Monitor | None = None

    async def initialize(self) -> None:
        """The database first: migrated, then purged as retention says, so that PTB then
        loads no conversation older than ``retention.draft_hours``."""
        await upgrade(self.services.engine)
        tightened = await asyncio.to_thread(self.services.photos.make_private)
        if tightened:
            log.info("storage: %d files left readable by others made private", tightened)
        # Before polling: no photo is being stored, so every orphan (a crash between a
        # commit and a file operation) goes at once, however young.
        log_report(await purge(self.services, sweep_grace=0))
        await self.services.banned.load(self.services.sessions)
        await super().initialize()

    async def process_update(self, update: object) -> None:
        """PTB's handling of an update, counted and timed for ``/metrics``."""
        with timed_update(update_type(update)):
            await super().process_update(update)


def flood_safe_limiter() -> AIORateLimiter:
    """Telegram's overall limit as a steady pace rather than bursts.

    AIORateLimiter's buckets let a full bucket go out at once and then refill, which can
    put up to twice the limit into one second; a bucket of one message refilled at the
    limit's pace never exceeds it (at most 29 messages in any second). The per-group
    limit keeps its bucket: moderators' cards come in small bursts, and the rare 429 it
    lets through is retried after Telegram's ``retry_after``.
    """
    return AIORateLimiter(overall_max_rate=1, overall_time_period=1 / 28, max_retries=3)


def build_application(settings: Settings) -> SelfieApplication:
    services = make_services(settings)
    api_url = settings.telegram.api_url
    builder = ApplicationBuilder()
    if settings.telegram.mode == "webhook":
        # bot.app.webhook's server puts the updates on the queue: no PTB Updater, so that
        # /healthz does not wait for one to run.
        builder = builder.updater(None)
    application = (
        builder.application_class(SelfieApplication, kwargs={"services": services})
        .token(settings.token)
        .base_url(f"{api_url}/bot")
        .base_file_url(f"{api_url}/file/bot")
        .rate_limiter(flood_safe_limiter())
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .context_types(CONTEXT_TYPES)
        .persistence(SQLPersistence(services.sessions))
        .concurrent_updates(PerUserUpdateProcessor())
        .request(CountingRequest(connection_pool_size=CONNECTIONS))
        .get_updates_request(UpdatesRequest(connection_pool_size=1))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    assert isinstance(application, SelfieApplication)
    register_handlers(application, settings)
    schedule_jobs(application, settings)
    return application


def register_handlers(application: Application, settings: Settings) -> None:
    """Every handler. Within group 0 the first that matches wins: the conversation comes
    first, then the commands that work outside it, then the catch-alls for stray messages
    and stale buttons."""
    add = application.add_handler
    private = filters.ChatType.PRIVATE
    group = filters.Chat(settings.moderation.chat_id)
    moderators = group & filters.User(settings.moderation.moderators)
    outsiders = group & ~filters.User(settings.moderation.moderators)

    # Before anything else: a flood is dropped, a banned person told once.
    add(TypeHandler(Update, guard.drop_flood), group=-2)
    add(TypeHandler(Update, guard.stop_banned), group=-1)

    # Followers: a post's « ce métier m'intéresse » link.
    add(CommandHandler("start", interest.on_interest_link, private & interest.INTEREST_LINK))

    # Apprentices: the conversation, then their commands.
    hours = settings.retention.draft_hours
    add(apprentice.build_conversation(timedelta(hours=hours), application.user_data))
    add(CommandHandler(DELETE.all_names, erasure.ask_erasure, private))
    add(CallbackQueryHandler(erasure.on_erasure_choice, pattern=ERASE.pattern))
    add(CommandHandler(STATUS.all_names, account.show_status, private))
    add(CommandHandler(LANGUAGE.all_names, account.switch_language, private))
    add(CommandHandler(HELP.all_names, account.show_help, private))
    add(CommandHandler(CANCEL.all_names, account.nothing_to_cancel, private))
    add(CommandHandler(MY_DATA.all_names, mydata.show_my_data, private))
    add(CallbackQueryHandler(mydata.show_consent_text, pattern=CONSENT_TEXT.pattern))

    # Moderators: the cards, then their commands in the group.
    add(CallbackQueryHandler(decisions.on_card_button, pattern=CardPress.PATTERN))
    add(CommandHandler(MODERATION_HELP.all_names, staff.show_help, group))
    add(CommandHandler(QUEUE.all_names, staff.show_queue, moderators))
    add(CommandHandler(STATS.all_names, staff.show_stats, moderators))
    add(CommandHandler(BAN.all_names, bans.ban_command, moderators))
    add(CommandHandler(UNBAN.all_names, bans.unban_command, moderators))
    restricted = [n for c in MODERATION_COMMANDS if c is not MODERATION_HELP for n in c.all_names]
    add(CommandHandler(restricted, staff.moderators_only, outsiders))
    typed_reason = group & filters.REPLY & filters.TEXT & ~filters.COMMAND
    add(MessageHandler(typed_reason, decisions.on_reason_reply))
    add(CallbackQueryHandler(staff.removal_done, pattern=REMOVAL_DONE.pattern))
    add(CallbackQueryHandler(bans.unpublish_banned, pattern=UNPUBLISH_BANNED.pattern))
    add(CommandHandler(PUBLISH_NOW.all_names, publishing.publish_next_now, moderators))
    add(CommandHandler(PAUSE.all_names, publishing.pause, moderators))
    add(CommandHandler(RESUME.all_names, publishing.resume, moderators))
    add(MessageHandler(moderators & filters.FORWARDED, publishing.on_forwarded_post))

    # Last: whatever nothing above took.
    add(MessageHandler(private, account.on_stray_message))
    add(CallbackQueryHandler(guard.answer_stale_button))
    application.add_error_handler(errors.on_error)


def schedule_jobs(application: Application, settings: Settings) -> None:
    """Every job: the channel's slots, the catch-up with Telegram, the daily purge, the
    weekly digest."""
    jobs = application.job_queue
    assert jobs is not None
    schedule = settings.schedule
    jobs.run_custom(
        publishing.run_slot, job_kwargs={"trigger": cron_trigger(schedule)}, name="publish"
    )
    retry = settings.moderation.retry_seconds
    jobs.run_repeating(staff.catch_up, interval=retry, first=retry, name="catch-up")
    purge_at = settings.retention.daily_at.replace(tzinfo=ZoneInfo(schedule.timezone))
    jobs.run_daily(retention.purge_daily, time=purge_at, name="retention")
    if schedule.digest_cron:
        trigger = crontab_trigger(schedule.digest_cron, schedule.timezone)
        jobs.run_custom(digest.send_weekly_digest, job_kwargs={"trigger": trigger}, name="digest")


async def post_init(application: Application) -> None:
    """Telegram's side of start-up, before the first update: the consent texts on record,
    the publisher's interrupted post resolved, what the last run left undone (cards,
    removals, alerts), the command menus, the chats' rights, the monitor."""
    assert isinstance(application, SelfieApplication)
    services, settings = application.services, application.services.settings
    await record_consent_texts(services.sessions, settings)
    await Publisher(services).recover(application.bot)
    await catch_up_with_telegram(application.bot, services)
    await register_commands(application.bot, settings)
    for problem in await check_chats(application.bot, settings):
        log.warning("%s", problem)
    if settings.campaign.ends is None:
        log.warning("campaign.ends is not set: data is never erased for the campaign's end")
    if settings.monitoring.enabled:
        application.monitor = Monitor(application, services, settings.monitoring)
        await application.monitor.start()
    log.info(
        "selfie-bot ready: @%s, channel %s, moderation chat %s, database %s",
        application.bot.username,
        settings.campaign.channel,
        settings.moderation.chat_id,
        dialect_name(settings.database.url),
    )


async def post_shutdown(application: Application) -> None:
    assert isinstance(application, SelfieApplication)
    if application.monitor is not None:
        await application.monitor.stop()
    await application.services.image_workers.close()
    await application.services.engine.dispose()
