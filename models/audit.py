"""The moderation audit trail: who did what, when and why (:class:`ModerationAudit`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.tables import ModerationAudit


async def record_audit(
    session: AsyncSession,
    action: str,
    *,
    moderator_id: int | None,
    moderator_name: str | None = None,
    submission_id: int | None = None,
    apprentice_id: int | None = None,
    reason: str | None = None,
) -> ModerationAudit:
    """Add one audit row, written by the caller's commit. ``moderator_id=None``: the bot.

    ``action`` is usually an :class:`models.tables.AuditAction` value. Async like the
    transitions, so that every call in the unit of work reads the same at the call site.
    """
    entry = ModerationAudit(
        action=str(action),
        moderator_id=moderator_id,
        moderator_name=moderator_name,
        submission_id=submission_id,
        apprentice_id=apprentice_id,
        reason=reason,
        created_at=utcnow(),
    )
    session.add(entry)
    return entry


async def last_actions(
    session: AsyncSession, submission_id: int, count: int
) -> list[ModerationAudit]:
    """An entry's newest audit rows, newest first: a card after an undo says what was undone."""
    newest = (
        select(ModerationAudit)
        .where(ModerationAudit.submission_id == submission_id)
        .order_by(ModerationAudit.created_at.desc(), ModerationAudit.id.desc())
        .limit(count)
    )
    return list((await session.execute(newest)).scalars())
