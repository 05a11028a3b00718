"""The consent register: every entry that is or was public, for the organiser's export
(:mod:`bot.ops.export`). Read only: nothing here writes or commits.

Two SELECTs: the entries still in the database (:func:`models.retention.was_public`) with
the audit rows of their approval and of their removal from the channel, and the "erased"
audit rows of entries an apprentice erased (the entry itself is gone: only its number and
the date remain).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.retention import was_public
from models.tables import AuditAction, ModerationAudit, Submission
from models.tables import SubmissionStatus as S


class RegisterStatus(enum.StrEnum):
    """Where a register entry stands."""

    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"
    """Was on the channel and is no longer (a moderator took it off)."""
    NEEDS_CHECK = "needs_check"
    """A send's outcome was unknown: may be on the channel."""
    PUBLISHING = "publishing"
    """Being sent right now (or a crash left it so): may be on the channel."""
    ERASED = "erased"
    """Erased by the apprentice: nothing but the number and the date is left."""


_AS_IS = {
    S.PUBLISHED: RegisterStatus.PUBLISHED,
    S.NEEDS_CHECK: RegisterStatus.NEEDS_CHECK,
    S.PUBLISHING: RegisterStatus.PUBLISHING,
}


@dataclass(frozen=True)
class RegisterLine:
    """One line of the register. An erased entry has only ``entry``, ``status`` and
    ``removed_at``; ``display_name`` None means the apprentice chose to be anonymous."""

    entry: int
    status: RegisterStatus
    display_name: str | None = None
    trade: str | None = None
    centre: str | None = None
    consent_at: datetime | None = None
    consent_version: str | None = None
    age_band: str | None = None
    guardian_confirmed_at: datetime | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    published_at: datetime | None = None
    removed_at: datetime | None = None
    """When it left the channel: the unpublishing, or the erasure."""
    channel_message_id: int | None = None
    photo_path: str | None = None
    """Processed photo (relative to the storage path); None once retention removed it."""


def _latest(action: AuditAction) -> ScalarSelect[int]:
    """Id of the entry's latest audit row of ``action``, correlated to ``Submission``.

    Only rows written since the entry was created count: SQLite may give an erased entry's
    number to a later one, and the audit keeps the old entry's rows.
    """
    return (
        select(func.max(ModerationAudit.id))
        .where(
            ModerationAudit.submission_id == Submission.id,
            ModerationAudit.action == action.value,
            ModerationAudit.created_at >= Submission.created_at,
        )
        .correlate(Submission)
        .scalar_subquery()
    )


async def register_lines(session: AsyncSession) -> list[RegisterLine]:
    """The register, by entry number (an erased entry before a later one that reuses its
    number, which SQLite may do)."""
    approval = aliased(ModerationAudit, name="approval")
    removal = aliased(ModerationAudit, name="removal")
    entries = (
        select(
            Submission,
            approval.moderator_name.label("approved_by"),
            approval.created_at.label("approval_at"),
            removal.created_at.label("removal_at"),
        )
        .select_from(Submission)
        .outerjoin(approval, approval.id == _latest(AuditAction.APPROVE))
        .outerjoin(removal, removal.id == _latest(AuditAction.UNPUBLISH))
        .where(was_public())
        .order_by(Submission.id)
    )
    lines = [
        _line(row.Submission, row.approved_by, row.approval_at, row.removal_at)
        for row in (await session.execute(entries)).all()
    ]
    erased = (
        select(ModerationAudit.submission_id, func.max(ModerationAudit.created_at).label("at"))
        .where(
            ModerationAudit.action == AuditAction.ERASED.value,
            ModerationAudit.submission_id.is_not(None),
        )
        .group_by(ModerationAudit.submission_id)
    )
    for number, at in (await session.execute(erased)).all():
        assert number is not None  # the WHERE above
        lines.append(RegisterLine(number, RegisterStatus.ERASED, removed_at=at))
    lines.sort(key=lambda line: (line.entry, line.status is not RegisterStatus.ERASED))
    return lines


def _line(
    entry: Submission,
    approved_by: str | None,
    approval_at: datetime | None,
    removal_at: datetime | None,
) -> RegisterLine:
    status = _AS_IS.get(entry.status, RegisterStatus.UNPUBLISHED)
    removed_at = None
    if status is RegisterStatus.UNPUBLISHED:
        # The unpublish's audit row; the decision's time if that row is missing.
        fallback = entry.decided_at if entry.refusal_reason == "unpublished" else None
        removed_at = removal_at or fallback
    return RegisterLine(
        entry=entry.id,
        status=status,
        display_name=entry.display_name,
        trade=entry.trade,
        centre=entry.centre_name,
        consent_at=entry.consent_at,
        consent_version=entry.consent_version,
        age_band=entry.age_band.value,
        guardian_confirmed_at=entry.guardian_confirmed_at,
        approved_by=approved_by,
        approved_at=approval_at or entry.approved_at,
        published_at=entry.published_at,
        removed_at=removed_at,
        channel_message_id=entry.channel_message_id,
        photo_path=entry.photo_path,
    )
