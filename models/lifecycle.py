"""Every status change of a submission: the state machine and its transitions.

Each transition is ONE conditional UPDATE::

    UPDATE submissions SET status=:to, … WHERE id=:id AND status IN (:allowed_from)

and returns True when this caller won (exactly one row changed). Two moderators clicking
at once, or two publisher ticks, therefore yield exactly one winner on SQLite and on
PostgreSQL; the loser gets False and nothing changes. Nothing else in the code base may
assign ``Submission.status``.

The functions do not commit: the caller owns the unit of work and commits (a win is only
durable after the commit). Call them early in the transaction, before slow work such as
Telegram requests, so that row locks are held briefly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Float, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from models.base import UTCDateTime, utcnow
from models.tables import Apprentice, Submission, SubmissionStatus

S = SubmissionStatus

# The whole state machine: transition → the statuses it may start from.
ALLOWED_FROM: dict[str, frozenset[SubmissionStatus]] = {
    "submit": frozenset({S.DRAFT}),
    "approve": frozenset({S.PENDING}),
    "refuse": frozenset({S.PENDING}),
    # Back to the moderators' queue: never once publishing started.
    "undo_decision": frozenset({S.APPROVED, S.REFUSED, S.HELD}),
    "claim_for_publishing": frozenset({S.APPROVED}),
    # needs_check is settled by a moderator: the post forwarded here, or "not posted".
    "mark_published": frozenset({S.PUBLISHING, S.NEEDS_CHECK}),
    "release_claim": frozenset({S.PUBLISHING}),  # only the publisher that claimed it
    "requeue": frozenset({S.NEEDS_CHECK, S.HELD}),  # a moderator: "not posted, queue again"
    "hold": frozenset({S.PUBLISHING}),
    "mark_needs_check": frozenset({S.PUBLISHING}),
    "refuse_banned": frozenset({S.PENDING, S.APPROVED, S.HELD}),
    "unpublish": frozenset({S.PUBLISHED}),  # a moderator took the post off the channel
}

PHOTO_MISSING = "photo_missing"
"""``held_reason`` of an entry whose processed photo is no longer on disk."""


class seconds_since(FunctionElement[float]):
    """``seconds_since(start, end)``: seconds from timestamp column ``start`` to ``end``.

    One construct, one rendering per backend (like :class:`models.dhash.dhash_distance`).
    On SQLite, :class:`models.base.UTCDateTime` stores "YYYY-MM-DD HH:MM:SS.ffffff" UTC
    text, which ``julianday`` reads (to the millisecond); a bound ``end`` is rendered the
    same way by the type. Frozen copies live in migration 0003 (its back-fill).
    """

    type = Float()
    name = "seconds_since"
    inherit_cache = True


@compiles(seconds_since, "sqlite")
def _seconds_since_sqlite(element: seconds_since, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


@compiles(seconds_since, "postgresql")
def _seconds_since_postgresql(element: seconds_since, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


def _decision_seconds(now: datetime) -> ColumnElement[float]:
    """SQL value of ``decision_seconds`` for a decision taken at ``now`` (NULL if the row
    has no ``submitted_at``)."""
    return seconds_since(Submission.submitted_at, literal(now, UTCDateTime()))


def _decided(now: datetime, moderator_id: int, moderator_name: str) -> dict[str, Any]:
    """The columns every decision sets: when, how long after submission, and who."""
    return {
        "decided_at": now,
        "decision_seconds": _decision_seconds(now),
        "decided_by": moderator_id,
        "decided_by_name": moderator_name,
    }


async def _transition(
    session: AsyncSession,
    submission_id: int,
    name: str,
    to: SubmissionStatus,
    now: datetime,
    *conditions: ColumnElement[bool],
    **values: Any,
) -> bool:
    """Move ``submission_id`` to ``to`` if its status allows transition ``name`` (and the
    row meets ``conditions``)."""
    allowed = sorted(ALLOWED_FROM[name])
    statement = (
        update(Submission)
        .where(Submission.id == submission_id, Submission.status.in_(allowed), *conditions)
        .values(status=to, updated_at=now, **values)
        # Refresh objects already loaded in this session from the rows really changed.
        .execution_options(synchronize_session="fetch")
    )
    result = cast("CursorResult[Any]", await session.execute(statement))
    return result.rowcount == 1


async def submit(session: AsyncSession, submission_id: int) -> bool:
    """draft → pending: the apprentice confirmed the preview."""
    now = utcnow()
    return await _transition(session, submission_id, "submit", S.PENDING, now, submitted_at=now)


async def approve(
    session: AsyncSession, submission_id: int, moderator_id: int, moderator_name: str
) -> bool:
    """pending → approved: enters the publishing queue (ordered by ``approved_at``)."""
    now = utcnow()
    return await _transition(
        session,
        submission_id,
        "approve",
        S.APPROVED,
        now,
        **_decided(now, moderator_id, moderator_name),
        refusal_reason=None,
        approved_at=now,
    )


async def refuse(
    session: AsyncSession,
    submission_id: int,
    moderator_id: int,
    moderator_name: str,
    reason: str,
) -> bool:
    """pending → refused, with the reason told to the apprentice."""
    now = utcnow()
    return await _transition(
        session,
        submission_id,
        "refuse",
        S.REFUSED,
        now,
        **_decided(now, moderator_id, moderator_name),
        refusal_reason=reason,
        approved_at=None,
    )


async def undo_decision(session: AsyncSession, submission_id: int) -> bool:
    """approved | refused | held → pending: a moderator takes a decision back (the audit
    keeps it); the entry leaves the publishing queue."""
    return await _transition(
        session,
        submission_id,
        "undo_decision",
        S.PENDING,
        utcnow(),
        decided_at=None,
        decision_seconds=None,
        decided_by=None,
        decided_by_name=None,
        refusal_reason=None,
        approved_at=None,
        held_reason=None,
    )


def not_banned() -> ColumnElement[bool]:
    """The entry's apprentice is not banned (a ban stops publication, even mid-queue)."""
    banned = select(Apprentice.id).where(
        Apprentice.id == Submission.apprentice_id, Apprentice.banned_at.is_not(None)
    )
    return ~banned.exists()


