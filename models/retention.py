"""Retention: what the daily purge removes, one rule per function (see :mod:`bot.ops.retention`).

Every statement is conditional on the data being older than its limit, so a rule run twice,
or while the bot works, removes nothing new and nothing in use. Nothing here commits and
nothing touches files: the functions return the photo paths they freed, the caller
deletes the files after its commit.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, String, and_, case, delete, exists, or_, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from models.audit import record_audit
from models.base import utcnow
from models.state import USER_KIND
from models.tables import (
    Apprentice,
    AuditAction,
    BotState,
    ModerationAudit,
    ShownPhoto,
    Submission,
)
from models.tables import SubmissionStatus as S

SYSTEM_REASONS = frozenset({"banned", "unpublished", "withdrawn"})
"""Refusal reasons the bot itself writes (never typed by a moderator)."""

MAYBE_PUBLIC = (S.PUBLISHING, S.PUBLISHED, S.NEEDS_CHECK)


def was_public() -> ColumnElement[bool]:
    """Entries that are or were on the channel (or may be): the consent register's rows."""
    return or_(Submission.published_at.is_not(None), Submission.status.in_(MAYBE_PUBLIC))


def was_public_entry(entry: Submission) -> bool:
    """:func:`was_public` for a row in hand."""
    return entry.published_at is not None or entry.status in MAYBE_PUBLIC


async def note_erased(
    session: AsyncSession, entries: Collection[Submission], listed_reasons: Collection[str]
) -> None:
    """After an erasure of ``entries``: the audit forgets the reasons moderators typed about
    them (it keeps who decided what and when), and keeps, for each entry that was public,
    the consent register's line "erased"."""
    await blank_typed_reasons(session, listed_reasons, submission_ids=[e.id for e in entries])
    for entry in entries:
        if was_public_entry(entry):
            await record_audit(
                session, AuditAction.ERASED, moderator_id=None, submission_id=entry.id
            )


def _rowcount(result: Any) -> int:
    return int(cast("CursorResult[Any]", result).rowcount or 0)


async def expire_drafts(session: AsyncSession, before: datetime) -> list[str]:
    """Delete drafts untouched since ``before`` whose apprentice has been silent since then
    too (answering questions changes only their conversation state); their photo paths."""
    active = exists().where(
        BotState.kind == USER_KIND,
        BotState.key == sql_cast(Submission.apprentice_id, String),
        BotState.updated_at >= before,
    )
    statement = (
        delete(Submission)
        .where(Submission.status == S.DRAFT, Submission.updated_at < before, ~active)
        .returning(Submission.photo_path)
    )
    return [path for path in (await session.scalars(statement)).all() if path]


async def expire_conversations(session: AsyncSession, before: datetime) -> list[int]:
    """Forget the answers and conversation steps of apprentices silent since ``before``
    (their language choice stays); the ids of the apprentices whose answers went."""
    rows = (await session.execute(select(BotState.kind, BotState.key, BotState.updated_at))).all()
    last_seen: dict[int, datetime] = {}
    for kind, key, updated_at in rows:
        user = _user_of(kind, key)
        if user is not None:
            last_seen[user] = max(updated_at, last_seen.get(user, updated_at))
    silent = {user for user, seen in last_seen.items() if seen < before}
    if not silent:
        return []
    forgotten: list[int] = []
    for kind, key, _ in rows:
        if _user_of(kind, key) not in silent:
            continue
        if kind != USER_KIND:
            await session.execute(
                delete(BotState).where(BotState.kind == kind, BotState.key == key)
            )
            continue
        state = await session.get(BotState, (kind, key))
        if state is None or "entry" not in state.data:
            continue
        rest = {name: value for name, value in state.data.items() if name != "entry"}
        if rest:
            state.data = rest
        else:
            await session.delete(state)
        forgotten.append(int(key))
    return sorted(forgotten)


def _user_of(kind: str, key: str) -> int | None:
    """The apprentice a state row belongs to (user rows, and private conversations keyed
    ``[chat, user]``)."""
    if kind == USER_KIND:
        return int(key)
    if kind.startswith("conversation:"):
        parts = json.loads(key)
        return int(parts[-1]) if parts else None
    return None


