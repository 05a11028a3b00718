"""Queries of the apprentices table: profiles, languages, bans, and deleting one's data
(with the bot's messages that showed them their photo).

Nothing here commits: the caller owns the unit of work.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import dialect_insert, utcnow
from models.tables import Apprentice, ShownPhoto, Submission


async def upsert_apprentice(
    session: AsyncSession,
    user_id: int,
    *,
    first_name: str,
    username: str | None,
    language: str,
) -> Apprentice:
    """The apprentice's row, created or refreshed with their current Telegram profile."""
    apprentice = await session.get(Apprentice, user_id)
    if apprentice is None:
        apprentice = Apprentice(id=user_id, first_name=first_name, username=username)
        session.add(apprentice)
    apprentice.first_name = first_name
    apprentice.username = username
    apprentice.language = language
    return apprentice


async def get_apprentice(session: AsyncSession, apprentice_id: int) -> Apprentice | None:
    return await session.get(Apprentice, apprentice_id)


async def set_language(session: AsyncSession, user_id: int, language: str) -> None:
    apprentice = await session.get(Apprentice, user_id)
    if apprentice is not None:
        apprentice.language = language


async def banned_ids(session: AsyncSession) -> set[int]:
    rows = await session.scalars(select(Apprentice.id).where(Apprentice.banned_at.is_not(None)))
    return set(rows)


async def ban_apprentice(session: AsyncSession, apprentice_id: int, moderator_id: int) -> bool:
    """Ban a Telegram user, known or not yet (their row is created, without a name, so the
    ban holds when they first write); False if already banned.

    One statement: an insert that, on a known id, updates only an unbanned row. The
    moderator's name goes into the audit row the caller writes; their entries are refused
    separately with :func:`models.lifecycle.refuse_banned`.
    """
    now = utcnow()
    statement = dialect_insert(session)(Apprentice).values(
        id=apprentice_id, first_name="", banned_at=now, banned_by=moderator_id
    )
    statement = statement.on_conflict_do_update(
        index_elements=[Apprentice.id],
        set_={"banned_at": now, "banned_by": moderator_id, "updated_at": now},
        where=Apprentice.banned_at.is_(None),
    )
    result = cast("CursorResult[Any]", await session.execute(statement))
    return result.rowcount == 1


async def unban_apprentice(session: AsyncSession, apprentice_id: int) -> bool:
    """Lift a ban; False if the apprentice is unknown or not banned."""
    statement = (
        update(Apprentice)
        .where(Apprentice.id == apprentice_id, Apprentice.banned_at.is_not(None))
        .values(banned_at=None, banned_by=None, updated_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    result = cast("CursorResult[Any]", await session.execute(statement))
    return result.rowcount == 1


async def delete_apprentice_data(session: AsyncSession, apprentice_id: int) -> list[Submission]:
    """Delete the apprentice's entries and personal data; return the entries as they were.

    The rows only: the returned (detached) rows tell the caller (the erasure,
    :func:`bot.telegram.erasure.erase_apprentice`) which files, channel posts and moderation
    cards to
    remove. A banned apprentice keeps an anonymous row so the ban still holds.
    """
    entries = list(
        await session.scalars(select(Submission).where(Submission.apprentice_id == apprentice_id))
    )
    for entry in entries:
        session.expunge(entry)
    await session.execute(delete(Submission).where(Submission.apprentice_id == apprentice_id))
    apprentice = await session.get(Apprentice, apprentice_id)
    if apprentice is not None and apprentice.banned_at is None:
        await session.delete(apprentice)
    elif apprentice is not None:
        apprentice.first_name = ""
        apprentice.username = None
        apprentice.updated_at = utcnow()
    return entries


async def note_shown_photo(session: AsyncSession, apprentice_id: int, message_id: int) -> None:
    """The bot just showed the apprentice a photo in their chat: to delete at /supprimer."""
    session.add(ShownPhoto(apprentice_id=apprentice_id, message_id=message_id, sent_at=utcnow()))


async def take_shown_photos(session: AsyncSession, apprentice_id: int) -> list[ShownPhoto]:
    """The apprentice's shown photos, oldest first, deleted from the table (the erasure)."""
    taken = await session.scalars(
        delete(ShownPhoto).where(ShownPhoto.apprentice_id == apprentice_id).returning(ShownPhoto)
    )
    return sorted(taken, key=lambda shown: shown.id)
