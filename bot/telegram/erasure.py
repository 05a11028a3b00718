"""The one way an apprentice's data leaves the system: rows, files, channel posts, cards.

The rows go first, in one transaction that also records every Telegram message still to
remove (:mod:`bot.telegram.removals`): the publisher can no longer pick the entries, and no refused
``deleteMessage`` can be forgotten. Then the files, then the messages: the posts and cards,
and the bot's messages that showed the apprentice their photo in their own chat (those
Telegram still lets the bot delete: 48 hours). The result says what is already gone, so
the apprentice is never told more than is true.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from telegram import Bot
from telegram.error import TelegramError

from bot.services import Services
from bot.telegram.removals import Result, already_gone, carry_out
from models import ShownPhoto, SubmissionStatus
from models.apprentices import delete_apprentice_data, take_shown_photos
from models.base import utcnow
from models.removals import owe_removals_of
from models.retention import note_erased
from models.state import delete_user_state

log = logging.getLogger(__name__)

DELETE_WINDOW = timedelta(hours=48)
"""deleteMessage: "a message can only be deleted if it was sent less than 48 hours ago"."""


@dataclass(frozen=True)
class Erasure:
    entries: int
    """Confirmed entries erased (drafts not counted)."""
    complete: bool
    """Every post and card is already gone from Telegram (else the moderators were asked,
    or the bot keeps trying)."""
    photos_left: int = 0
    """The bot's messages showing the photo in the apprentice's chat that Telegram no longer
    lets it delete: the apprentice can delete them on their phone."""


async def erase_apprentice(bot: Bot, services: Services, user_id: int) -> Erasure:
    """Erase every entry and the personal data of ``user_id``, and their messages."""
    where = {
        "channel": str(services.settings.campaign.channel),
        "card_chat": str(services.settings.moderation.chat_id),
    }
    async with services.sessions() as session, session.begin():
        entries = await delete_apprentice_data(session, user_id)
        await delete_user_state(session, user_id)
        await note_erased(session, entries, services.settings.moderation.reason_codes())
        shown = await take_shown_photos(session, user_id)
        owed = [
            removal.id
            for entry in entries
            for removal in await owe_removals_of(session, entry, **where, cause="erased")
        ]
    await services.update_site([entry.id for entry in entries])
    for entry in entries:
        await asyncio.to_thread(services.photos.delete, entry.photo_path)
    results = await carry_out(bot, services, owed)
    left = [photo for photo in shown if not await delete_shown_photo(bot, photo)]
    erased = sum(entry.status != SubmissionStatus.DRAFT for entry in entries)
    log.info(
        "erased user %s: %s entries, %s messages to remove, %s of %s photo messages left",
        user_id,
        erased,
        len(owed),
        len(left),
        len(shown),
    )
    return Erasure(erased, all(result == Result.GONE for result in results), len(left))


async def delete_shown_photo(bot: Bot, photo: ShownPhoto) -> bool:
    """Delete one of the bot's messages showing the photo; False when it stays (too old,
    or refused: the apprentice is told they can delete it themselves)."""
    if utcnow() - photo.sent_at >= DELETE_WINDOW:
        return False
    try:
        await bot.delete_message(photo.apprentice_id, photo.message_id)
    except TelegramError as error:
        if already_gone(error):
            return True
        log.info(
            "photo message %s of user %s not deleted: %s",
            photo.message_id,
            photo.apprentice_id,
            error,
        )
        return False
    return True
