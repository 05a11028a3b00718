"""Assembly of the PTB Application: one place that wires settings, database and handlers.

Start-up work (command menus, checks of the channel and the moderation group) lives in
``post_init`` so it runs inside the application's event loop, before polling; migrations
run even earlier, in :meth:`SelfieApplication.initialize`.
"""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    ChatMember,
)
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults

from bot.app.persistence import SQLPersistence
from bot.campaign.consent import record_consent_texts
from bot.config import Settings
from bot.i18n import LANGUAGES, plain
from bot.ops.monitoring import CountingRequest, Monitor
from bot.services import SelfieApplication, make_services
from bot.telegram.catchup import catch_up_with_telegram
from bot.telegram.commands import MODERATION_COMMANDS, PRIVATE_COMMANDS, Command
from bot.telegram.concurrency import MAX_CONCURRENT_UPDATES, PerUserUpdateProcessor
from bot.telegram.publisher import Publisher
from handlers import register_handlers
from handlers.common import CONTEXT_TYPES
from models.db import dialect_name

log = logging.getLogger(__name__)

CONNECTIONS = 2 * MAX_CONCURRENT_UPDATES
"""HTTP connections to the Bot API: room for every concurrent update and the jobs."""


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
    application = (
        ApplicationBuilder()
        .application_class(SelfieApplication, kwargs={"services": services})
        .token(settings.token)
        .base_url(f"{api_url}/bot")
        .base_file_url(f"{api_url}/file/bot")
        .rate_limiter(flood_safe_limiter())
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .context_types(CONTEXT_TYPES)
        .persistence(SQLPersistence(services.sessions))
        .concurrent_updates(PerUserUpdateProcessor())
        .request(CountingRequest(connection_pool_size=CONNECTIONS))
        .get_updates_request(CountingRequest(connection_pool_size=1))
        .post_init(_on_startup)
        .post_shutdown(_on_shutdown)
        .build()
    )
    assert isinstance(application, SelfieApplication)
    register_handlers(application)
    return application


async def _on_startup(application: Application) -> None:
    assert isinstance(application, SelfieApplication)
    settings = application.services.settings
    application.services.bot_username = application.bot.username
    await record_consent_texts(application.services.sessions, settings)
    await Publisher(application.services).recover(application.bot)
    # What the last run left undone (cards, removals, alerts), before any new update.
    await catch_up_with_telegram(application.bot, application.services)
    await register_commands(application.bot, settings)
    for problem in await check_chats(application.bot, settings):
        log.warning("%s", problem)
    if settings.campaign.ends is None:
        log.warning("campaign.ends is not set: data is never erased for the campaign's end")
    if settings.monitoring.enabled:
        application.services.monitor = Monitor(application, settings.monitoring)
        await application.services.monitor.start()
    log.info(
        "selfie-bot ready: @%s, channel %s, moderation chat %s, database %s",
        application.bot.username,
        settings.campaign.channel,
        settings.moderation.chat_id,
        dialect_name(settings.database.url),
    )


async def _on_shutdown(application: Application) -> None:
    assert isinstance(application, SelfieApplication)
    if application.services.monitor is not None:
        await application.services.monitor.stop()
    await application.services.image_workers.close()
    await application.services.engine.dispose()


def _menu(commands: tuple[Command, ...], language: str) -> list[BotCommand]:
    return [BotCommand(c.names[language], plain(language, c.description_key)) for c in commands]


async def register_commands(bot: Bot, settings: Settings) -> None:
    """Command menus per scope and language; the menu without language is the French one."""
    scopes = [
        (BotCommandScopeAllPrivateChats(), PRIVATE_COMMANDS),
        (BotCommandScopeChat(settings.moderation.chat_id), MODERATION_COMMANDS),
    ]
    for scope, commands in scopes:
        try:
            for language in LANGUAGES:
                await bot.set_my_commands(_menu(commands, language), scope, language)
            await bot.set_my_commands(_menu(commands, "fr"), scope)
        except TelegramError as error:
            log.warning("could not set the command menu for %s: %s", scope.type, error)


# The administrator rights the bot needs, and what goes wrong without each.
CHANNEL_RIGHTS = {
    "can_post_messages": ("Post messages", "nothing can be published"),
    "can_edit_messages": (
        "Edit messages of others",
        "a post that cannot be deleted may not get its photo replaced on erasure",
    ),
    "can_delete_messages": (
        "Delete messages of others",
        "posts older than 48 hours cannot be deleted when an apprentice erases their entry",
    ),
}
GROUP_RIGHTS = {
    "can_delete_messages": (
        "Delete messages",
        "cards older than 48 hours cannot be deleted when an apprentice erases their entry",
    ),
}


def _missing_rights(member: ChatMember, rights: dict[str, tuple[str, str]], chat: str) -> list[str]:
    if member.status == ChatMemberStatus.OWNER:
        return []
    return [
        f"the bot lacks the '{label}' right in {chat}: {consequence}; grant it "
        "(README, Setting up Telegram)"
        for right, (label, consequence) in rights.items()
        if not getattr(member, right, False)
    ]


async def check_chats(bot: Bot, settings: Settings) -> list[str]:
    """Problems with the channel and the moderation group, each one a clear sentence: one
    per missing administrator right, with what it breaks."""
    problems: list[str] = []
    channel = settings.campaign.channel
    try:
        await bot.get_chat(channel)
        member = await bot.get_chat_member(channel, bot.id)
        if member.status not in {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}:
            problems.append(
                f"the bot is not an administrator of the channel {channel}: add it as an "
                "administrator allowed to post, edit and delete messages"
            )
        else:
            problems += _missing_rights(member, CHANNEL_RIGHTS, f"the channel {channel}")
    except TelegramError as error:
        problems.append(
            f"the channel {channel} cannot be reached ({error}): check campaign.channel "
            "and add the bot to the channel as an administrator"
        )
    group = settings.moderation.chat_id
    try:
        await bot.get_chat(group)
        member = await bot.get_chat_member(group, bot.id)
        if member.status in {ChatMemberStatus.LEFT, ChatMemberStatus.BANNED}:
            problems.append(
                f"the bot is not a member of the moderation group {group}: add it to the "
                "group as an administrator allowed to delete messages"
            )
        elif member.status != ChatMemberStatus.ADMINISTRATOR:
            problems.append(
                f"the bot is a plain member of the moderation group {group}: cards older "
                "than 48 hours cannot be deleted when an apprentice erases their entry, "
                "and forwarded posts are not seen; make it an administrator allowed to "
                "delete messages"
            )
        else:
            problems += _missing_rights(member, GROUP_RIGHTS, f"the moderation group {group}")
    except TelegramError as error:
        problems.append(
            f"the moderation group {group} cannot be reached ({error}): check "
            "moderation.chat_id and add the bot to the group"
        )
    return problems
