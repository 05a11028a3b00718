"""Lifecycle transitions: allowed ones change the row, forbidden ones change nothing, and
concurrent callers get exactly one winner."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Submission, SubmissionStatus, lifecycle

if TYPE_CHECKING:
    from tests.support.data import AddSubmission

S = SubmissionStatus
Transition = Callable[[AsyncSession, int], Awaitable[bool]]

# How to call each transition, and the status it leads to.
TRANSITIONS: dict[str, tuple[Transition, SubmissionStatus]] = {
    "submit": (lifecycle.submit, S.PENDING),
    "approve": (lambda s, i: lifecycle.approve(s, i, 7, "Max"), S.APPROVED),
    "refuse": (lambda s, i: lifecycle.refuse(s, i, 7, "Max", "photo floue"), S.REFUSED),
    "undo_decision": (lifecycle.undo_decision, S.PENDING),
    "claim_for_publishing": (lifecycle.claim_for_publishing, S.PUBLISHING),
    "mark_published": (lambda s, i: lifecycle.mark_published(s, i, 555), S.PUBLISHED),
    "release_claim": (lifecycle.release_claim, S.APPROVED),
    "requeue": (lifecycle.requeue, S.APPROVED),
    "hold": (lambda s, i: lifecycle.hold(s, i, "Bad Request: wrong file identifier"), S.HELD),
    "mark_needs_check": (lifecycle.mark_needs_check, S.NEEDS_CHECK),
    "refuse_banned": (lambda s, i: _refuse_banned(s, i), S.REFUSED),
    "unpublish": (lambda s, i: lifecycle.unpublish(s, i, 7, "Max"), S.REFUSED),
}


async def _refuse_banned(session: AsyncSession, submission_id: int) -> bool:
    """The ban's transition, for the one entry of apprentice 1001 under test."""
    return await lifecycle.refuse_banned(session, 1001, 7, "Max") == [submission_id]


async def _row(session: AsyncSession, submission_id: int) -> dict[str, Any]:
    """All columns, read fresh from the database."""
    row = (
        await session.execute(select(Submission.__table__).where(Submission.id == submission_id))
    ).one()
    return dict(row._mapping)


# The policy, written out by hand from the lifecycle (DESIGN.md): the statuses each
# transition may start from. Not read from ALLOWED_FROM, so that a wrong policy fails.
STATUSES = (
    "draft",
    "pending",
    "approved",
    "refused",
    "publishing",
    "published",
    "needs_check",
    "held",
)
EXPECTED_FROM: dict[str, set[str]] = {
    "submit": {"draft"},
    "approve": {"pending"},
    "refuse": {"pending"},
    "undo_decision": {"approved", "refused", "held"},  # never once publishing started
    "claim_for_publishing": {"approved"},
    "mark_published": {"publishing", "needs_check"},  # needs_check: a moderator found it
    "release_claim": {"publishing"},
    "requeue": {"needs_check", "held"},
    "hold": {"publishing"},
    "mark_needs_check": {"publishing"},
    "refuse_banned": {"pending", "approved", "held"},
    "unpublish": {"published"},
}


def test_every_transition_and_status_is_in_the_table() -> None:
    assert set(TRANSITIONS) == set(EXPECTED_FROM) == set(lifecycle.ALLOWED_FROM)
    assert {status.value for status in SubmissionStatus} == set(STATUSES)


