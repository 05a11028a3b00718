"""The weekly digest, sent to the moderation group on ``schedule.digest_cron``."""

from __future__ import annotations

import logging

from telegram.error import TelegramError

from bot.reports.digest import weekly_digest
from handlers.common import Context, services
from models.base import utcnow

log = logging.getLogger(__name__)


async def send_weekly_digest(context: Context) -> None:
    svc = services(context)
    text = await weekly_digest(svc, utcnow())
    try:
        await context.bot.send_message(svc.settings.moderation.chat_id, text)
    except TelegramError as error:
        log.warning("weekly digest not sent to the moderation group: %s", error.message)
        return
    log.info("weekly digest sent")