async def claim_for_publishing(session: AsyncSession, submission_id: int) -> bool:
    """approved → publishing, unless the apprentice is banned: the publisher owns the entry
    until it is sent, released, held or left for a check."""
    now = utcnow()
    return await _transition(
        session,
        submission_id,
        "claim_for_publishing",
        S.PUBLISHING,
        now,
        not_banned(),
        publishing_started_at=now,
    )


async def mark_published(
    session: AsyncSession, submission_id: int, channel_message_id: int | None
) -> bool:
    """publishing | needs_check → published.

    False means the entry is gone meanwhile (erased by its apprentice while it was being
    sent): the caller must then delete the channel post it just made.
    """
    now = utcnow()
    return await _transition(
        session,
        submission_id,
        "mark_published",
        S.PUBLISHED,
        now,
        published_at=now,
        channel_message_id=channel_message_id,
    )


async def release_claim(session: AsyncSession, submission_id: int) -> bool:
    """publishing → approved: Telegram proved nothing was posted (429, connection refused):
    back at its place in the queue."""
    return await _transition(
        session,
        submission_id,
        "release_claim",
        S.APPROVED,
        utcnow(),
        publishing_started_at=None,
    )


async def requeue(session: AsyncSession, submission_id: int) -> bool:
    """needs_check | held → approved: a moderator found no post in the channel (or wants a
    refused post tried again); it goes back at its place in the queue."""
    return await _transition(
        session,
        submission_id,
        "requeue",
        S.APPROVED,
        utcnow(),
        publishing_started_at=None,
        held_reason=None,
    )


async def hold(session: AsyncSession, submission_id: int, reason: str) -> bool:
    """publishing → held: Telegram refused this entry's post (not the channel): it leaves the
    queue so the next entry can go, and the moderators see ``reason`` on the card."""
    return await _transition(
        session,
        submission_id,
        "hold",
        S.HELD,
        utcnow(),
        publishing_started_at=None,
        held_reason=reason,
    )


async def mark_needs_check(session: AsyncSession, submission_id: int) -> bool:
    """publishing → needs_check: unknown whether the post went out (a time-out, a lost
    connection, a 5xx after sending); a moderator decides, it is never re-sent alone."""
    return await _transition(session, submission_id, "mark_needs_check", S.NEEDS_CHECK, utcnow())


async def refuse_banned(
    session: AsyncSession,
    apprentice_id: int,
    moderator_id: int,
    moderator_name: str,
) -> list[int]:
    """pending | approved | held → refused ("banned") for every entry of one apprentice:
    a ban empties their part of both queues. The ids refused.

    One UPDATE … RETURNING (SQLite >= 3.35, PostgreSQL): the ids are exactly the rows this
    call changed, even if a moderator decides one of them at the same moment.
    """
    now = utcnow()
    statement = (
        update(Submission)
        .where(
            Submission.apprentice_id == apprentice_id,
            Submission.status.in_(sorted(ALLOWED_FROM["refuse_banned"])),
        )
        .values(
            status=S.REFUSED,
            updated_at=now,
            **_decided(now, moderator_id, moderator_name),
            refusal_reason="banned",
            approved_at=None,
            held_reason=None,
        )
        .returning(Submission.id)
        .execution_options(synchronize_session="fetch")
    )
    return sorted((await session.scalars(statement)).all())


async def unpublish(
    session: AsyncSession, submission_id: int, moderator_id: int, moderator_name: str
) -> bool:
    """published → refused with reason "unpublished": a moderator removed the post.

    ``channel_message_id`` and ``published_at`` are kept: the caller deletes the channel
    post with the former, and the row still tells that it was once published.
    """
    now = utcnow()
    return await _transition(
        session,
        submission_id,
        "unpublish",
        S.REFUSED,
        now,
        **_decided(now, moderator_id, moderator_name),
        refusal_reason="unpublished",
    )
