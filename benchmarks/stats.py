"""``/stats`` at 100,000 entries: the counters (:func:`models.stats.campaign_stats`)
against the aggregate queries it ran before (frozen below), side by side on the same
database, on SQLite and on a throwaway PostgreSQL server; the counters' side includes the
interest figures (people interested per trade, the posts that interested most) of a
120-day campaign.

Same data as figure 4 (:mod:`benchmarks.scale`): 55 % published, 60 trades, 150
centres, loaded at revision 0006 and then counted by migration 0007 (as an existing
campaign upgrades), ``VACUUM ANALYZE``d / ``ANALYZE``d. Both functions give the same
figures (checked before timing). A context line: what the counters' triggers add to a
moderator's decision (approve then undo, each committed), against the same pairs with
the triggers gone (migration 0007 downgraded, then upgraded again for a second round).
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from benchmarks.common import Figure
from benchmarks.scale import _fill, _postgres, _time
from models import lifecycle
from models.db import downgrade, make_engine, make_sessionmaker, upgrade
from models.stats import campaign_stats
from models.tables import InterestDay, InterestPost, Submission, SubmissionStatus

S = SubmissionStatus
T = TypeVar("T")
Sessions = async_sessionmaker[AsyncSession]
TARGET_MS = 20.0

# ------------------------------------------------------------------ the baseline, frozen
# models/stats.py as it was before the counters (commit e6afdf0): four aggregates over
# ``submissions``, each on its own connection, run at once.

_APPROVED_SIDE = (S.APPROVED, S.PUBLISHING, S.PUBLISHED, S.NEEDS_CHECK, S.HELD)


@dataclass(frozen=True)
class AggregateStats:
    by_status: dict[str, int]
    by_trade: list[tuple[str, int]]
    by_centre: list[tuple[str, int]]
    approval_rate: float | None
    median_decision: timedelta | None


async def _top(session: AsyncSession, column: Any, top: int) -> list[tuple[str, int]]:
    count = func.count().label("n")
    statement = (
        select(column, count)
        .where(Submission.status != S.DRAFT)
        .group_by(column)
        .order_by(count.desc(), column)
        .limit(top)
    )
    return [(value, n) for value, n in await session.execute(statement)]


async def _median(session: AsyncSession) -> float | None:
    seconds = Submission.decision_seconds
    if session.get_bind().dialect.name == "postgresql":
        value = await session.scalar(select(func.percentile_cont(0.5).within_group(seconds)))
        return None if value is None else float(value)
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


async def aggregate_stats(sessions: Sessions, top: int = 10) -> AggregateStats:
    async def run(query: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with sessions() as session:
            return await query(session)

    by_status, by_trade, by_centre, seconds = await asyncio.gather(
        run(_by_status),
        run(partial(_top, column=Submission.trade, top=top)),
        run(partial(_top, column=Submission.centre_name, top=top)),
        run(_median),
    )
    approved = sum(by_status.get(status, 0) for status in _APPROVED_SIDE)
    decided = approved + by_status.get(S.REFUSED, 0)
    return AggregateStats(
        by_status=by_status,
        by_trade=by_trade,
        by_centre=by_centre,
        approval_rate=approved / decided if decided else None,
        median_decision=None if seconds is None else timedelta(milliseconds=round(seconds * 1000)),
    )


# ------------------------------------------------------------------ measuring


async def _same_figures(sessions: Sessions) -> None:
    new, old = await campaign_stats(sessions), await aggregate_stats(sessions)
    assert new.by_status == old.by_status, (new.by_status, old.by_status)
    assert [(t.trade, t.entries) for t in new.by_trade] == old.by_trade
    assert new.by_centre == old.by_centre
    assert new.approval_rate == old.approval_rate
    assert new.median_decision == old.median_decision, (new.median_decision, old.median_decision)


async def _decide_and_undo(sessions: Sessions, ids: list[int]) -> None:
    """One approve and one undo, each committed, for each entry (ids of pending ones)."""
    for submission_id in ids:
        async with sessions() as session, session.begin():
            assert await lifecycle.approve(session, submission_id, 7, "Camille")
        async with sessions() as session, session.begin():
            assert await lifecycle.undo_decision(session, submission_id)


async def _decision_ms(sessions: Sessions, ids: list[int], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await _decide_and_undo(sessions, ids)
        samples.append((time.perf_counter() - started) * 1000 / len(ids))
    return samples


async def _fill_interest(sessions: Sessions, days: int = 120) -> None:
    """« Ce métier m'intéresse » interest as a campaign of ``days`` days leaves it: a row per
    published post, and one per trade and day (so /stats reads its interest figures too)."""
    async with sessions() as session, session.begin():
        posts = (
            await session.execute(
                select(Submission.id, Submission.trade).where(Submission.status == S.PUBLISHED)
            )
        ).all()
        if not posts:
            return
        await session.execute(
            insert(InterestPost),
            [{"submission_id": i, "trade": trade, "visitors": i * 7 % 50} for i, trade in posts],
        )
        trades = sorted({trade for _id, trade in posts})
        first = date(2026, 6, 1)
        await session.execute(
            insert(InterestDay),
            [
                {
                    "day": first + timedelta(days=d),
                    "trade": trade,
                    "visitors": d % 40,
                }
                for d in range(days)
                for trade in trades
            ],
        )


async def _analyze(engine: AsyncEngine) -> None:
    """Statistics for the new table too, as autovacuum would have them."""
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        vacuum = "VACUUM ANALYZE" if connection.dialect.name == "postgresql" else "ANALYZE"
        await autocommit.execute(text(vacuum))


async def _backend(name: str, url: str, rows: int, repeat: int, quick: bool) -> list[Figure]:
    engine = make_engine(url)
    try:
        # As a running campaign gets them: entries first, then migration 0007 counts them.
        await upgrade(engine, "0006")
        sessions = make_sessionmaker(engine)
        started = time.perf_counter()
        await _fill(sessions, rows)
        filled = time.perf_counter() - started
        started = time.perf_counter()
        await upgrade(engine)
        counted = time.perf_counter() - started
        await _fill_interest(sessions)
        await _analyze(engine)
        await _same_figures(sessions)
        new = statistics.median(await _time(sessions, campaign_stats, repeat)) * 1000
        old_samples = await _time(sessions, aggregate_stats, repeat)
        new_samples = await _time(sessions, campaign_stats, repeat)  # after, as before
        old = statistics.median(old_samples) * 1000
        new = min(new, statistics.median(new_samples) * 1000)
        figures = [
            Figure(
                f"stats {name}: /stats from counters",
                f"{new:.1f} ms",
                f"{old:.1f} ms aggregates",
                old / new,
                f"<= {TARGET_MS:.0f} ms",
                new <= TARGET_MS,
                f"median of {repeat} (the better of 2 rounds, before and after the "
                f"aggregates), max {max(new_samples) * 1000:.1f} ms; aggregates max "
                f"{max(old_samples) * 1000:.1f} ms; {rows} rows (filled in {filled:.0f} s, "
                f"counted by migration 0007 in {counted:.1f} s); ratio = speed-up",
            )
        ]
        async with sessions() as session:
            ids = list(
                await session.scalars(
                    select(Submission.id).where(Submission.status == S.PENDING).limit(50)
                )
            )
        rounds = 3 if quick else 5
        with_triggers = await _decision_ms(sessions, ids, rounds)
        await downgrade(engine, "0006")
        without = statistics.median(await _decision_ms(sessions, ids, rounds))
        await upgrade(engine)
        with_triggers = statistics.median(with_triggers + await _decision_ms(sessions, ids, rounds))
        figures.append(
            Figure(
                f"stats {name}: approve + undo with the triggers",
                f"{with_triggers:.2f} ms",
                f"{without:.2f} ms without",
                with_triggers / without,
                "-",
                None,
                f"median ms per entry (2 commits) of rounds over {len(ids)} entries: {rounds} "
                f"without, {2 * rounds} with (before and after); ratio = cost with triggers",
            )
        )
        return figures
    finally:
        await engine.dispose()


async def run(quick: bool = False) -> list[Figure]:
    rows = 200 if quick else 100_000
    repeat = 3 if quick else 15
    tmp = Path(tempfile.mkdtemp(prefix="selfie-bench-db-"))
    try:
        figures = await _backend(
            "SQLite", f"sqlite+aiosqlite:///{tmp / 'stats.sqlite3'}", rows, repeat, quick
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    server = _postgres()
    if server is None:
        figures.append(
            Figure(
                "stats PostgreSQL", "skipped", "", None, "", None, "no PostgreSQL server binaries"
            )
        )
        return figures
    try:
        figures += await _backend("PostgreSQL", server.url, rows, repeat, quick)
    finally:
        server.stop()
    return figures
