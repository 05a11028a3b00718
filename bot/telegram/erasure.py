"""The one way an apprentice's data leaves the system: rows, files, channel posts, cards.

The rows go first, in one transaction that also records every Telegram message still to
remove (:mod:`bot.telegram.removals`): the publisher can no longer pick the entries, and no refused
``deleteMessage`` can be forgotten. Then the files, then the messages. The result says
whether everything is already gone, so the apprentice is never told more than is true.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from telegram import Bot

from bot.services import Services
from bot.telegram.removals import Result, carry_out
from models import SubmissionStatus
from models.apprentices import delete_apprentice_data
from models.removals import owe_removals_of
from models.retention import note_erased
from models.state import delete_user_state

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Erasure:
    entries: int
    """Confirmed entries erased (drafts not counted)."""
    complete: bool
    """Every post and card is already gone from Telegram (else the moderators were asked,
    or the bot keeps trying)."""


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
        owed = [
            removal.id
            for entry in entries
            for removal in await owe_removals_of(session, entry, **where, cause="erased")
        ]
    await services.update_site([entry.id for entry in entries])
    for entry in entries:
        await asyncio.to_thread(services.photos.delete, entry.photo_path)
    results = await carry_out(bot, services, owed)
    erased = sum(entry.status != SubmissionStatus.DRAFT for entry in entries)
    log.info("erased user %s: %s entries, %s messages to remove", user_id, erased, len(owed))
    return Erasure(erased, all(result == Result.GONE for result in results))
