"""The one way an apprentice's data leaves the system: rows, files, channel posts, cards."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import TelegramError

from bot.i18n import t
from bot.publisher import Publisher
from bot.services import Services
from models import Submission, SubmissionStatus
from models.entries import erase_apprentice as erase_rows

log = logging.getLogger(__name__)


async def remove_post(
    bot: Bot, services: Services, publisher: Publisher, entry: Submission
) -> None:
    """Delete the channel post, or ask the moderators to when its id was lost in a crash."""
    if entry.channel_message_id:
        await publisher.delete_post(bot, entry.channel_message_id)
        return
    moderation = services.settings.moderation
    try:
        await bot.send_message(
            moderation.chat_id,
            t(moderation.language, "publishing.remove_by_hand", number=entry.id),
        )
    except TelegramError as error:
        log.warning("could not ask to remove the post of entry %s: %s", entry.id, error)


async def erase_apprentice(bot: Bot, services: Services, user_id: int) -> int:
    """Erase every entry and the personal data of ``user_id``; returns the entries erased.

    Rows go first, in one transaction, so that the publisher can no longer pick or record
    them; then the files, the channel posts and the moderation cards.
    """
    async with services.sessions() as session, session.begin():
        entries = await erase_rows(session, user_id)
    publisher = Publisher(services)
    for entry in entries:
        await asyncio.to_thread(services.photos.delete, entry.photo_path)
        if entry.status == SubmissionStatus.PUBLISHED:
            await remove_post(bot, services, publisher, entry)
        if entry.moderation_message_id and entry.moderation_chat_id:
            try:
                await bot.delete_message(entry.moderation_chat_id, entry.moderation_message_id)
            except TelegramError as error:
                log.warning("card of erased entry %s not deleted: %s", entry.id, error)
    return sum(entry.status != SubmissionStatus.DRAFT for entry in entries)
