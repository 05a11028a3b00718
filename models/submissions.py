"""Queries of the submissions table: drafts, an apprentice's entries, photos.

Status changes stay in :mod:`models.lifecycle`; the moderation cards' queries are in
:mod:`models.moderation`, the publishing order in :mod:`models.publishing`. Nothing here
commits: the caller owns the unit of work.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import ROW_ID_MAX
from models.tables import Submission, SubmissionStatus


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


async def get_entry(session: AsyncSession, submission_id: int) -> Submission | None:
    """The entry, or None, also for an id no row can have (see :data:`ROW_ID_MAX`)."""
    if not 0 < submission_id <= ROW_ID_MAX:
        return None
    return await session.get(Submission, submission_id)


async def count_pending(session: AsyncSession, apprentice_id: int) -> int:
    statement = select(func.count()).where(
        Submission.apprentice_id == apprentice_id,
        Submission.status == SubmissionStatus.PENDING,
    )
    return int(await session.scalar(statement) or 0)


async def entries_of(session: AsyncSession, apprentice_id: int) -> list[Submission]:
    """The apprentice's confirmed entries, newest first (drafts left out)."""
    statement = (
        select(Submission)
        .where(
            Submission.apprentice_id == apprentice_id,
            Submission.status != SubmissionStatus.DRAFT,
        )
        .order_by(Submission.id.desc())
    )
    return list(await session.scalars(statement))


async def held_entries_of(session: AsyncSession, apprentice_id: int) -> list[Submission]:
    """Every row of the apprentice, drafts included, newest first: what /mesdonnees shows."""
    statement = (
        select(Submission)
        .where(Submission.apprentice_id == apprentice_id)
        .order_by(Submission.id.desc())
    )
    return list(await session.scalars(statement))


async def published_of(session: AsyncSession, apprentice_id: int) -> list[int]:
    """Ids of the apprentice's entries that are on the channel now."""
    statement = select(Submission.id).where(
        Submission.apprentice_id == apprentice_id,
        Submission.status == SubmissionStatus.PUBLISHED,
    )
    return sorted((await session.scalars(statement)).all())


async def photo_paths(session: AsyncSession) -> set[str]:
    """Every photo file a row refers to (for the sweep of orphan files)."""
    statement = select(Submission.photo_path).where(Submission.photo_path.is_not(None))
    return {path for path in await session.scalars(statement) if path}


async def set_photo_file_id(session: AsyncSession, submission_id: int, file_id: str) -> None:
    """Remember the uploaded photo's Telegram file_id, so it is never uploaded again."""
    entry = await session.get(Submission, submission_id)
    if entry is not None:
        entry.photo_file_id = file_id
