"""Figures for the moderators' /queue and /stats commands.

/stats reads counters instead of counting entries: ``submission_counts`` holds, for each
trade and each centre name, how many entries have each status; ``decision_time_counts``
how many decision times fall in each bucket, for the median. Database triggers keep both
exact (migration 0007): entries change in many places (drafts edited field by field, the
transitions of :mod:`models.lifecycle`, ``/supprimer`` and the apprentice's deletion
cascading, three retention rules, some in bulk statements), and a trigger fires for
every one of them, including code written later, in the same transaction as the change;
explicit updates would have to be remembered in each path. So /stats reads a few hundred
counter rows and walks one bucket of an index, with 100 entries or 100,000
(benchmarks/RESULTS.md).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Float, case, cast, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.interest import PostInterest, top_posts
from models.tables import (
    DecisionTimeCount,
    InterestDay,
    Removal,
    Submission,
    SubmissionCount,
    SubmissionStatus,
)

S = SubmissionStatus
C = SubmissionCount
D = DecisionTimeCount
DAY = 86400

# Decided in favour: still counted as approved once publishing started (or went unsure).
APPROVED_SIDE = (S.APPROVED, S.PUBLISHING, S.PUBLISHED, S.NEEDS_CHECK, S.HELD)
TOP_POSTS = 3
"""Posts /stats names as those that interested the most people."""


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
class TradeFigures:
    """One trade's line in /stats."""

    trade: str
    entries: int
    """Entries sent (drafts left out), whatever became of them."""
    published: int
    """Of those, on the channel now (status published)."""
    interest: int = 0
    """People interested through the « ce métier m'intéresse » link of its posts, each
    counted once a day for the trade (:mod:`models.interest`)."""


@dataclass(frozen=True)
class CampaignStats:
    by_status: dict[str, int]
    """Every status present, drafts included."""
    by_trade: list[TradeFigures]
    """Top trades, most entries first, ties by name."""
    trades: int
    """How many trades have entries (``by_trade`` shows the first ones)."""
    by_centre: list[tuple[str, int]]
    """Top centres by name, most entries first (drafts left out)."""
    approval_rate: float | None
    """Approved (incl. publishing, published, needs_check, held) / decided; None if none
    decided."""
    median_decision: timedelta | None
    """Median of ``decision_seconds`` (``decided_at - submitted_at``); None if none decided."""
    top_posts: list[PostInterest] = field(default_factory=list)
    """The posts that interested the most people through their « ce métier m'intéresse »
    link (each person once a day per post)."""


def _sum_where(condition: Any) -> Any:
    """``sum(CASE WHEN condition THEN entries ELSE 0 END)``, on both backends."""
    return func.sum(case((condition, C.entries), else_=0))


@dataclass(frozen=True)
class _Counted:
    by_status: dict[str, int]
    by_trade: list[TradeFigures]
    trades: int
    by_centre: list[tuple[str, int]]


def _ranked(dimension: str, top: int) -> Any:
    """The ``top`` values of ``dimension`` with most entries (drafts were never sent),
    ranked, ties by name; with their published entries and how many values have entries
    (window functions over the groups); a trade's people interested, its days added up for
    the top ones only (``ix_interest_days_trade_visitors``)."""
    entries = func.sum(C.entries)
    ranked = (
        select(
            literal(dimension).label("kind"),
            C.value.label("value"),
            entries.label("entries"),
            _sum_where(C.status == S.PUBLISHED.value).label("published"),
            func.count().over().label("total"),
            func.row_number().over(order_by=(entries.desc(), C.value)).label("rank"),
        )
        .where(C.dimension == dimension, C.status != S.DRAFT.value)
        .group_by(C.value)
        .having(entries > 0)
        .subquery()
    )
    interest = (
        select(func.coalesce(func.sum(InterestDay.visitors), 0))
        .where(InterestDay.trade == ranked.c.value)
        .scalar_subquery()
        if dimension == "trade"
        else literal(0)
    )
    return select(ranked, interest.label("interest")).where(ranked.c.rank <= top)


