"""The one way an apprentice's data leaves the system: rows, files (and later posts)."""

from __future__ import annotations

import asyncio

from bot.services import Services
from models import SubmissionStatus
from models.entries import erase_apprentice as erase_rows


async def erase_apprentice(services: Services, user_id: int) -> int:
    """Erase every entry and the personal data of ``user_id``; returns the entries erased."""
    async with services.sessions() as session, session.begin():
        entries = await erase_rows(session, user_id)
    for entry in entries:
        await asyncio.to_thread(services.photos.delete, entry.photo_path)
    return sum(entry.status != SubmissionStatus.DRAFT for entry in entries)