@pytest.mark.parametrize("name", sorted(TRANSITIONS))
async def test_transition_from_every_status(
    name: str,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    """Allowed start → True and the new status; any other start → False, row untouched."""
    transition, target = TRANSITIONS[name]
    for start in SubmissionStatus:
        submission = await add_submission(start)
        async with session_factory() as session:
            before = await _row(session, submission.id)
            won = await transition(session, submission.id)
            await session.commit()
            after = await _row(session, submission.id)
        allowed = start.value in EXPECTED_FROM[name]
        assert won is allowed, f"{name} from {start}"
        if allowed:
            assert after["status"] == target
            assert after["updated_at"] >= before["updated_at"]
        else:
            assert after == before, f"{name} from {start} changed the row"


async def test_unknown_id_is_no_win(session: AsyncSession) -> None:
    assert await lifecycle.approve(session, 123456, 7, "Max") is False


async def test_happy_path_fields(session: AsyncSession, add_submission: AddSubmission) -> None:
    submission = await add_submission(S.DRAFT)
    sid = submission.id

    assert await lifecycle.submit(session, sid)
    row = await _row(session, sid)
    assert row["submitted_at"] is not None

    assert await lifecycle.approve(session, sid, 7, "Max")
    row = await _row(session, sid)
    assert (row["decided_by"], row["decided_by_name"]) == (7, "Max")
    assert row["decided_at"] == row["approved_at"] is not None

    assert await lifecycle.claim_for_publishing(session, sid)
    assert (await _row(session, sid))["publishing_started_at"] is not None
    assert await lifecycle.release_claim(session, sid)
    assert (await _row(session, sid))["publishing_started_at"] is None

    assert await lifecycle.claim_for_publishing(session, sid)
    assert await lifecycle.mark_published(session, sid, 555)
    await session.commit()
    row = await _row(session, sid)
    assert row["status"] == S.PUBLISHED and row["channel_message_id"] == 555
    assert row["published_at"] is not None and row["published_at"].tzinfo is not None
    assert not await lifecycle.undo_decision(session, sid), "no undo once published"


async def test_refuse_then_undo_clears_the_decision(
    session: AsyncSession, add_submission: AddSubmission
) -> None:
    sid = (await add_submission()).id
    assert await lifecycle.refuse(session, sid, 7, "Max", "photo floue")
    row = await _row(session, sid)
    assert (row["refusal_reason"], row["decided_by"], row["approved_at"]) == (
        "photo floue",
        7,
        None,
    )

    assert await lifecycle.undo_decision(session, sid)
    row = await _row(session, sid)
    assert row["status"] == S.PENDING
    assert [row[k] for k in ("decided_at", "decided_by", "decided_by_name", "refusal_reason")] == [
        None
    ] * 4


async def test_loaded_objects_follow_the_transition(
    session: AsyncSession, add_submission: AddSubmission
) -> None:
    """A Submission already loaded in the session is not left showing the old status."""
    sid = (await add_submission()).id
    loaded = await session.get_one(Submission, sid)
    assert loaded.status is S.PENDING
    assert await lifecycle.approve(session, sid, 7, "Max")
    assert loaded.status is S.APPROVED and loaded.decided_by == 7


# --------------------------------------------------------------------------- races


async def _decide(
    session_factory: async_sessionmaker[AsyncSession],
    submission_id: int,
    decide: Transition,
    ready: asyncio.Barrier,
) -> bool:
    """What a moderation handler does: load the entry, then decide, then commit."""
    async with session_factory() as session:
        submission = await session.get_one(Submission, submission_id)
        assert submission.status is S.PENDING
        await ready.wait()  # both moderators have seen "pending"; now both click
        won = await decide(session, submission_id)
        await session.commit()
        return won


@pytest.mark.parametrize("rounds", [10])
async def test_concurrent_approve_and_refuse_have_one_winner(
    rounds: int,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    approve, _ = TRANSITIONS["approve"]
    refuse, _ = TRANSITIONS["refuse"]
    for _ in range(rounds):
        sid = (await add_submission()).id
        ready = asyncio.Barrier(2)
        approved, refused = await asyncio.wait_for(
            asyncio.gather(
                _decide(session_factory, sid, approve, ready),
                _decide(session_factory, sid, refuse, ready),
            ),
            timeout=30,
        )
        assert approved != refused, "exactly one winner"
        async with session_factory() as session:
            row = await _row(session, sid)
        assert row["status"] == (S.APPROVED if approved else S.REFUSED)
        assert (row["refusal_reason"] is None) == approved


async def test_concurrent_publisher_ticks_claim_once(
    session_factory: async_sessionmaker[AsyncSession], add_submission: AddSubmission
) -> None:
    sid = (await add_submission(S.APPROVED)).id
    ready = asyncio.Barrier(4)

    async def tick() -> bool:
        async with session_factory() as session:
            oldest = await session.scalar(
                select(Submission.id).where(Submission.status == S.APPROVED)
            )
            assert oldest == sid
            await ready.wait()  # every tick saw the same entry in the queue
            won = await lifecycle.claim_for_publishing(session, sid)
            await session.commit()
            return won

    results = await asyncio.wait_for(asyncio.gather(*(tick() for _ in range(4))), timeout=30)
    assert sorted(results) == [False, False, False, True]
