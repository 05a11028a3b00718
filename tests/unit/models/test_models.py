"""Models: time zones, dHash storage, constraints, cascades, settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import (
    AgeBand,
    Apprentice,
    ModerationAudit,
    Submission,
    SubmissionStatus,
    dhash_from_db,
    dhash_to_db,
)
from models.audit import record_audit
from models.settings import PUBLISHING_PAUSED, get_setting, set_setting

if TYPE_CHECKING:
    from tests.support.data import AddSubmission

PARIS_SUMMER = timezone(timedelta(hours=2))


async def test_aware_datetimes_round_trip_as_utc(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    banned_at = datetime(2026, 6, 1, 9, 30, 15, 123456, tzinfo=PARIS_SUMMER)
    async with session_factory() as session:
        session.add(Apprentice(id=1, first_name="Léa", banned_at=banned_at))
        await session.commit()
    async with session_factory() as session:
        apprentice = await session.get_one(Apprentice, 1)
    assert apprentice.banned_at == banned_at
    assert apprentice.banned_at is not None and apprentice.banned_at.tzinfo == UTC
    assert apprentice.banned_at.hour == 7 and apprentice.banned_at.microsecond == 123456
    assert apprentice.created_at.tzinfo == UTC


async def test_naive_datetimes_are_refused(session: AsyncSession) -> None:
    session.add(Apprentice(id=1, first_name="Léa", banned_at=datetime(2026, 6, 1, 9, 30)))
    with pytest.raises(StatementError, match="naive datetime"):
        await session.flush()


async def test_timestamps_compare_and_order_across_offsets(
    session: AsyncSession, add_submission: AddSubmission
) -> None:
    """08:00+02:00 is before 07:00Z: the database must agree (SQLite compares text)."""
    early = await add_submission(approved_at=datetime(2026, 6, 1, 8, 0, tzinfo=PARIS_SUMMER))
    late = await add_submission(approved_at=datetime(2026, 6, 1, 7, 0, tzinfo=UTC))
    ordered = await session.scalars(select(Submission.id).order_by(Submission.approved_at))
    assert ordered.all() == [early.id, late.id]
    cutoff = datetime(2026, 6, 1, 8, 30, tzinfo=PARIS_SUMMER)  # 06:30Z
    after = await session.scalars(select(Submission.id).where(Submission.approved_at > cutoff))
    assert after.all() == [late.id]


@pytest.mark.parametrize("unsigned", [0, 1, 2**63 - 1, 2**63, 0xF0E1D2C3B4A59687, 2**64 - 1])
def test_dhash_conversion_round_trips(unsigned: int) -> None:
    signed = dhash_to_db(unsigned)
    assert -(2**63) <= signed < 2**63
    assert dhash_from_db(signed) == unsigned


@pytest.mark.parametrize("bad", [-1, 2**64])
def test_dhash_conversion_refuses_out_of_range(bad: int) -> None:
    with pytest.raises(ValueError):
        dhash_to_db(bad)


async def test_extreme_dhashes_fit_the_column(
    session: AsyncSession, add_submission: AddSubmission
) -> None:
    for unsigned in (2**64 - 1, 2**63, 0):
        submission = await add_submission(dhash=dhash_to_db(unsigned))
        stored = await session.scalar(
            select(Submission.dhash).where(Submission.id == submission.id)
        )
        assert stored is not None and dhash_from_db(stored) == unsigned


async def test_status_is_an_enum_and_every_value_passes_the_check(
    session: AsyncSession, add_submission: AddSubmission
) -> None:
    """Also catches enum values added without a migration updating the CHECK."""
    for status in SubmissionStatus:
        submission = await add_submission(status)
        loaded = await session.scalar(
            select(Submission.status).where(Submission.id == submission.id)
        )
        assert loaded is status


async def test_unknown_status_is_refused_in_python(session: AsyncSession) -> None:
    with pytest.raises(StatementError):
        await session.execute(select(Submission).where(Submission.status == "lost"))


async def test_check_constraints_guard_raw_sql(
    session: AsyncSession, add_submission: AddSubmission
) -> None:
    submission = await add_submission()
    for sql in (
        "UPDATE submissions SET status = 'lost' WHERE id = :id",
        "UPDATE submissions SET age_band = 'child' WHERE id = :id",
        "UPDATE submissions SET age_band = 'minor', minor_policy = NULL WHERE id = :id",
    ):
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                await session.execute(text(sql), {"id": submission.id})


async def test_minor_needs_a_policy(session: AsyncSession, add_submission: AddSubmission) -> None:
    minor = await add_submission(age_band=AgeBand.MINOR, minor_policy="guardian_confirmation")
    assert minor.age_band is AgeBand.MINOR
    with pytest.raises(IntegrityError):
        await add_submission(age_band=AgeBand.MINOR, minor_policy=None)


async def test_submission_needs_an_existing_apprentice(session: AsyncSession) -> None:
    """Foreign keys are enforced on SQLite too (PRAGMA foreign_keys=ON)."""
    session.add(
        Submission(
            apprentice_id=404,
            trade="boulanger",
            centre_name="CFA",
            language="fr",
            age_band=AgeBand.ADULT,
            consent_at=datetime.now(UTC),
        )
    )
    with pytest.raises(IntegrityError):
        await session.flush()


async def test_deleting_an_apprentice_erases_submissions_but_not_the_audit(
    session: AsyncSession, add_submission: AddSubmission
) -> None:
    submission = await add_submission()
    await record_audit(
        session, "approve", moderator_id=7, moderator_name="Max", submission_id=submission.id
    )
    await session.execute(text("DELETE FROM apprentices WHERE id = 1001"))
    await session.commit()

    assert await session.scalar(select(Submission).where(Submission.id == submission.id)) is None
    audit = (await session.scalars(select(ModerationAudit))).one()
    assert (audit.submission_id, audit.action, audit.moderator_id) == (submission.id, "approve", 7)
    assert audit.created_at.tzinfo == UTC


async def test_record_audit(session: AsyncSession) -> None:
    await record_audit(session, "ban", moderator_id=7, apprentice_id=1001, reason="spam")
    await record_audit(session, "needs_check", moderator_id=None, submission_id=3)
    await session.commit()
    rows = (await session.scalars(select(ModerationAudit).order_by(ModerationAudit.id))).all()
    assert [(r.action, r.moderator_id, r.apprentice_id, r.submission_id) for r in rows] == [
        ("ban", 7, 1001, None),
        ("needs_check", None, None, 3),
    ]


async def test_defaults(session: AsyncSession, add_submission: AddSubmission) -> None:
    session.add(Apprentice(id=2**40, first_name="Sam"))  # Telegram ids exceed 32 bits
    await session.commit()
    apprentice = await session.get_one(Apprentice, 2**40)
    assert apprentice.language == "fr"
    assert apprentice.updated_at >= apprentice.created_at
    draft = await add_submission(SubmissionStatus.DRAFT, apprentice_id=2**40)
    assert draft.status is SubmissionStatus.DRAFT and draft.created_at.tzinfo == UTC


async def test_settings_upsert_and_survive_sessions(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        assert await get_setting(session, PUBLISHING_PAUSED, False) is False
        await set_setting(session, PUBLISHING_PAUSED, True)
        await set_setting(session, "limits", {"per_day": 3, "hours": [9, 13]})
        await session.commit()
    async with session_factory() as session:
        assert await get_setting(session, PUBLISHING_PAUSED) is True
        await set_setting(session, PUBLISHING_PAUSED, False)
        await session.commit()
    async with session_factory() as session:
        assert await get_setting(session, PUBLISHING_PAUSED) is False
        assert await get_setting(session, "limits") == {"per_day": 3, "hours": [9, 13]}
