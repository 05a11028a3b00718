"""What Telegram refused (or the database cut short) earlier, tried again: one job, so that
a fault never leaves an entry waiting without the moderators knowing, or a post that should
be gone in view."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import TelegramError

from bot.i18n import t
from bot.services import Services
from bot.telegram.cards import post_missing_cards, redraw_cards_behind
from bot.telegram.publisher import Publisher
from bot.telegram.removals import retry_removals

log = logging.getLogger(__name__)


async def tell_about_room(bot: Bot, services: Services) -> None:
    """The moderators told, once, of a folder a write found full, and when it has room
    again; the public site, behind since it filled, is brought up to date then."""
    full, moderation = services.full, services.settings.moderation
    for name in sorted(full.untold):
        log.error("no room left in the %s folder: the moderators are told", name)
        if await _tell(bot, services, t(moderation.language, f"disk.full.{name}")):
            full.told(name)
    for name in await asyncio.to_thread(full.with_room_again):
        log.info("room again in the %s folder", name)
        await _tell(bot, services, t(moderation.language, f"disk.room_again.{name}"))
        if name == "site":
            await services.rebuild_site()


async def _tell(bot: Bot, services: Services, text: str) -> bool:
    try:
        await bot.send_message(services.settings.moderation.chat_id, text)
    except TelegramError as error:
        log.warning("moderators not told about the disk yet: %s", error.message)
        return False
    return True


async def catch_up_with_telegram(bot: Bot, services: Services) -> None:
    await tell_about_room(bot, services)  # first: it needs no database, which may be full
    await post_missing_cards(bot, services)
    await redraw_cards_behind(bot, services)
    await retry_removals(bot, services)
    publisher = Publisher(services)
    await publisher.alert_pause(bot)
    await publisher.settle_stranded(bot)
