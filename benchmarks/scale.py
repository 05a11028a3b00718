"""Figure 4: moderators' /queue and /stats and the publisher's pick with 100,000 entries.

Times the query functions the handlers call, each in its own session as the handlers do,
on SQLite and on a throwaway PostgreSQL server (started like the test suite's, from the
local server binaries; skipped with a line saying so when there are none). Baseline: a
``SELECT 1`` round trip on the same engine.
"""

from __future__ import annotations

import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from benchmarks.common import Figure
from models.base import utcnow
from models.db import make_engine, make_sessionmaker, upgrade
from models.publishing import last_published_trade, next_to_publish
from models.stats import campaign_stats, queue_summary
from models.tables import AgeBand, Apprentice, Submission, SubmissionStatus

S = SubmissionStatus
TARGET_MS = 50.0
# A national campaign late in its life: most entries decided, a queue on both sides.
STATUS_WEIGHTS = {
    S.PUBLISHED: 55,
    S.REFUSED: 20,
    S.APPROVED: 10,
    S.PENDING: 8,
    S.DRAFT: 4,
    S.NEEDS_CHECK: 1,
    S.PUBLISHING: 0.1,
}
TRADES = [f"Métier {i}" for i in range(60)]
CENTRES = [f"CFA numéro {i}" for i in range(150)]


def _rows(count: int, seed: int = 1) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    now = utcnow()
    apprentices = [
        {"id": 10_000_000 + i, "first_name": f"Apprenti {i}", "language": "fr"}
        for i in range(max(1, count // 2))
    ]
    statuses = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()), k=count)
    submissions = []
    for i, status in enumerate(statuses):
        submitted = now - timedelta(days=rng.uniform(0, 120))
        decided = status not in (S.DRAFT, S.PENDING)
        decided_at = submitted + timedelta(hours=rng.expovariate(1 / 6)) if decided else None
        approved = status in (S.APPROVED, S.PUBLISHING, S.PUBLISHED, S.NEEDS_CHECK)
        centre = rng.randrange(len(CENTRES))
        submissions.append(
            {
                "apprentice_id": apprentices[i % len(apprentices)]["id"],
                "status": status,
                "display_name": "Léa",
                "trade": TRADES[min(int(rng.expovariate(1 / 10)), len(TRADES) - 1)],
                "centre_code": f"cfa-{centre}",
                "centre_name": CENTRES[centre],
                "quote": None,
                "language": "fr",
                "age_band": AgeBand.ADULT,
                "consent_at": submitted,
                "photo_path": f"photos/{i}.jpg",
                "dhash": rng.getrandbits(63),
                "sharpness": 300.0,
                "created_at": submitted,
                "updated_at": submitted,
                "submitted_at": None if status is S.DRAFT else submitted,
                "decided_at": decided_at,
                "approved_at": decided_at if approved else None,
                "published_at": decided_at + timedelta(days=1)
                if status is S.PUBLISHED and decided_at
                else None,
            }
        )
    return apprentices, submissions


async def _fill(sessions: async_sessionmaker[AsyncSession], count: int) -> None:
    apprentices, submissions = _rows(count)
    async with sessions() as session, session.begin():
        for table, rows in ((Apprentice, apprentices), (Submission, submissions)):
            for start in range(0, len(rows), 5000):
                await session.execute(insert(table), rows[start : start + 5000])
    # A live database has been through autovacuum (PostgreSQL) or ANALYZE: measure that
    # state, not the minute after a bulk load. VACUUM cannot run inside a transaction.
    engine = sessions.kw["bind"]
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        vacuum = "VACUUM ANALYZE" if connection.dialect.name == "postgresql" else "ANALYZE"
        await autocommit.execute(text(vacuum))


async def _pick(session: AsyncSession) -> int | None:
    """What the publisher does at a slot: the last trade, then the next entry."""
    return await next_to_publish(session, avoid_trade=await last_published_trade(session))


Sessions = async_sessionmaker[AsyncSession]


def _in_a_session(fn: Callable[[AsyncSession], Awaitable[Any]]) -> Callable[[Sessions], Any]:
    """A query function called as its handler calls it: in a session of its own."""

    async def call(sessions: Sessions) -> Any:
        async with sessions() as session:
            return await fn(session)

    return call


async def _select_one(session: AsyncSession) -> Any:
    return await session.scalar(text("SELECT 1"))


QUERIES: dict[str, Callable[[Sessions], Awaitable[Any]]] = {
    "/queue (queue_summary)": _in_a_session(queue_summary),
    "/stats (campaign_stats)": campaign_stats,  # opens its own sessions
    "publisher pick": _in_a_session(_pick),
}


async def _time(
    sessions: Sessions, fn: Callable[[Sessions], Awaitable[Any]], n: int
) -> list[float]:
    samples = []
    for i in range(n + 1):
        start = time.perf_counter()
        await fn(sessions)
        if i:  # the first one warms the pool and the statement cache
            samples.append(time.perf_counter() - start)
    return samples


async def _backend(name: str, url: str, rows: int, repeat: int) -> list[Figure]:
    engine = make_engine(url)
    try:
        await upgrade(engine)
        sessions = make_sessionmaker(engine)
        started = time.perf_counter()
        await _fill(sessions, rows)
        filled = time.perf_counter() - started
        baseline = statistics.median(await _time(sessions, _in_a_session(_select_one), repeat))
        baseline *= 1000
        figures = []
        for label, fn in QUERIES.items():
            samples = await _time(sessions, fn, repeat)
            value = statistics.median(samples) * 1000
            figures.append(
                Figure(
                    f"scale {name}: {label}",
                    f"{value:.1f} ms",
                    f"{baseline:.2f} ms SELECT 1",
                    value / baseline,
                    f"< {TARGET_MS:.0f} ms",
                    value < TARGET_MS,
                    f"median of {repeat}, max {max(samples) * 1000:.1f} ms; {rows} rows "
                    f"(filled in {filled:.0f} s); ratio = cost in SELECT 1 round trips",
                )
            )
        return figures
    finally:
        await engine.dispose()


def _postgres() -> Any:
    """A started throwaway PostgreSQL (the test suite's helper), or None without binaries."""
    from tests.support.postgres import ThrowawayPostgres, find_postgres_bindir, server_user

    bindir = find_postgres_bindir()
    if bindir is None:
        return None
    server = ThrowawayPostgres(
        bindir=bindir, root=Path(tempfile.mkdtemp(prefix="selfie-bench-pg-")), user=server_user()
    )
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    return server


async def run(quick: bool = False) -> list[Figure]:
    rows = 200 if quick else 100_000
    repeat = 3 if quick else 15
    tmp = Path(tempfile.mkdtemp(prefix="selfie-bench-db-"))
    try:
        figures = await _backend(
            "SQLite", f"sqlite+aiosqlite:///{tmp / 'scale.sqlite3'}", rows, repeat
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    server = _postgres()
    if server is None:
        figures.append(
            Figure(
                "scale PostgreSQL", "skipped", "", None, "", None, "no PostgreSQL server binaries"
            )
        )
        return figures
    try:
        figures += await _backend("PostgreSQL", server.url, rows, repeat)
    finally:
        server.stop()
    return figures
