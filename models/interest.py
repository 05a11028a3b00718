"""Interest in the campaign's trades: the people who open the « ce métier m'intéresse » link
under a post, counted without knowing who they are.

One figure, « personnes intéressées » (``visitors``): a person counts **once a day**, and
opening the link again that day counts nothing (sending ``/start post-12`` forty times in
a second is one person, not forty visits). It is kept at two levels:

- **per post** (:class:`~models.tables.InterestPost`): once a day for that post, the days
  added up; /stats ranks the posts by it;
- **per trade and day** (:class:`~models.tables.InterestDay`): once a day for that trade,
  however many of its posts the person opened: what an organiser asks of a trade is how
  many people it interested, and someone looking through three pastry posts one evening is
  one person interested in pastry, not three. /stats's trade figures, the weekly digest
  and the chart add these rows up, so a trade's figure can be lower than the sum of its
  posts' figures, and a person interested in two trades on one day counts once for each.

Persons are told apart for one day only, by a digest salted with a key the bot keeps in
memory (:class:`bot.campaign.interest.VisitorKeys`): one row per post and one per trade
they were counted for that day; the digests of past days are deleted. The counters are
updated by the first visit itself, so /stats reads a few rows however big the campaign.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import dialect_insert
from models.tables import (
    InterestDay,
    InterestPost,
    InterestTradeVisitor,
    InterestVisitor,
    Submission,
    SubmissionStatus,
)


@dataclass(frozen=True)
class PostInterest:
    submission_id: int
    trade: str
    channel_message_id: int | None
    """None when the post is no longer on the channel."""
    visitors: int
    """People interested, each once a day for this post."""


async def _first(session: AsyncSession, model: Any, **row: Any) -> bool:
    """Insert this digest's row unless it is there: True when it was not (one statement,
    so two visits at once cannot both be first)."""
    statement = dialect_insert(session)(model).values(**row).on_conflict_do_nothing()
    result: Any = await session.execute(statement)
    return bool(result.rowcount == 1)


async def record_visit(
    session: AsyncSession, day: date, submission_id: int, trade: str, digest: str
) -> bool:
    """A visit of a post's link: True when it is this person's first of the day on that
    post, which then counts for the post, and for the trade unless they were already
    counted for it today (through another of its posts). A repeat writes nothing."""
    if not await _first(
        session, InterestVisitor, day=day, submission_id=submission_id, digest=digest
    ):
        return False
    post = {"submission_id": submission_id, "trade": trade}
    await _count(session, InterestPost, ["submission_id"], post)
    if await _first(session, InterestTradeVisitor, day=day, trade=trade, digest=digest):
        await _count(session, InterestDay, ["day", "trade"], {"day": day, "trade": trade})
    return True


async def _count(
    session: AsyncSession,
    model: type[InterestPost] | type[InterestDay],
    keys: list[str],
    row: dict[str, Any],
) -> None:
    """One more person on the row of ``keys``: one statement."""
    statement = dialect_insert(session)(model).values(**row, visitors=1)
    await session.execute(
        statement.on_conflict_do_update(index_elements=keys, set_={"visitors": model.visitors + 1})
    )


async def forget_visitors_before(session: AsyncSession, day: date) -> int:
    """The digests of past days, per post and per trade: they served their day."""
    posts: Any = await session.execute(delete(InterestVisitor).where(InterestVisitor.day < day))
    trades: Any = await session.execute(
        delete(InterestTradeVisitor).where(InterestTradeVisitor.day < day)
    )
    return int(posts.rowcount or 0) + int(trades.rowcount or 0)


async def top_posts(session: AsyncSession, count: int = 5) -> list[PostInterest]:
    """The posts that interested the most people, with their channel message when still
    published; ties: the newest entry first."""
    posted = select(Submission.channel_message_id).where(
        Submission.id == InterestPost.submission_id,
        Submission.status == SubmissionStatus.PUBLISHED,
    )
    rows = await session.execute(
        select(
            InterestPost.submission_id,
            InterestPost.trade,
            posted.scalar_subquery(),
            InterestPost.visitors,
        )
        .order_by(InterestPost.visitors.desc(), InterestPost.submission_id.desc())
        .limit(count)
    )
    return [PostInterest(*row) for row in rows]


async def interest_by_day(session: AsyncSession, since: date) -> dict[date, int]:
    """The people interested per day from ``since``: every trade's figure of the day added
    up (once per person and trade)."""
    rows = await session.execute(
        select(InterestDay.day, func.sum(InterestDay.visitors))
        .where(InterestDay.day >= since)
        .group_by(InterestDay.day)
    )
    return {day: int(visitors) for day, visitors in rows}