async def _from_counters(session: AsyncSession, top: int) -> _Counted:
    """Statuses (each entry is counted once among the trades' counters), top trades and
    top centres: one statement, one round trip."""
    statuses = (
        select(
            literal("status"),
            C.status,
            func.sum(C.entries),
            literal(0),
            literal(0),
            literal(0),
            literal(0),
        )
        .where(C.dimension == "trade")
        .group_by(C.status)
    )
    rows = await session.execute(union_all(statuses, _ranked("trade", top), _ranked("centre", top)))
    by_status: dict[str, int] = {}
    trades: list[tuple[int, TradeFigures]] = []
    centres: list[tuple[int, str, int]] = []
    total = 0
    for kind, value, entries, published, count, rank, interest in rows:
        if kind == "status":
            if entries:
                by_status[value] = int(entries)
        elif kind == "trade":
            figures = TradeFigures(value, int(entries), int(published), int(interest))
            trades.append((rank, figures))
            total = int(count)
        else:
            centres.append((rank, value, int(entries)))
    return _Counted(
        by_status=by_status,
        by_trade=[figures for _, figures in sorted(trades, key=lambda t: t[0])],
        trades=total,
        by_centre=[(centre, n) for _, centre, n in sorted(centres)],
    )


def decision_bucket(seconds: float) -> int:
    """The bucket the triggers count a decision time in (their SQL, in migration 0007, is
    this function): by 10 minutes for the first day, by hour up to 30 days, then by day;
    a few hundred buckets, whose running sum SQLite computes in well under a millisecond."""
    if seconds < DAY:
        return int(max(seconds, 0) // 600)
    if seconds < 30 * DAY:
        return 120 + int(seconds // 3600)
    return 810 + int(min(seconds, 3e9) // DAY)


def _bucket_start(bucket: Any) -> Any:
    """The smallest decision time of ``bucket`` (SQL; bucket 0 also holds negative times)."""
    return cast(
        case(
            (bucket == 0, -1e18),
            (bucket < 144, bucket * 600),
            (bucket < 840, (bucket - 120) * 3600),
            else_=(bucket - 810) * cast(DAY, Float),
        ),
        Float,
    )


async def _median_decision_seconds(session: AsyncSession) -> float | None:
    """Median seconds from submission to decision, over every entry still in the database
    that was decided (an apprentice's ``/supprimer`` deletes their entries, and with them
    their decision times).

    The middle is value number ``(n - 1) / 2`` (integer division), with the next one when
    ``n`` is even. The running sum of the bucket counts finds the bucket holding it and
    how many values come before that bucket; ix_submissions_decision_seconds (covering) is
    walked from the bucket's start only, LIMIT 2 - n % 2 OFFSET what is left. One
    statement, so counts and walk see the same rows.
    """
    seconds = Submission.decision_seconds
    n = select(func.coalesce(func.sum(D.decided), 0)).scalar_subquery()
    middle = (n - 1) // 2
    running = (
        select(D.bucket, D.decided, func.sum(D.decided).over(order_by=D.bucket).label("upto"))
        .where(D.decided > 0)
        .subquery("running")
    )
    holding = (
        select(running.c.bucket, (running.c.upto - running.c.decided).label("before"))
        .where(running.c.upto > middle)
        .order_by(running.c.bucket)
        .limit(1)
        .cte("holding")
    )
    start = select(_bucket_start(holding.c.bucket)).scalar_subquery()
    before = select(holding.c.before).scalar_subquery()
    walk = (
        select(seconds.label("seconds"))
        .where(seconds >= start)
        .order_by(seconds)
        .limit(2 - n % 2)
        .offset(middle - func.coalesce(before, 0))
        .subquery("walk")
    )
    value = await session.scalar(select(func.avg(walk.c.seconds)))
    return None if value is None else float(value)


async def campaign_stats(
    sessions: async_sessionmaker[AsyncSession], top: int = 10
) -> CampaignStats:
    """The campaign at a glance for /stats: one statement over the counters on one
    connection while the median walks its bucket on another, and the posts that interested
    the most people on a third (benchmarks/RESULTS.md)."""

    async def from_counters() -> _Counted:
        async with sessions() as session:
            return await _from_counters(session, top)

    async def median() -> float | None:
        async with sessions() as session:
            return await _median_decision_seconds(session)

    async def most_visited() -> list[PostInterest]:
        async with sessions() as session:
            return await top_posts(session, TOP_POSTS)

    counted, seconds, posts = await asyncio.gather(from_counters(), median(), most_visited())
    by_status = counted.by_status
    approved = sum(by_status.get(status, 0) for status in APPROVED_SIDE)
    decided = approved + by_status.get(S.REFUSED, 0)
    return CampaignStats(
        by_status=by_status,
        by_trade=counted.by_trade,
        trades=counted.trades,
        by_centre=counted.by_centre,
        approval_rate=approved / decided if decided else None,
        # Milliseconds: SQLite's julianday is no finer, and PostgreSQL then agrees.
        median_decision=None if seconds is None else timedelta(milliseconds=round(seconds * 1000)),
        top_posts=posts,
    )
