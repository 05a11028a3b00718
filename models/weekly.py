"""What happened over a period, for the moderators' weekly digest and the /stats chart:
entries received, decisions, posts and interest, read from the indexed dates."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.interest import interest_by_day
from models.stats import APPROVED_SIDE
from models.tables import Submission, SubmissionStatus

S = SubmissionStatus


@dataclass(frozen=True)
class Period:
    entries: int
    """Sent to the moderators (drafts left out)."""
    approved: int
    refused: int
    median_decision: timedelta | None
    posts: int
    visitors: int
    """People interested (« ce métier m'intéresse »), once a day per person and trade."""


async def _count(session: AsyncSession, *conditions: Any) -> int:
    return await session.scalar(select(func.count()).where(*conditions)) or 0


async def period_figures(
    session: AsyncSession, start: datetime, end: datetime, days: tuple[date, date]
) -> Period:
    """From ``start`` to ``end`` (``days``: the same period as local days, for interest)."""
    submitted = Submission.submitted_at.between(start, end), Submission.status != S.DRAFT
    decided = Submission.decided_at.between(start, end)
    seconds = [
        value
        for value in await session.scalars(select(Submission.decision_seconds).where(decided))
        if value is not None
    ]
    interest = await interest_by_day(session, days[0])
    return Period(
        entries=await _count(session, *submitted),
        approved=await _count(session, decided, Submission.status.in_(APPROVED_SIDE)),
        refused=await _count(session, decided, Submission.status == S.REFUSED),
        median_decision=timedelta(seconds=statistics.median(seconds)) if seconds else None,
        posts=await _count(session, Submission.published_at.between(start, end)),
        visitors=sum(people for day, people in interest.items() if day <= days[1]),
    )


async def entries_by_day(session: AsyncSession, since: datetime) -> dict[date, int]:
    """Entries sent per (UTC) day from ``since``: a few hundred rows at most."""
    day = func.date(Submission.submitted_at)
    rows = await session.execute(
        select(day, func.count())
        .where(Submission.submitted_at >= since, Submission.status != S.DRAFT)
        .group_by(day)
    )
    return {date.fromisoformat(str(value)): count for value, count in rows}


@dataclass(frozen=True)
class Week:
    monday: date
    entries: int
    visitors: int
    """People interested, once a day per person and trade, the week's days added up."""


async def weeks(session: AsyncSession, count: int, today: date) -> list[Week]:
    """The last ``count`` weeks (Monday to Sunday, this one included), oldest first."""
    first = today - timedelta(days=today.weekday(), weeks=count - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    entries, visitors = [0] * count, [0] * count
    for day, n in (await entries_by_day(session, since)).items():
        if first <= day <= today:
            entries[(day - first).days // 7] += n
    for day, people in (await interest_by_day(session, first)).items():
        if day <= today:
            visitors[(day - first).days // 7] += people
    return [Week(first + timedelta(weeks=n), entries[n], visitors[n]) for n in range(count)]
