"""The /stats counters (``submission_counts``, kept by triggers) against a fresh recount,
after every kind of change an entry goes through, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models import Apprentice, Submission, SubmissionStatus, utcnow
from models import lifecycle as lc
from models.apprentices import ban_apprentice, delete_apprentice_data
from models.db import downgrade, upgrade
from models.retention import expire_drafts, purge_campaign, purge_refused
from models.stats import decision_bucket
from models.submissions import create_draft, delete_draft
from models.tables import DecisionTimeCount, SubmissionCount

if TYPE_CHECKING:
    from tests.support.data import AddSubmission

S = SubmissionStatus
Counts = dict[Any, int]
MOD = (7, "Camille")


async def counters(session: AsyncSession) -> Counts:
    """What the triggers kept, rows at zero left out."""
    counts: Counts = {}
    for (c,) in await session.execute(select(SubmissionCount)):
        counts[(c.dimension, c.value, c.status)] = c.entries
    for (d,) in await session.execute(select(DecisionTimeCount)):
        counts[("decision", d.bucket)] = d.decided
    assert all(n >= 0 for n in counts.values())
    return {key: n for key, n in counts.items() if n}


async def recount(session: AsyncSession) -> Counts:
    """The same figures counted from ``submissions`` now (the buckets in Python)."""
    counts: Counts = {}
    for dimension, column in (("trade", Submission.trade), ("centre", Submission.centre_name)):
        statement = select(column, Submission.status, func.count()).group_by(
            column, Submission.status
        )
        for value, status, entries in await session.execute(statement):
            counts[(dimension, value, str(status))] = entries
    times = await session.scalars(
        select(Submission.decision_seconds).where(Submission.decision_seconds.is_not(None))
    )
    for seconds in times:
        key = ("decision", decision_bucket(seconds))
        counts[key] = counts.get(key, 0) + 1
    return counts


Step = Callable[[AsyncSession], Awaitable[Any]]


async def run_and_check(sessions: async_sessionmaker[AsyncSession], step: Step) -> None:
    async with sessions() as session, session.begin():
        await step(session)
    async with sessions() as session:
        assert await counters(session) == await recount(session)


async def test_counters_follow_every_change(
    session_factory: async_sessionmaker[AsyncSession], add_submission: AddSubmission
) -> None:
    long_ago = utcnow() - timedelta(days=400)
    await add_submission(S.PENDING, apprentice_id=1)  # creates apprentice 1
    for apprentice_id in (2, 3, 4):
        await add_submission(S.DRAFT, apprentice_id=apprentice_id, trade="plombier")
    ids: dict[str, int] = {}

    async def new_draft(session: AsyncSession, key: str, apprentice_id: int, **fields: Any) -> None:
        draft = await create_draft(
            session,
            apprentice_id,
            trade=fields.pop("trade", "boulanger"),
            centre_name=fields.pop("centre_name", "CFA de Sens"),
            language="fr",
            age_band="adult",
            consent_at=utcnow(),
            **fields,
        )
        ids[key] = draft.id

    async def set_fields(session: AsyncSession, key: str, **values: Any) -> None:
        entry = await session.get(Submission, ids[key])
        assert entry is not None
        for name, value in values.items():
            setattr(entry, name, value)

    def transition(name: str, key: str, *args: Any) -> Step:
        async def step(session: AsyncSession) -> None:
            assert await getattr(lc, name)(session, ids[key], *args)

        return step

    def set_decision(seconds: float | None) -> Step:
        async def step(session: AsyncSession) -> None:
            await session.execute(
                update(Submission).where(Submission.id == ids["d"]).values(decision_seconds=seconds)
            )

        return step

    steps: list[Step] = [
        lambda s: new_draft(s, "a", 1),
        lambda s: new_draft(s, "b", 1, trade="maçon"),
        lambda s: new_draft(s, "c", 2, centre_name="CFA d'Auxerre"),
        lambda s: new_draft(s, "d", 3),
        lambda s: new_draft(s, "old", 4, updated_at=long_ago),
        lambda s: set_fields(s, "a", trade="pâtissière"),  # the apprentice changes their mind
        lambda s: set_fields(s, "b", centre_name="CFA de Dijon", trade="maçonne"),
        transition("submit", "a"),
        transition("submit", "b"),
        transition("submit", "c"),
        transition("submit", "d"),
        transition("approve", "a", *MOD),
        transition("refuse", "b", *MOD, "blurry"),
        transition("undo_decision", "b"),
        transition("approve", "b", *MOD),
        transition("claim_for_publishing", "a"),
        transition("mark_needs_check", "a"),
        transition("mark_published", "a", 42),
        transition("claim_for_publishing", "b"),
        transition("release_claim", "b"),
        transition("claim_for_publishing", "b"),
        transition("hold", "b", "too big"),
        transition("requeue", "b"),
        transition("claim_for_publishing", "b"),
        transition("mark_published", "b", 43),
        transition("unpublish", "a", *MOD),
        transition("approve", "c", *MOD),
        lambda s: set_fields(s, "c", trade="couvreur"),  # fixed by hand after a decision
        lambda s: lc.refuse_banned(s, 2, *MOD),
        lambda s: ban_apprentice(s, 2, 7),
        lambda s: delete_draft(s, ids["old"]),
        lambda s: expire_drafts(s, utcnow() - timedelta(days=1)),
        lambda s: purge_refused(s, utcnow() + timedelta(days=1), []),
        # Bulk statements, as a later rule or an operator might write them.
        lambda s: s.execute(
            update(Submission).where(Submission.status == S.DRAFT).values(centre_name="CFA X")
        ),
        # Decision times in every bucket tier, below zero and past the cap.
        *(set_decision(value) for value in (12.5, -3.0, 90_000.0, 5e6, 1e12, 61.0, None, 7200.0)),
        lambda s: delete_apprentice_data(s, 3),  # /supprimer
        lambda s: s.execute(delete(Apprentice).where(Apprentice.id == 4)),  # FK cascade
        lambda s: purge_campaign(s, []),
        lambda s: s.execute(delete(Submission)),
    ]
    for step in steps:
        await run_and_check(session_factory, step)
    async with session_factory() as session:
        assert await recount(session) == {}


async def test_a_rolled_back_change_leaves_the_counters(
    session_factory: async_sessionmaker[AsyncSession], add_submission: AddSubmission
) -> None:
    entry = await add_submission(S.PENDING)
    async with session_factory() as session:
        before = await counters(session)
        assert await lc.approve(session, entry.id, *MOD)
        assert await counters(session) != before
        await session.rollback()
        assert await counters(session) == before == await recount(session)


async def test_migration_counts_existing_entries_and_goes_back(
    engine: AsyncEngine, add_submission: AddSubmission
) -> None:
    """0007 back-fills from the rows already there; its downgrade drops table and triggers."""
    await add_submission(S.PUBLISHED, decided_at=utcnow(), submitted_at=utcnow())
    await add_submission(S.REFUSED, trade="maçon")
    await add_submission(S.DRAFT)
    await downgrade(engine, "0006")
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE submissions SET trade = 'couvreur' WHERE status = 'draft'")
        )
    await upgrade(engine)
    sessions = async_sessionmaker(engine)
    async with sessions() as session:
        counted = await counters(session)
        assert counted == await recount(session)
    assert counted[("trade", "couvreur", "draft")] == 1
    assert counted[("centre", "CFA de Dijon", "published")] == 1
    assert counted[("decision", 0)] == 1


@pytest.mark.parametrize("statuses", [[S.PENDING] * 3, [S.APPROVED, S.REFUSED]])
async def test_counters_hold_for_bulk_inserts(
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
    statuses: list[SubmissionStatus],
) -> None:
    await add_submission(S.DRAFT)
    rows = [
        {
            "apprentice_id": 1001,
            "status": status,
            "trade": f"métier {i % 2}",
            "centre_name": "CFA",
            "language": "fr",
            "age_band": "adult",
            "consent_at": utcnow(),
        }
        for i, status in enumerate(statuses)
    ]
    await run_and_check(session_factory, lambda s: s.execute(Submission.__table__.insert(), rows))
