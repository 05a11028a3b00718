"""Figures for the moderators' /queue and /stats commands, aggregated in SQL.

Nothing here loops over rows in Python: with a national campaign's 100,000 entries every
figure must come back in milliseconds, from the indexes of :class:`Submission`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.tables import Removal, Submission, SubmissionStatus

S = SubmissionStatus
T = TypeVar("T")

# Decided in favour: still counted as approved once publishing started (or went unsure).
_APPROVED_SIDE = (S.APPROVED, S.PUBLISHING, S.PUBLISHED, S.NEEDS_CHECK, S.HELD)


@dataclass(frozen=True)
class QueueSummary:
    pending: int
    """Waiting for a moderator."""
    approved: int
    """Waiting for a publication slot."""
    needs_check: int
    """Maybe posted, maybe not: a moderator must look at the channel."""
    held: int
    """Refused by Telegram (this photo or caption): a moderator decides."""
    removals: int
    """Posts and cards still to remove after an erasure or an unpublish."""


def _count_where(condition: Any) -> Any:
    """``count(CASE WHEN condition THEN 1 END)``: a conditional aggregate on both backends."""
    return func.count(case((condition, 1)))


async def queue_summary(session: AsyncSession) -> QueueSummary:
    """What waits for moderators and for the publisher, in one query."""
    waiting = (S.PENDING, S.APPROVED, S.NEEDS_CHECK, S.HELD)
    statement = select(*(_count_where(Submission.status == status) for status in waiting)).where(
        Submission.status.in_(waiting)
    )
    pending, approved, needs_check, held = (await session.execute(statement)).one()
    removals = await session.scalar(select(func.count()).select_from(Removal)) or 0
    return QueueSummary(
        pending=pending, approved=approved, needs_check=needs_check, held=held, removals=removals
    )


@dataclass(frozen=True)
class CampaignStats:
    by_status: dict[str, int]
    """Every status present, drafts included."""
    by_trade: list[tuple[str, int]]
    """Top trades, most entries first (drafts left out)."""
    by_centre: list[tuple[str, int]]
    """Top centres by name, most entries first (drafts left out)."""
    approval_rate: float | None
    """Approved (incl. publishing, published, needs_check) / decided; None if none decided."""
    median_decision: timedelta | None
    """Median of ``decision_seconds`` (``decided_at - submitted_at``); None if none decided."""


async def _top(session: AsyncSession, column: Any, top: int) -> list[tuple[str, int]]:
    """The ``top`` most frequent values of ``column`` among real entries, ties by name."""
    count = func.count().label("n")
    statement = (
        select(column, count)
        .where(Submission.status != S.DRAFT)  # drafts were never sent
        .group_by(column)
        .order_by(count.desc(), column)
        .limit(top)
    )
    return [(value, n) for value, n in await session.execute(statement)]


async def _median_decision_seconds(session: AsyncSession) -> float | None:
    """Median seconds from submission to decision, over every entry still in the database
    that was decided (an apprentice's ``/supprimer`` deletes their entries, and with them
    their decision times)."""
    seconds = Submission.decision_seconds
    if session.get_bind().dialect.name == "postgresql":
        # Measured at 100,000 rows: faster than the index walk below, whose count and walk
        # need heap visits until VACUUM has marked the pages all-visible.
        value = await session.scalar(select(func.percentile_cont(0.5).within_group(seconds)))
        return None if value is None else float(value)
    # SQLite has no percentile: walk ix_submissions_decision_seconds (covering) to the middle
    # and average the middle one or two values, LIMIT 2 - n % 2 OFFSET (n - 1) / 2
    # (integer division); n is counted on the same index.
    n = select(func.count(seconds)).where(seconds.is_not(None)).scalar_subquery()
    middle = (
        select(seconds.label("seconds"))
        .where(seconds.is_not(None))
        .order_by(seconds)
        .limit(2 - n % 2)
        .offset((n - 1) // 2)
        .subquery("middle")
    )
    value = await session.scalar(select(func.avg(middle.c.seconds)))
    return None if value is None else float(value)


async def _by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(Submission.status, func.count()).group_by(Submission.status)
    )
    return {str(status): n for status, n in rows}


async def campaign_stats(
    sessions: async_sessionmaker[AsyncSession], top: int = 10
) -> CampaignStats:
    """The campaign at a glance for /stats: four aggregates run at once, each on its own
    connection, so that PostgreSQL's server processes share the work (100,000 entries:
    ~40 ms instead of ~80 ms one after the other; benchmarks/RESULTS.md)."""

    async def run(query: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with sessions() as session:
            return await query(session)

    by_status, by_trade, by_centre, seconds = await asyncio.gather(
        run(_by_status),
        run(partial(_top, column=Submission.trade, top=top)),
        run(partial(_top, column=Submission.centre_name, top=top)),
        run(_median_decision_seconds),
    )
    approved = sum(by_status.get(status, 0) for status in _APPROVED_SIDE)
    decided = approved + by_status.get(S.REFUSED, 0)
    return CampaignStats(
        by_status=by_status,
        by_trade=by_trade,
        by_centre=by_centre,
        approval_rate=approved / decided if decided else None,
        # Milliseconds: SQLite's julianday is no finer, and PostgreSQL then agrees.
        median_decision=None if seconds is None else timedelta(milliseconds=round(seconds * 1000)),
    )
