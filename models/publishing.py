"""Queries of the publishing queue: what goes next, where an entry stands, what is unsure.

Status changes stay in :mod:`models.lifecycle`. Nothing here commits: the caller owns the
unit of work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.lifecycle import not_banned
from models.settings import CHANNEL_LAST_POST, get_setting, set_setting
from models.tables import Removal, Submission, SubmissionStatus

S = SubmissionStatus


def _oldest_approved(*conditions: Any) -> Any:
    """Scalar subquery: id of the oldest approved entry meeting ``conditions``.

    Walks ``ix_submissions_status_approved_at_id`` in order and stops at the first match.
    """
    return (
        select(Submission.id)
        .where(Submission.status == S.APPROVED, not_banned(), *conditions)
        .order_by(Submission.approved_at, Submission.id)
        .limit(1)
        .scalar_subquery()
    )


async def next_to_publish(session: AsyncSession, *, avoid_trade: str | None = None) -> int | None:
    """Id of the next entry to publish: the oldest approved one, preferring another trade.

    With ``avoid_trade`` (the trade just published, for ``ordering = "rotate_trades"``)
    the oldest approved entry of a different trade wins; when only that trade waits, its
    oldest entry is taken anyway, so the queue never stalls. One round trip.
    """
    oldest = _oldest_approved()
    if avoid_trade is None:
        return cast("int | None", await session.scalar(select(oldest)))
    other_trade = _oldest_approved(Submission.trade != avoid_trade)
    # COALESCE of two index walks, each stopping at its first row.
    return cast("int | None", await session.scalar(select(func.coalesce(other_trade, oldest))))


async def last_published_trade(session: AsyncSession) -> str | None:
    """Trade of the entry published most recently (None before the first publication)."""
    statement = (
        select(Submission.trade)
        .where(Submission.status == S.PUBLISHED)
        .order_by(Submission.published_at.desc(), Submission.id.desc())
        .limit(1)
    )
    return cast("str | None", await session.scalar(statement))


async def queue_position(session: AsyncSession, submission_id: int) -> int | None:
    """How many approved entries will be posted before this one (None if not approved)."""
    entry = await session.get(Submission, submission_id)
    if entry is None or entry.status != S.APPROVED or entry.approved_at is None:
        return None
    earlier = select(func.count()).where(
        Submission.status == S.APPROVED,
        (Submission.approved_at < entry.approved_at)
        | ((Submission.approved_at == entry.approved_at) & (Submission.id < entry.id)),
    )
    return int(await session.scalar(earlier) or 0)


async def needs_check_entries(session: AsyncSession) -> list[Submission]:
    """Entries whose post may or may not be on the channel, oldest first."""
    statement = select(Submission).where(Submission.status == S.NEEDS_CHECK).order_by(Submission.id)
    return list(await session.scalars(statement))


async def last_channel_post(session: AsyncSession, channel: str) -> int:
    """The highest id of the bot's posts on ``channel`` it knows of: recorded with each post,
    or, before that was kept, the highest of the entries' and of the removals' (0: none)."""
    recorded = await get_setting(session, CHANNEL_LAST_POST)
    if recorded is not None and recorded.get("chat") == channel:
        return int(recorded["id"])
    entries = await session.scalar(select(func.max(Submission.channel_message_id)))
    removals = await session.scalar(
        select(func.max(Removal.message_id)).where(Removal.chat == channel)
    )
    return max(entries or 0, removals or 0)


async def note_channel_post(session: AsyncSession, channel: str, message_id: int) -> None:
    """Remember a post of the bot's on ``channel`` (the highest one is kept)."""
    highest = max(await last_channel_post(session, channel), message_id)
    await set_setting(session, CHANNEL_LAST_POST, {"chat": channel, "id": highest})


async def posts_after(session: AsyncSession, message_id: int) -> set[int]:
    """The entries' recorded posts after ``message_id`` (a moderator's forward records one
    the bot had not counted)."""
    found = await session.scalars(
        select(Submission.channel_message_id).where(Submission.channel_message_id > message_id)
    )
    return {value for value in found.all() if value is not None}


async def recorded_as(session: AsyncSession, submission_id: int) -> int | None:
    """The channel post recorded for the entry, if it is published."""
    return cast(
        "int | None",
        await session.scalar(
            select(Submission.channel_message_id).where(
                Submission.id == submission_id, Submission.status == S.PUBLISHED
            )
        ),
    )


async def interrupted_entries(
    session: AsyncSession, claimed_before: datetime | None = None
) -> list[Submission]:
    """The entries left ``publishing`` (sent or not, unknown) by a stop, or, with
    ``claimed_before``, by a publication that failed before it could record its outcome."""
    statement = select(Submission).where(Submission.status == S.PUBLISHING)
    if claimed_before is not None:
        statement = statement.where(Submission.publishing_started_at < claimed_before)
    return list((await session.scalars(statement.order_by(Submission.id))).all())


async def unsure_entries(session: AsyncSession, besides: int) -> list[Submission]:
    """The entries whose post may be on the channel unrecorded, but ``besides``."""
    statement = select(Submission).where(
        Submission.status.in_((S.NEEDS_CHECK, S.PUBLISHING)), Submission.id != besides
    )
    return list((await session.scalars(statement)).all())