def _kept_reason(keep: Collection[str]) -> ColumnElement[Any]:
    """The refusal reason if it is a listed code, else NULL (typed text may quote a person)."""
    listed = [*SYSTEM_REASONS, *keep]
    return case((Submission.refusal_reason.in_(listed), Submission.refusal_reason), else_=None)


_PHOTO_GONE = {
    "photo_path": None,
    "photo_file_id": None,
    "source_file_unique_id": None,
    "dhash": None,
    "sharpness": None,
    "brightness": None,
    "burnt": None,
    "faces": None,
    "face_width": None,
    "bystanders": None,
    "quote": None,
}


async def purge_refused(
    session: AsyncSession, before: datetime, listed_reasons: Collection[str]
) -> tuple[int, list[str]]:
    """Refused entries decided before ``before`` lose photo, quote and typed reason (and
    the name unless they were public: the register keeps it); how many, and their photo
    paths.

    Trade, centre and dates stay for the statistics; the audit keeps who decided.
    """
    selected = select(Submission.id, Submission.photo_path).where(
        Submission.status == S.REFUSED,
        Submission.decided_at < before,
        Submission.purged_at.is_(None),
    )
    rows = (await session.execute(selected)).all()
    if not rows:
        return 0, []
    ids = [row.id for row in rows]
    now = utcnow()
    await session.execute(
        update(Submission)
        .where(Submission.id.in_(ids), Submission.purged_at.is_(None))
        .values(
            **_PHOTO_GONE,
            display_name=case((was_public(), Submission.display_name), else_=None),
            refusal_reason=_kept_reason(listed_reasons),
            purged_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    await blank_typed_reasons(session, listed_reasons, submission_ids=ids)
    return len(rows), [row.photo_path for row in rows if row.photo_path]


async def blank_typed_reasons(
    session: AsyncSession,
    listed_reasons: Collection[str],
    *,
    submission_ids: Collection[int] | None = None,
) -> int:
    """Blank the refusal reasons moderators typed (of these entries, or all); the audit
    keeps who decided what and when. The number of rows blanked."""
    listed = [*SYSTEM_REASONS, *listed_reasons]
    condition = and_(
        ModerationAudit.action == AuditAction.REFUSE.value,
        ModerationAudit.reason.is_not(None),
        ModerationAudit.reason.not_in(listed),
    )
    if submission_ids is not None:
        condition = and_(condition, ModerationAudit.submission_id.in_(list(submission_ids)))
    result = await session.execute(
        update(ModerationAudit)
        .where(condition)
        .values(reason=None)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


async def purge_campaign(
    session: AsyncSession, listed_reasons: Collection[str]
) -> tuple[int, int, list[str]]:
    """The campaign's retention is over: every entry that was never public is deleted, the
    others keep only their consent register's fields, profiles lose names, conversation
    states and the record of photos shown in chats go. Returns (entries deleted, entries
    reduced to the register, photo paths)."""
    deleted = (
        await session.execute(
            delete(Submission).where(~was_public()).returning(Submission.photo_path)
        )
    ).all()
    paths = [row.photo_path for row in deleted if row.photo_path]
    public = (
        await session.execute(
            select(Submission.id, Submission.photo_path).where(Submission.purged_at.is_(None))
        )
    ).all()
    now = utcnow()
    if public:
        await session.execute(
            update(Submission)
            .where(Submission.id.in_([row.id for row in public]))
            .values(
                **_PHOTO_GONE,
                refusal_reason=_kept_reason(listed_reasons),
                held_reason=None,
                purged_at=now,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        paths += [row.photo_path for row in public if row.photo_path]
    await blank_typed_reasons(session, listed_reasons)
    await session.execute(
        update(Apprentice)
        .where(or_(Apprentice.first_name != "", Apprentice.username.is_not(None)))
        .values(first_name="", username=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    has_entries = exists().where(Submission.apprentice_id == Apprentice.id)
    await session.execute(delete(Apprentice).where(Apprentice.banned_at.is_(None), ~has_entries))
    await session.execute(delete(BotState))
    await session.execute(delete(ShownPhoto))
    return len(deleted), len(public), paths
