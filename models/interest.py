"""Interest in the campaign's trades: visits through the « ce métier m'intéresse » link under
each post, counted per post, per trade and per day without knowing who visited.

A visitor is recognised for one day only, by a digest salted with a key the bot keeps in
memory (:class:`bot.campaign.interest.VisitorKeys`); the digests of past days are deleted. The
counters are updated by the visit itself, so /stats reads a few rows however big the
campaign.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import InterestDay, InterestPost, InterestVisitor, Submission, SubmissionStatus


@dataclass(frozen=True)
class InterestFigures:
    visits: int
    visitors: int


@dataclass(frozen=True)
class PostInterest:
    submission_id: int
    trade: str
    channel_message_id: int | None
    """None when the post is no longer on the channel."""
    visits: int
    visitors: int


def _insert(session: AsyncSession) -> Any:
    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def record_visit(
    session: AsyncSession, day: date, submission_id: int, trade: str, digest: str
) -> bool:
    """One visit of a post's link; True when it is this visitor's first of the day there."""
    seen = _insert(session)(InterestVisitor).values(
        day=day, submission_id=submission_id, digest=digest
    )
    result: Any = await session.execute(seen.on_conflict_do_nothing())
    first = bool(result.rowcount == 1)
    post = {"submission_id": submission_id, "trade": trade}
    await _count(session, InterestPost, ["submission_id"], post, first)
    await _count(session, InterestDay, ["day", "trade"], {"day": day, "trade": trade}, first)
    return first


async def _count(
    session: AsyncSession,
    model: type[InterestPost] | type[InterestDay],
    keys: list[str],
    row: dict[str, Any],
    first: bool,
) -> None:
    """One more visit (and visitor, when ``first``) on the row of ``keys``: one statement."""
    statement = _insert(session)(model).values(**row, visits=1, visitors=int(first))
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=keys,
            set_={
                "visits": model.visits + 1,
                "visitors": model.visitors + statement.excluded.visitors,
            },
        )
    )


async def forget_visitors_before(session: AsyncSession, day: date) -> int:
    """The digests of past days: they served their day."""
    result: Any = await session.execute(delete(InterestVisitor).where(InterestVisitor.day < day))
    return int(result.rowcount or 0)


async def top_posts(session: AsyncSession, count: int = 5) -> list[PostInterest]:
    """The posts most visited, with their channel message when still published."""
    posted = select(Submission.channel_message_id).where(
        Submission.id == InterestPost.submission_id,
        Submission.status == SubmissionStatus.PUBLISHED,
    )
    rows = await session.execute(
        select(
            InterestPost.submission_id,
            InterestPost.trade,
            posted.scalar_subquery(),
            InterestPost.visits,
            InterestPost.visitors,
        )
        .order_by(InterestPost.visits.desc(), InterestPost.submission_id.desc())
        .limit(count)
    )
    return [PostInterest(*row) for row in rows]


async def interest_by_day(session: AsyncSession, since: date) -> dict[date, InterestFigures]:
    """Every trade's visits per day from ``since``."""
    rows = await session.execute(
        select(InterestDay.day, func.sum(InterestDay.visits), func.sum(InterestDay.visitors))
        .where(InterestDay.day >= since)
        .group_by(InterestDay.day)
    )
    return {day: InterestFigures(int(v), int(u)) for day, v, u in rows}
