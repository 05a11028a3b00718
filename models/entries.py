"""Queries about one apprentice and their entries (drafts included).

Status changes stay in :mod:`models.submissions`; this module creates and reads rows and
erases an apprentice. Like the transitions, nothing here commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.entities import Apprentice, Submission, SubmissionStatus


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


async def set_language(session: AsyncSession, user_id: int, language: str) -> None:
    apprentice = await session.get(Apprentice, user_id)
    if apprentice is not None:
        apprentice.language = language


async def banned_ids(session: AsyncSession) -> set[int]:
    rows = await session.scalars(select(Apprentice.id).where(Apprentice.banned_at.is_not(None)))
    return set(rows)


async def count_pending(session: AsyncSession, apprentice_id: int) -> int:
    statement = select(func.count()).where(
        Submission.apprentice_id == apprentice_id,
        Submission.status == SubmissionStatus.PENDING,
    )
    return int(await session.scalar(statement) or 0)


async def entries_of(session: AsyncSession, apprentice_id: int) -> list[Submission]:
    """The apprentice's confirmed entries, newest first (drafts and withdrawn left out)."""
    statement = (
        select(Submission)
        .where(
            Submission.apprentice_id == apprentice_id,
            Submission.status.not_in([SubmissionStatus.DRAFT, SubmissionStatus.WITHDRAWN]),
        )
        .order_by(Submission.id.desc())
    )
    return list(await session.scalars(statement))


async def photo_paths(session: AsyncSession) -> set[str]:
    """Every photo file a row refers to (for the sweep of orphan files)."""
    statement = select(Submission.photo_path).where(Submission.photo_path.is_not(None))
    return {path for path in await session.scalars(statement) if path}


async def published_of(session: AsyncSession, apprentice_id: int) -> list[int]:
    """Ids of the apprentice's entries that are on the channel now."""
    statement = select(Submission.id).where(
        Submission.apprentice_id == apprentice_id,
        Submission.status == SubmissionStatus.PUBLISHED,
    )
    return sorted((await session.scalars(statement)).all())


async def needs_check_entries(session: AsyncSession) -> list[Submission]:
    """Entries whose post may or may not be on the channel, oldest first."""
    statement = (
        select(Submission)
        .where(Submission.status == SubmissionStatus.NEEDS_CHECK)
        .order_by(Submission.id)
    )
    return list(await session.scalars(statement))


async def create_draft(session: AsyncSession, apprentice_id: int, **fields: Any) -> Submission:
    draft = Submission(apprentice_id=apprentice_id, status=SubmissionStatus.DRAFT, **fields)
    session.add(draft)
    await session.flush()
    return draft


async def get_draft(
    session: AsyncSession, submission_id: int, apprentice_id: int
) -> Submission | None:
    """The apprentice's own draft, or None (sent meanwhile, erased, or someone else's)."""
    draft = await session.get(Submission, submission_id)
    if (
        draft is None
        or draft.apprentice_id != apprentice_id
        or draft.status != SubmissionStatus.DRAFT
    ):
        return None
    return draft


async def delete_draft(session: AsyncSession, submission_id: int) -> str | None:
    """Delete a draft row; returns its photo path for the caller to delete the file."""
    statement = (
        delete(Submission)
        .where(Submission.id == submission_id, Submission.status == SubmissionStatus.DRAFT)
        .returning(Submission.photo_path)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def erase_apprentice(session: AsyncSession, apprentice_id: int) -> list[Submission]:
    """Delete the apprentice's entries and personal data; return the entries as they were.

    The returned (detached) rows tell the caller which files, channel posts and moderation
    cards to remove. A banned apprentice keeps an anonymous row so the ban still holds.
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


async def queue_position(session: AsyncSession, submission_id: int) -> int | None:
    """How many approved entries will be posted before this one (None if not approved)."""
    entry = await session.get(Submission, submission_id)
    if entry is None or entry.status != SubmissionStatus.APPROVED or entry.approved_at is None:
        return None
    earlier = select(func.count()).where(
        Submission.status == SubmissionStatus.APPROVED,
        (Submission.approved_at < entry.approved_at)
        | ((Submission.approved_at == entry.approved_at) & (Submission.id < entry.id)),
    )
    return int(await session.scalar(earlier) or 0)


async def get_entry(session: AsyncSession, submission_id: int) -> Submission | None:
    return await session.get(Submission, submission_id)


async def get_apprentice(session: AsyncSession, apprentice_id: int) -> Apprentice | None:
    return await session.get(Apprentice, apprentice_id)


async def set_photo_file_id(session: AsyncSession, submission_id: int, file_id: str) -> None:
    """Remember the uploaded photo's Telegram file_id, so it is never uploaded again."""
    entry = await session.get(Submission, submission_id)
    if entry is not None:
        entry.photo_file_id = file_id
