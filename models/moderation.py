"""Queries of the moderation cards: the possible duplicates they show, where each card is,
which ones to (re)post or re-draw.

Status changes stay in :mod:`models.lifecycle`. Nothing here commits: the caller owns
the unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.dhash import dhash_distance
from models.tables import AuditAction, Submission, SubmissionStatus

S = SubmissionStatus


@dataclass(frozen=True)
class Duplicate:
    """Another entry that looks like the same photo."""

    id: int
    status: SubmissionStatus
    distance: int | None
    """Hamming distance of the dHashes; None when the uploaded file itself is identical."""


async def possible_duplicates(
    session: AsyncSession, submission_id: int, max_distance: int, limit: int = 5
) -> list[Duplicate]:
    """Entries that may be the same photo as ``submission_id``, for the moderation card.

    Same Telegram file (``source_file_unique_id``) or dHash within ``max_distance`` bits.
    Drafts (never shown to a moderator) are ignored. Identical files first, then nearest, then
    newest. The distance needs every hash: a scan, but of one integer column.
    """
    me = aliased(Submission, name="me")
    other = aliased(Submission, name="other")
    same_file = and_(
        me.source_file_unique_id.is_not(None),
        other.source_file_unique_id == me.source_file_unique_id,
    )
    distance = dhash_distance(other.dhash, me.dhash)
    statement = (
        select(other.id, other.status, case((same_file, None), else_=distance))
        .join(me, me.id == submission_id)
        .where(
            other.id != submission_id,
            other.status != S.DRAFT,
            or_(same_file, distance <= max_distance),
        )
        .order_by(case((same_file, 0), else_=1), distance, other.id.desc())
        .limit(limit)
    )
    rows = await session.execute(statement)
    return [Duplicate(id=id_, status=status, distance=dist) for id_, status, dist in rows]


async def cards_behind(session: AsyncSession, limit: int = 50) -> list[int]:
    """Entries whose card shows an older state than the row (an edit Telegram refused)."""
    statement = (
        select(Submission.id)
        .where(
            Submission.moderation_message_id.is_not(None),
            or_(
                Submission.card_synced_at.is_(None),
                Submission.card_synced_at < Submission.updated_at,
            ),
        )
        .order_by(Submission.updated_at, Submission.id)
        .limit(limit)
    )
    return list((await session.scalars(statement)).all())


async def card_lost(session: AsyncSession, submission_id: int) -> None:
    """A card was sent and its answer lost: a copy may be in the group."""
    await session.execute(
        update(Submission)
        .where(Submission.id == submission_id)
        .values(card_lost=True, updated_at=Submission.updated_at)
        .execution_options(synchronize_session=False)
    )


async def pending_without_card(session: AsyncSession, limit: int = 20) -> list[int]:
    """Pending entries with no moderation card yet (the group was unreachable), oldest first."""
    statement = (
        select(Submission.id)
        .where(Submission.status == S.PENDING, Submission.moderation_message_id.is_(None))
        .order_by(Submission.submitted_at, Submission.id)
        .limit(limit)
    )
    return list((await session.scalars(statement)).all())


async def set_moderation_card(
    session: AsyncSession,
    submission_id: int,
    chat_id: int,
    message_id: int,
    shown: datetime | None,
) -> None:
    """Remember where the entry's card is, to edit it with the outcome later; it shows the
    row as it was at ``shown`` (its ``updated_at``, None: unknown; see :func:`cards_behind`)."""
    await session.execute(
        update(Submission)
        .where(Submission.id == submission_id)
        .values(
            moderation_chat_id=chat_id,
            moderation_message_id=message_id,
            card_synced_at=shown,
            updated_at=Submission.updated_at,
        )
        .execution_options(synchronize_session="fetch")
    )


async def mark_card_synced(session: AsyncSession, submission_id: int, shown: datetime) -> None:
    """The card now shows the row as it was at ``shown`` (its ``updated_at``).

    Not a status change: ``updated_at`` is kept as it is, so a change made while the card
    was being edited still leaves the card behind, and the retry job draws it again.
    """
    await session.execute(
        update(Submission)
        .where(Submission.id == submission_id)
        .values(card_synced_at=shown, updated_at=Submission.updated_at)
        .execution_options(synchronize_session=False)
    )


TIMED_DECISIONS = frozenset({AuditAction.APPROVE, AuditAction.REFUSE})


async def decision_seconds(
    session: AsyncSession, action: str, submission_id: int | None
) -> float | None:
    """How long the entry waited for the decision just recorded (None if not a decision)."""
    if action not in TIMED_DECISIONS or submission_id is None:
        return None
    return await session.scalar(
        select(Submission.decision_seconds).where(Submission.id == submission_id)
    )
