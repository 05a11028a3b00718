"""Removals owed: Telegram messages (channel posts, moderation cards) that must go.

A removal is written in the same transaction that deletes or unpublishes the entry, so the
obligation can never be lost between the database and Telegram; it is deleted only once the
message is known to be gone. Nothing here commits: the caller owns the unit of work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import ROW_ID_MAX
from models.tables import Removal, Submission, SubmissionStatus

S = SubmissionStatus


async def owe_removal(
    session: AsyncSession,
    *,
    chat: str,
    message_id: int | None,
    kind: str,
    submission_id: int | None,
    cause: str,
    sent_at: datetime | None = None,
    by_hand: bool = False,
) -> Removal:
    """Record that a message must go. ``message_id=None`` is a post whose id is not known:
    still being sent (its answer will fill it in, see :func:`found_post`), or lost
    (``by_hand``: only a moderator can find it, ``sent_at`` helps)."""
    removal = Removal(
        chat=chat,
        message_id=message_id,
        kind=kind,
        submission_id=submission_id,
        cause=cause,
        by_hand=by_hand,
        photo_hidden=False,
        attempts=0,
        sent_at=sent_at,
    )
    session.add(removal)
    await session.flush()
    return removal


async def owe_removals_of(
    session: AsyncSession, entry: Submission, *, channel: str, card_chat: str, cause: str
) -> list[Removal]:
    """What an entry left on Telegram: its card (and a copy whose send was not confirmed),
    and its post if it was (or may have been) posted. ``channel`` and ``card_chat`` are the
    channel and the moderation group as the configuration names them."""
    owed = []
    if entry.moderation_message_id and entry.moderation_chat_id:
        owed.append(
            await owe_removal(
                session,
                chat=str(entry.moderation_chat_id),
                message_id=entry.moderation_message_id,
                kind="card",
                submission_id=entry.id,
                cause=cause,
            )
        )
    maybe_posted = entry.status in (S.PUBLISHED, S.PUBLISHING, S.NEEDS_CHECK)
    if entry.channel_message_id or maybe_posted:
        owed.append(
            await owe_removal(
                session,
                chat=channel,
                message_id=entry.channel_message_id,
                kind="post",
                submission_id=entry.id,
                cause=cause,
                sent_at=entry.publishing_started_at,
                # Being sent: the publisher will learn the id. Otherwise it is lost.
                by_hand=entry.channel_message_id is None and entry.status != S.PUBLISHING,
            )
        )
    if entry.card_lost:  # a copy of the card the bot never heard of may be in the group
        owed.append(
            await owe_removal(
                session,
                chat=card_chat,
                message_id=None,
                kind="card",
                submission_id=entry.id,
                cause=cause,
                by_hand=True,
            )
        )
    return owed


async def found_post(
    session: AsyncSession, submission_id: int, chat: str, message_id: int
) -> Removal:
    """The post of an erased entry turned up (its send answered after the erasure): the
    removal that did not know its id gets it back, or a new one is owed."""
    waiting = await session.scalar(
        select(Removal)
        .where(
            Removal.submission_id == submission_id,
            Removal.kind == "post",
            Removal.message_id.is_(None),
        )
        .limit(1)
    )
    if waiting is None:
        return await owe_removal(
            session,
            chat=chat,
            message_id=message_id,
            kind="post",
            submission_id=submission_id,
            cause="erased",
        )
    waiting.chat, waiting.message_id, waiting.by_hand = chat, message_id, False
    await session.flush()
    return waiting


async def lost_post(session: AsyncSession, submission_id: int) -> list[int]:
    """The send of an erased entry's post got no answer: only a moderator can find it."""
    statement = (
        update(Removal)
        .where(
            Removal.submission_id == submission_id,
            Removal.kind == "post",
            Removal.message_id.is_(None),
        )
        .values(by_hand=True)
        .returning(Removal.id)
    )
    return list((await session.scalars(statement)).all())


async def get_removal(session: AsyncSession, removal_id: int) -> Removal | None:
    """The removal, or None, also for an id no row can have (see :data:`ROW_ID_MAX`)."""
    if not 0 < removal_id <= ROW_ID_MAX:
        return None
    return await session.get(Removal, removal_id)


async def removals_owed(session: AsyncSession, limit: int = 50) -> list[Removal]:
    """Every removal still owed, oldest first (the retry job's work)."""
    statement = select(Removal).order_by(Removal.id).limit(limit)
    return list((await session.scalars(statement)).all())


async def record_attempt(
    session: AsyncSession,
    removal_id: int,
    *,
    photo_hidden: bool,
    by_hand: bool,
    error: str | None,
) -> None:
    await session.execute(
        update(Removal)
        .where(Removal.id == removal_id)
        .values(
            photo_hidden=photo_hidden,
            by_hand=by_hand,
            last_error=error,
            attempts=Removal.attempts + 1,
        )
    )


async def mark_told(session: AsyncSession, removal_id: int, message_id: int) -> None:
    """The moderators were asked to remove it by hand, in message ``message_id``."""
    await session.execute(
        update(Removal).where(Removal.id == removal_id).values(told_message_id=message_id)
    )


async def settle(session: AsyncSession, removal_id: int) -> bool:
    """The message is gone: forget it. False if another caller settled it first."""
    result = cast(
        "CursorResult[Any]", await session.execute(delete(Removal).where(Removal.id == removal_id))
    )
    return result.rowcount == 1
