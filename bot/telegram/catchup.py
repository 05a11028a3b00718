"""What Telegram refused (or the database cut short) earlier, tried again: one job, so that
a fault never leaves an entry waiting without the moderators knowing, or a post that should
be gone in view."""

from __future__ import annotations

from telegram import Bot

from bot.services import Services
from bot.telegram.cards import post_missing_cards, redraw_cards_behind
from bot.telegram.publisher import Publisher
from bot.telegram.removals import retry_removals


async def catch_up_with_telegram(bot: Bot, services: Services) -> None:
    await post_missing_cards(bot, services)
    await redraw_cards_behind(bot, services)
    await retry_removals(bot, services)
    publisher = Publisher(services)
    await publisher.alert_pause(bot)
    await publisher.settle_stranded(bot)
