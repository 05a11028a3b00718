"""``decision_seconds``: set by every transition that decides, cleared by undo, computed on
insert; and the queries of /stats and of the publisher walk their indexes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models import Submission, SubmissionStatus, lifecycle, utcnow
from models.publishing import last_published_trade
from models.stats import campaign_stats

if TYPE_CHECKING:
    from tests.support.data import AddSubmission

S = SubmissionStatus
# SQLite's julianday reads timestamps to the millisecond.
TOLERANCE = 0.002


async def _decision(session: AsyncSession, sid: int) -> tuple[float | None, datetime | None]:
    row = (
        await session.execute(
            select(Submission.decision_seconds, Submission.decided_at).where(Submission.id == sid)
        )
    ).one()
    return row.decision_seconds, row.decided_at


async def _refuse_banned(session: AsyncSession, sid: int) -> bool:
    return await lifecycle.refuse_banned(session, 1001, 7, "Max") == [sid]


DECIDING: dict[str, tuple[SubmissionStatus, Callable[[AsyncSession, int], Awaitable[bool]]]] = {
    "approve": (S.PENDING, lambda s, i: lifecycle.approve(s, i, 7, "Max")),
    "refuse": (S.PENDING, lambda s, i: lifecycle.refuse(s, i, 7, "Max", "floue")),
    "refuse_banned": (S.PENDING, _refuse_banned),
    "unpublish": (S.PUBLISHED, lambda s, i: lifecycle.unpublish(s, i, 7, "Max")),
}


@pytest.mark.parametrize("name", sorted(DECIDING))
async def test_deciding_transitions_set_decision_seconds(
    name: str, session: AsyncSession, add_submission: AddSubmission
) -> None:
    start, transition = DECIDING[name]
    submitted = utcnow() - timedelta(hours=5, minutes=3, seconds=7, microseconds=250_500)
    sid = (await add_submission(start, submitted_at=submitted)).id
    assert await transition(session, sid)
    await session.commit()
    seconds, decided_at = await _decision(session, sid)
    assert decided_at is not None and seconds is not None
    assert seconds == pytest.approx((decided_at - submitted).total_seconds(), abs=TOLERANCE)


async def test_undo_clears_and_a_new_decision_sets_it_again(
    session: AsyncSession, add_submission: AddSubmission
) -> None:
    submitted = utcnow() - timedelta(minutes=30)
    sid = (await add_submission(submitted_at=submitted)).id
    assert await lifecycle.approve(session, sid, 7, "Max")
    assert (await _decision(session, sid))[0] is not None
    assert await lifecycle.undo_decision(session, sid)
    assert await _decision(session, sid) == (None, None)
    assert await lifecycle.refuse(session, sid, 7, "Max", "floue")
    seconds, decided_at = await _decision(session, sid)
    assert decided_at is not None
    assert seconds == pytest.approx((decided_at - submitted).total_seconds(), abs=TOLERANCE)


async def test_later_transitions_keep_it(
    session: AsyncSession, add_submission: AddSubmission
) -> None:
    """Publishing keeps the decision time (the statistics keep counting it)."""
    sid = (await add_submission(submitted_at=utcnow() - timedelta(hours=1))).id
    assert await lifecycle.approve(session, sid, 7, "Max")
    seconds = (await _decision(session, sid))[0]
    assert await lifecycle.claim_for_publishing(session, sid)
    assert await lifecycle.mark_published(session, sid, 555)
    assert (await _decision(session, sid))[0] == seconds is not None


async def test_no_submission_time_no_decision_time(
    session: AsyncSession, add_submission: AddSubmission
) -> None:
    sid = (await add_submission(S.PENDING, submitted_at=None)).id
    assert await lifecycle.approve(session, sid, 7, "Max")
    assert (await _decision(session, sid))[0] is None


async def test_insert_computes_it(session: AsyncSession, add_submission: AddSubmission) -> None:
    submitted = utcnow() - timedelta(days=1)
    decided = await add_submission(
        S.REFUSED, submitted_at=submitted, decided_at=submitted + timedelta(seconds=90.25)
    )
    undecided = await add_submission(S.PENDING, submitted_at=submitted)
    given = await add_submission(
        S.REFUSED, submitted_at=submitted, decided_at=submitted, decision_seconds=12.5
    )
    assert (await _decision(session, decided.id))[0] == 90.25
    assert (await _decision(session, undecided.id))[0] is None
    assert (await _decision(session, given.id))[0] == 12.5, "an explicit value wins"


async def test_median_of_decisions_taken_by_the_transitions(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    now = utcnow()
    ids = [(await add_submission(submitted_at=now - timedelta(hours=h))).id for h in (1, 2, 3)]
    assert await lifecycle.approve(session, ids[0], 7, "Max")
    assert await lifecycle.refuse(session, ids[1], 7, "Max", "floue")
    assert await lifecycle.approve(session, ids[2], 7, "Max")
    await session.commit()
    median = (await campaign_stats(session_factory)).median_decision
    assert median is not None
    assert median.total_seconds() == pytest.approx(2 * 3600, abs=60)


@pytest.fixture
def sqlite_only(db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans depend on table size")


async def test_queries_walk_their_indexes(
    sqlite_only: None,
    engine: AsyncEngine,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    """No sort of the published rows nor of the decided rows, whose index is walked from
    the median's bucket; statuses, trades and centres come from the counters alone."""
    submitted = utcnow() - timedelta(hours=1)
    await add_submission(S.PUBLISHED, submitted_at=submitted, decided_at=utcnow())
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        await last_published_trade(session)
        await campaign_stats(session_factory)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)

    plans: dict[str, str] = {}
    async with engine.connect() as connection:
        for statement, parameters in statements:
            rows = await connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {statement}", tuple(parameters)
            )
            plans[statement] = " | ".join(row[-1] for row in rows)

    def plan_of(*words: str) -> str:
        (found,) = [plan for sql, plan in plans.items() if all(w in sql for w in words)]
        return found

    last = plan_of("published_at DESC")
    assert "USING INDEX ix_submissions_status_published_at_id" in last
    assert "TEMP B-TREE" not in last
    counted = [
        plan
        for sql, plan in plans.items()
        if "submission_counts" in sql and "decision_seconds" not in sql
    ]
    assert len(counted) == 1  # statuses, trades and centres in one statement
    assert all("submissions" not in plan.replace("submission_counts", "") for plan in counted)
    median = plan_of("ORDER BY submissions.decision_seconds")
    # From the bucket's start only (the counters' small sort aside).
    index = "USING COVERING INDEX ix_submissions_decision_seconds"
    assert f"SEARCH submissions {index} (decision_seconds>?)" in median
    assert "SCAN submissions" not in median
