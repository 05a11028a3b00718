"""Queries of the moderation side: duplicates, cards to (re)post, bans, publishing order.

Status changes stay in :mod:`models.submissions`. Nothing here commits: the caller owns
the unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Integer, and_, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from models.base import utcnow
from models.entities import Apprentice, Submission, SubmissionStatus
from models.submissions import not_banned

S = SubmissionStatus

# Entries that were never shown to a moderator, or no longer exist for anyone.
_NOT_COMPARED = (S.DRAFT, S.WITHDRAWN)


class hamming(FunctionElement[int]):
    """Number of differing bits between two 64-bit hashes stored as signed BIGINT.

    One construct for the query, one rendering per backend: PostgreSQL (>= 14) has
    ``bit_count`` on bit strings; SQLite gets a Python function registered on every
    connection by :func:`models.db.make_engine`.
    """

    type = Integer()
    name = "hamming"
    inherit_cache = True


@compiles(hamming, "postgresql")
def _hamming_postgresql(element: hamming, compiler: SQLCompiler, **kw: Any) -> str:
    a, b = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"bit_count(CAST(({a} # {b}) AS bit(64)))"


@compiles(hamming, "sqlite")
def _hamming_sqlite(element: hamming, compiler: SQLCompiler, **kw: Any) -> str:
    a, b = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"hamming({a}, {b})"


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
    Drafts and withdrawn entries are ignored. Identical files first, then nearest, then
    newest. The distance needs every hash: a scan, but of one integer column.
    """
    me = aliased(Submission, name="me")
    other = aliased(Submission, name="other")
    same_file = and_(
        me.source_file_unique_id.is_not(None),
        other.source_file_unique_id == me.source_file_unique_id,
    )
    distance = hamming(other.dhash, me.dhash)
    statement = (
        select(other.id, other.status, case((same_file, None), else_=distance))
        .join(me, me.id == submission_id)
        .where(
            other.id != submission_id,
            other.status.not_in(_NOT_COMPARED),
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


async def ban_apprentice(session: AsyncSession, apprentice_id: int, moderator_id: int) -> bool:
    """Ban a Telegram user, known or not yet (their row is created, without a name, so the
    ban holds when they first write); False if already banned.

    One statement: an insert that, on a known id, updates only an unbanned row. The
    moderator's name goes into the audit row the caller writes; their entries are refused
    separately with :func:`models.submissions.refuse_banned`.
    """
    now = utcnow()
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Apprentice).values(
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
        .values(banned_at=None, banned_by=None, ban_reason=None, updated_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    result = cast("CursorResult[Any]", await session.execute(statement))
    return result.rowcount == 1


def _oldest_approved(*conditions: Any) -> Any:
    """Scalar subquery: id of the oldest approved entry meeting ``conditions``.

    Walks ``ix_submissions_status_approved_at_id`` in order and stops at the first match.
    """
    return (
        select(Submission.id)
        .where(Submission.status == S.APPROVED, not_banned(), *conditions)
        .order_by(Submission.approved_at, Submission.id)
        .limit(1)
        .scalar_subquery()
    )


async def next_to_publish(session: AsyncSession, *, avoid_trade: str | None = None) -> int | None:
    """Id of the next entry to publish: the oldest approved one, preferring another trade.

    With ``avoid_trade`` (the trade just published, for ``ordering = "rotate_trades"``)
    the oldest approved entry of a different trade wins; when only that trade waits, its
    oldest entry is taken anyway, so the queue never stalls. One round trip.
    """
    oldest = _oldest_approved()
    if avoid_trade is None:
        return cast("int | None", await session.scalar(select(oldest)))
    other_trade = _oldest_approved(Submission.trade != avoid_trade)
    # COALESCE of two index walks, each stopping at its first row.
    return cast("int | None", await session.scalar(select(func.coalesce(other_trade, oldest))))


async def last_published_trade(session: AsyncSession) -> str | None:
    """Trade of the entry published most recently (None before the first publication)."""
    statement = (
        select(Submission.trade)
        .where(Submission.status == S.PUBLISHED)
        .order_by(Submission.published_at.desc(), Submission.id.desc())
        .limit(1)
    )
    return cast("str | None", await session.scalar(statement))
