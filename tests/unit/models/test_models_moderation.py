"""Moderation cards, bans, the publishing order and the ban/unpublish transitions, on SQLite
and PostgreSQL."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models import (
    Apprentice,
    Submission,
    SubmissionStatus,
    apprentices,
    dhash_to_db,
    lifecycle,
    moderation,
    publishing,
    utcnow,
)
from models.moderation import Duplicate

if TYPE_CHECKING:
    from tests.support.data import AddSubmission

S = SubmissionStatus
HASH = 0xF0E1D2C3B4A59687  # top bit set: stored as a negative BIGINT


def _near(flipped_bits: int) -> int:
    """HASH with its ``flipped_bits`` lowest bits flipped (that many bits of distance)."""
    return dhash_to_db(HASH ^ ((1 << flipped_bits) - 1))


async def _get(session_factory: async_sessionmaker[AsyncSession], sid: int) -> Submission:
    async with session_factory() as session:
        submission = await session.get(Submission, sid)
        assert submission is not None
        return submission


# --------------------------------------------------------------------------- duplicates


async def test_possible_duplicates(session: AsyncSession, add_submission: AddSubmission) -> None:
    me = await add_submission(S.PENDING, source_file_unique_id="me", dhash=dhash_to_db(HASH))
    same_file = await add_submission(S.REFUSED, source_file_unique_id="me", dhash=_near(40))
    d3_old = await add_submission(S.PUBLISHED, source_file_unique_id="a", dhash=_near(3))
    d8 = await add_submission(S.APPROVED, source_file_unique_id="b", dhash=_near(8))
    d0 = await add_submission(S.PENDING, source_file_unique_id="c", dhash=dhash_to_db(HASH))
    d3_new = await add_submission(S.NEEDS_CHECK, source_file_unique_id="d", dhash=_near(3))
    await add_submission(S.PENDING, source_file_unique_id="e", dhash=_near(9))
    await add_submission(
        S.PENDING, source_file_unique_id="f", dhash=dhash_to_db(~HASH & (2**64 - 1))
    )
    await add_submission(S.PENDING, source_file_unique_id="g", dhash=None)
    # Same photo, but nobody sees this entry yet.
    await add_submission(S.DRAFT, source_file_unique_id="me", dhash=dhash_to_db(HASH))

    found = await moderation.possible_duplicates(session, me.id, max_distance=8, limit=10)

    assert found == [
        Duplicate(same_file.id, S.REFUSED, None),
        Duplicate(d0.id, S.PENDING, 0),
        Duplicate(d3_new.id, S.NEEDS_CHECK, 3),  # same distance: newest first
        Duplicate(d3_old.id, S.PUBLISHED, 3),
        Duplicate(d8.id, S.APPROVED, 8),
    ]
    assert [d.id for d in await moderation.possible_duplicates(session, me.id, 8, limit=2)] == [
        same_file.id,
        d0.id,
    ]
    strict = await moderation.possible_duplicates(session, me.id, max_distance=0)
    assert [d.id for d in strict] == [same_file.id, d0.id]


async def test_possible_duplicates_of_an_entry_without_hash_or_file(
    session: AsyncSession, add_submission: AddSubmission
) -> None:
    me = await add_submission(S.PENDING, source_file_unique_id=None, dhash=None)
    await add_submission(S.PENDING, source_file_unique_id=None, dhash=None)
    await add_submission(S.PENDING)
    assert await moderation.possible_duplicates(session, me.id, max_distance=64) == []
    assert await moderation.possible_duplicates(session, 999_999, max_distance=64) == []


# --------------------------------------------------------------------------- cards


async def test_pending_without_card_and_set_moderation_card(
    session_factory: async_sessionmaker[AsyncSession], add_submission: AddSubmission
) -> None:
    now = utcnow()
    newest = await add_submission(S.PENDING, submitted_at=now)
    oldest = await add_submission(S.PENDING, submitted_at=now - timedelta(hours=2))
    middle = await add_submission(S.PENDING, submitted_at=now - timedelta(hours=1))
    await add_submission(S.PENDING, submitted_at=now - timedelta(hours=3), moderation_message_id=7)
    await add_submission(S.APPROVED, submitted_at=now - timedelta(hours=4))
    await add_submission(S.DRAFT)

    async with session_factory() as session:
        assert await moderation.pending_without_card(session) == [oldest.id, middle.id, newest.id]
        assert await moderation.pending_without_card(session, limit=1) == [oldest.id]
        await moderation.set_moderation_card(
            session, oldest.id, chat_id=-100123, message_id=42, shown=oldest.updated_at
        )
        await session.commit()
        assert await moderation.pending_without_card(session) == [middle.id, newest.id]

    card = await _get(session_factory, oldest.id)
    assert (card.moderation_chat_id, card.moderation_message_id) == (-100123, 42)
    assert card.card_synced_at == card.updated_at == oldest.updated_at
    assert card.status is S.PENDING


# --------------------------------------------------------------------------- bans


async def test_ban_and_unban(
    session_factory: async_sessionmaker[AsyncSession], add_submission: AddSubmission
) -> None:
    await add_submission(S.PENDING, apprentice_id=1001)
    async with session_factory() as session:
        assert await apprentices.ban_apprentice(session, 1001, 7) is True
        assert await apprentices.ban_apprentice(session, 1001, 8) is False  # already
        assert await apprentices.ban_apprentice(session, 4242, 7) is True  # never seen
        assert await apprentices.ban_apprentice(session, 4242, 8) is False
        await session.commit()

    async with session_factory() as session:
        banned = await session.get(Apprentice, 1001)
        assert banned is not None
        assert banned.banned_at is not None and banned.banned_by == 7
        assert banned.first_name == "Léa"  # a known apprentice keeps their row as it was
        stranger = await session.get(Apprentice, 4242)  # stored, so the ban holds later
        assert stranger is not None and stranger.banned_by == 7 and stranger.first_name == ""

    async with session_factory() as session:
        assert await apprentices.unban_apprentice(session, 1001) is True
        assert await apprentices.unban_apprentice(session, 1001) is False
        assert await apprentices.unban_apprentice(session, 4242) is True
        assert await apprentices.unban_apprentice(session, 4343) is False  # never seen
        await session.commit()
        apprentice = await session.get(Apprentice, 1001)
        assert apprentice is not None
        await session.refresh(apprentice)
        assert apprentice.banned_at is None and apprentice.banned_by is None


async def test_refuse_banned_empties_both_queues_of_that_apprentice_only(
    session_factory: async_sessionmaker[AsyncSession], add_submission: AddSubmission
) -> None:
    first = await add_submission(S.PENDING, apprentice_id=1001)
    approved = await add_submission(S.APPROVED, apprentice_id=1001)
    held = await add_submission(S.HELD, apprentice_id=1001)
    published = await add_submission(S.PUBLISHED, apprentice_id=1001)
    needs_check = await add_submission(S.NEEDS_CHECK, apprentice_id=1001)
    draft = await add_submission(S.DRAFT, apprentice_id=1001)
    someone_else = await add_submission(S.APPROVED, apprentice_id=1002)

    async with session_factory() as session:
        loaded = await session.get(Submission, first.id)  # refreshed by the UPDATE
        refused = await lifecycle.refuse_banned(session, 1001, 7, "Max")
        assert refused == [first.id, approved.id, held.id]
        assert loaded is not None and loaded.status is S.REFUSED
        assert await lifecycle.refuse_banned(session, 1001, 7, "Max") == []
        await session.commit()

    for sid in refused:
        row = await _get(session_factory, sid)
        assert row.status is S.REFUSED and row.approved_at is None
        assert (row.decided_by, row.decided_by_name, row.refusal_reason) == (7, "Max", "banned")
        assert row.decided_at is not None
    # What is on the channel (or may be) is the moderators' call; drafts are the author's.
    assert (await _get(session_factory, published.id)).status is S.PUBLISHED
    assert (await _get(session_factory, needs_check.id)).status is S.NEEDS_CHECK
    assert (await _get(session_factory, draft.id)).status is S.DRAFT
    assert (await _get(session_factory, someone_else.id)).status is S.APPROVED


# --------------------------------------------------------------------------- unpublish


async def test_unpublish_only_from_published(
    session_factory: async_sessionmaker[AsyncSession], add_submission: AddSubmission
) -> None:
    for start in SubmissionStatus:
        entry = await add_submission(start, channel_message_id=555)
        async with session_factory() as session:
            won = await lifecycle.unpublish(session, entry.id, 7, "Max")
            await session.commit()
        row = await _get(session_factory, entry.id)
        assert won is (start is S.PUBLISHED), start
        if won:
            assert row.status is S.REFUSED
            assert row.refusal_reason == "unpublished"
            assert (row.decided_by, row.decided_by_name) == (7, "Max")
            assert row.channel_message_id == 555  # the caller deletes the post with it
        else:
            assert row.status is start


# --------------------------------------------------------------------------- publishing order


async def test_next_to_publish(
    session_factory: async_sessionmaker[AsyncSession], add_submission: AddSubmission
) -> None:
    async with session_factory() as session:
        assert await publishing.next_to_publish(session) is None
        assert await publishing.next_to_publish(session, avoid_trade="coiffeuse") is None

    t0 = utcnow() - timedelta(days=1)
    first = await add_submission(S.APPROVED, trade="coiffeuse", approved_at=t0)
    # Same approved_at: the lower id goes first.
    second = await add_submission(S.APPROVED, trade="coiffeuse", approved_at=t0)
    await add_submission(S.PENDING, trade="boulanger")
    await add_submission(S.PUBLISHED, trade="boulanger", approved_at=t0 - timedelta(hours=1))

    async with session_factory() as session:
        assert await publishing.next_to_publish(session) == first.id
        # Only the avoided trade waits: take it anyway.
        assert await publishing.next_to_publish(session, avoid_trade="coiffeuse") == first.id

    baker = await add_submission(S.APPROVED, trade="boulanger", approved_at=t0 + timedelta(hours=1))
    async with session_factory() as session:
        assert await publishing.next_to_publish(session) == first.id
        assert await publishing.next_to_publish(session, avoid_trade="coiffeuse") == baker.id
        assert await publishing.next_to_publish(session, avoid_trade="boulanger") == first.id
        assert await publishing.next_to_publish(session, avoid_trade="maçon") == first.id
        assert await lifecycle.claim_for_publishing(session, first.id)
        assert await publishing.next_to_publish(session, avoid_trade="boulanger") == second.id


async def test_a_banned_apprentices_entries_are_neither_picked_nor_claimed(
    session_factory: async_sessionmaker[AsyncSession], add_submission: AddSubmission
) -> None:
    """Even between the ban and the refusal of their entries (or if a row escaped it)."""
    t0 = utcnow() - timedelta(days=1)
    banned = await add_submission(S.APPROVED, apprentice_id=1001, approved_at=t0)
    other = await add_submission(S.APPROVED, apprentice_id=1002, approved_at=t0)
    async with session_factory() as session:
        assert await apprentices.ban_apprentice(session, 1001, 7)
        assert await publishing.next_to_publish(session) == other.id
        assert await publishing.next_to_publish(session, avoid_trade="coiffeuse") == other.id
        assert not await lifecycle.claim_for_publishing(session, banned.id)
        assert await apprentices.unban_apprentice(session, 1001)
        assert await lifecycle.claim_for_publishing(session, banned.id)


async def test_cards_behind_follow_updated_at(
    session_factory: async_sessionmaker[AsyncSession], add_submission: AddSubmission
) -> None:
    """A card is behind from the change of its entry until an edit is recorded as shown."""
    shown = await add_submission(S.PENDING, moderation_chat_id=-100, moderation_message_id=1)
    await add_submission(S.PENDING)  # no card: never "behind"
    async with session_factory() as session, session.begin():
        await moderation.set_moderation_card(session, shown.id, -100, 1, shown.updated_at)
    async with session_factory() as session, session.begin():
        assert await moderation.cards_behind(session) == []
        assert await lifecycle.approve(session, shown.id, 7, "Max")
    async with session_factory() as session, session.begin():
        assert await moderation.cards_behind(session) == [shown.id]
        row = await session.get(Submission, shown.id)
        assert row is not None
        await moderation.mark_card_synced(session, shown.id, row.updated_at)
    async with session_factory() as session:
        assert await moderation.cards_behind(session) == []
        after = await session.get(Submission, shown.id)
        assert after is not None and after.updated_at == row.updated_at  # not a change


async def test_last_published_trade(session: AsyncSession, add_submission: AddSubmission) -> None:
    assert await publishing.last_published_trade(session) is None
    now = utcnow()
    await add_submission(S.PUBLISHED, trade="boulanger", published_at=now - timedelta(hours=2))
    await add_submission(S.PUBLISHED, trade="coiffeuse", published_at=now - timedelta(hours=1))
    await add_submission(S.PUBLISHED, trade="maçon", published_at=now - timedelta(hours=3))
    await add_submission(S.APPROVED, trade="plombier")
    await add_submission(S.REFUSED, trade="unpublished", published_at=now)
    assert await publishing.last_published_trade(session) == "coiffeuse"


# --------------------------------------------------------------------------- at scale

BULK = 100_000
CHUNK = 5_000


async def _bulk_insert(engine: AsyncEngine, count: int) -> None:
    """``count`` submissions in a realistic mix of statuses, trades and dates, fast."""
    rng = random.Random(20150)
    trades = [f"métier {i}" for i in range(60)]
    statuses = [S.PUBLISHED] * 6 + [S.APPROVED, S.PENDING, S.REFUSED, S.DRAFT]
    start = utcnow() - timedelta(days=200)
    async with engine.begin() as connection:
        await connection.execute(
            insert(Apprentice), [{"id": i, "first_name": "A"} for i in range(1, 1001)]
        )
        for offset in range(0, count, CHUNK):
            rows: list[dict[str, Any]] = []
            for n in range(offset, min(offset + CHUNK, count)):
                status = rng.choice(statuses)
                submitted = start + timedelta(minutes=2 * n)
                decided = submitted + timedelta(minutes=rng.randint(5, 600))
                rows.append(
                    {
                        "apprentice_id": 1 + n % 1000,
                        "status": status,
                        "trade": rng.choice(trades),
                        "centre_name": f"CFA {n % 40}",
                        "language": "fr",
                        "age_band": "adult",
                        "consent_at": submitted,
                        "created_at": submitted,
                        "updated_at": decided,
                        "submitted_at": submitted,
                        "decided_at": None if status is S.PENDING else decided,
                        "approved_at": decided if status in (S.APPROVED, S.PUBLISHED) else None,
                        "published_at": decided if status is S.PUBLISHED else None,
                        "dhash": dhash_to_db(rng.getrandbits(64)),
                    }
                )
            # RETURNING makes SQLAlchemy send a chunk as a few multi-row INSERTs (its
            # "insertmanyvalues") rather than an executemany of one INSERT per row, so
            # PostgreSQL's statement-level counter triggers run per batch, not per entry.
            await connection.execute(insert(Submission).returning(Submission.id), rows)
        await connection.exec_driver_sql("ANALYZE")


@pytest.mark.slow
async def test_next_to_publish_walks_the_index_at_scale(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """With 100,000 entries, the publishing order reads an index, never the whole table.

    The plan is checked, not the time (timings belong to benchmarks/).
    """
    await _bulk_insert(engine, BULK)
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    async with session_factory() as session:
        event.listen(engine.sync_engine, "before_cursor_execute", record)
        try:
            oldest = await publishing.next_to_publish(session)
            rotated = await publishing.next_to_publish(session, avoid_trade="métier 0")
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", record)
        assert oldest is not None and rotated is not None
        expected = await session.scalar(
            select(Submission.id)
            .where(Submission.status == S.APPROVED)
            .order_by(Submission.approved_at, Submission.id)
            .limit(1)
        )
        assert oldest == expected

    sqlite = engine.dialect.name == "sqlite"
    async with engine.connect() as connection:
        for statement, parameters in sent:
            explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            result = await connection.exec_driver_sql(explain + statement, parameters)
            plan = "\n".join(str(row[-1]) for row in result)
            assert "ix_submissions_status_approved_at_id" in plan, plan
            if sqlite:
                assert "SCAN submissions" not in plan, plan
                assert "TEMP B-TREE" not in plan, plan
            else:
                assert "Seq Scan on submissions" not in plan, plan
                assert "Sort" not in plan, plan
