"""Queue summary and campaign statistics on a small crafted data set, both backends."""

from __future__ import annotations

import random
import statistics
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Submission, SubmissionStatus, utcnow
from models.lifecycle import unpublish
from models.removals import owe_removal
from models.stats import (
    CampaignStats,
    QueueSummary,
    TradeFigures,
    campaign_stats,
    queue_summary,
)

if TYPE_CHECKING:
    from tests.support.data import AddSubmission

S = SubmissionStatus


async def test_queue_summary(session: AsyncSession, add_submission: AddSubmission) -> None:
    empty = QueueSummary(pending=0, approved=0, needs_check=0, held=0, removals=0)
    assert await queue_summary(session) == empty
    for status, times in {
        S.PENDING: 3,
        S.APPROVED: 2,
        S.NEEDS_CHECK: 1,
        S.HELD: 2,
        S.DRAFT: 1,
        S.PUBLISHED: 4,
        S.REFUSED: 1,
        S.PUBLISHING: 1,
    }.items():
        for _ in range(times):
            await add_submission(status)
    await owe_removal(
        session, chat="@c", message_id=1, kind="post", submission_id=9, cause="erased"
    )
    assert await queue_summary(session) == QueueSummary(
        pending=3, approved=2, needs_check=1, held=2, removals=1
    )


async def test_empty_campaign(session_factory: async_sessionmaker[AsyncSession]) -> None:
    assert await campaign_stats(session_factory) == CampaignStats(
        by_status={},
        by_trade=[],
        trades=0,
        by_centre=[],
        approval_rate=None,
        median_decision=None,
    )


async def test_campaign_stats(session_factory: AsyncSession, add_submission: AddSubmission) -> None:
    submitted = utcnow() - timedelta(days=2)

    async def add(status: SubmissionStatus, trade: str, centre: str, minutes: float | None) -> None:
        decided = None if minutes is None else submitted + timedelta(minutes=minutes)
        await add_submission(
            status, trade=trade, centre_name=centre, submitted_at=submitted, decided_at=decided
        )

    # Decided after 10, 20, 30, 40 and 50 minutes, then 1, 2 hours: median 40 min.
    await add(S.APPROVED, "coiffeuse", "CFA de Dijon", 10)
    await add(S.PUBLISHING, "coiffeuse", "CFA de Dijon", 20)
    await add(S.PUBLISHED, "coiffeuse", "CFA de Beaune", 30)
    await add(S.PUBLISHED, "boulanger", "CFA de Dijon", 40)
    await add(S.NEEDS_CHECK, "boulanger", "CFA de Beaune", 50)
    await add(S.REFUSED, "maçon", "CFA de Dijon", 60)
    await add(S.REFUSED, "maçon", "CFA de Sens", 120)
    await add(S.PENDING, "coiffeuse", "CFA de Sens", None)
    # Left out of trades and centres (and, being undecided, of the rest).
    await add(S.DRAFT, "plombier", "CFA d'Auxerre", None)
    await add(S.DRAFT, "plombier", "CFA d'Auxerre", None)
    await add(S.DRAFT, "plombier", "CFA d'Auxerre", None)

    stats = await campaign_stats(session_factory)

    assert stats.by_status == {
        "approved": 1,
        "publishing": 1,
        "published": 2,
        "needs_check": 1,
        "refused": 2,
        "pending": 1,
        "draft": 3,
    }
    assert stats.by_trade == [  # ties by name
        TradeFigures("coiffeuse", entries=4, published=1),
        TradeFigures("boulanger", entries=2, published=1),
        TradeFigures("maçon", entries=2, published=0),
    ]
    assert stats.trades == 3
    assert stats.by_centre == [("CFA de Dijon", 4), ("CFA de Beaune", 2), ("CFA de Sens", 2)]
    assert stats.approval_rate == 5 / 7
    assert stats.median_decision == timedelta(minutes=40)

    top = await campaign_stats(session_factory, top=1)
    assert top.by_trade == [TradeFigures("coiffeuse", entries=4, published=1)]
    assert top.trades == 3
    assert top.by_centre == [("CFA de Dijon", 4)]


async def test_median_decision_odd_and_even(
    session_factory: async_sessionmaker[AsyncSession], add_submission: AddSubmission
) -> None:
    submitted = utcnow() - timedelta(days=1)

    async def decided_after(delay: timedelta, status: SubmissionStatus = S.REFUSED) -> None:
        await add_submission(status, submitted_at=submitted, decided_at=submitted + delay)

    await decided_after(timedelta(hours=3))
    assert (await campaign_stats(session_factory)).median_decision == timedelta(hours=3)
    await decided_after(timedelta(seconds=90, milliseconds=250), S.APPROVED)
    # Even count: the mean of the two middle values.
    assert (await campaign_stats(session_factory)).median_decision == timedelta(
        seconds=(3 * 3600 + 90.25) / 2
    )
    await decided_after(timedelta(days=3), S.PUBLISHED)
    assert (await campaign_stats(session_factory)).median_decision == timedelta(hours=3)
    await decided_after(timedelta(minutes=1))
    assert (await campaign_stats(session_factory)).median_decision == timedelta(
        seconds=(3600 * 3 + 90.25) / 2
    )
    # Still pending: no decision, no effect on the median nor on the rate.
    await add_submission(S.PENDING, submitted_at=submitted)
    stats = await campaign_stats(session_factory)
    assert stats.median_decision == timedelta(seconds=(3600 * 3 + 90.25) / 2)
    assert stats.approval_rate == 2 / 4


async def test_trade_figures_follow_the_entries(
    session_factory: async_sessionmaker[AsyncSession], add_submission: AddSubmission
) -> None:
    """Published counts the channel now; a trade whose entries all went, or that has only
    drafts, is neither listed nor counted."""
    first = await add_submission(S.PUBLISHED, trade="boulanger")
    await add_submission(S.PENDING, trade="boulanger")
    await add_submission(S.DRAFT, trade="plombier")
    gone = await add_submission(S.REFUSED, trade="fleuriste")
    stats = await campaign_stats(session_factory)
    assert stats.by_trade == [
        TradeFigures("boulanger", entries=2, published=1),
        TradeFigures("fleuriste", entries=1, published=0),
    ]
    assert stats.trades == 2

    async with session_factory() as session, session.begin():
        assert await unpublish(session, first.id, 7, "Camille")
        await session.execute(delete(Submission).where(Submission.id == gone.id))
    stats = await campaign_stats(session_factory)
    assert stats.by_trade == [TradeFigures("boulanger", entries=2, published=0)]
    assert stats.trades == 1
    assert stats.by_status == {"pending": 1, "refused": 1, "draft": 1}


async def test_median_across_the_buckets(
    session_factory: async_sessionmaker[AsyncSession], add_submission: AddSubmission
) -> None:
    """Decision times from seconds to months (every kind of bucket, several per bucket):
    the median is the exact one, for odd and even counts."""
    rng = random.Random(3)
    submitted = utcnow() - timedelta(days=400)
    delays: list[float] = []
    for _ in range(41):
        delay = round(10 ** rng.uniform(0, 7.3), 3)  # 1 s to ~230 days
        delays.append(delay)
        await add_submission(
            S.REFUSED, submitted_at=submitted, decided_at=submitted + timedelta(seconds=delay)
        )
        if len(delays) in (1, 2, 17, 40, 41):
            median = (await campaign_stats(session_factory)).median_decision
            assert median is not None
            assert median.total_seconds() == pytest.approx(statistics.median(delays), abs=0.002)
