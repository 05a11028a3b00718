"""Removals owed after an erasure or an unpublish: what is recorded, found, settled."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Removal, SubmissionStatus
from models import removals as owed
from models.apprentices import delete_apprentice_data

if TYPE_CHECKING:
    from tests.support.data import AddSubmission

S = SubmissionStatus


async def _all(session_factory: async_sessionmaker[AsyncSession]) -> list[Removal]:
    async with session_factory() as session:
        return list(await session.scalars(select(Removal).order_by(Removal.id)))


async def test_what_each_erased_entry_leaves_to_remove(
    session_factory: async_sessionmaker[AsyncSession], add_submission: AddSubmission
) -> None:
    card = {"moderation_chat_id": -1001, "moderation_message_id": 7}
    await add_submission(S.DRAFT)
    pending = await add_submission(S.PENDING, **card)
    published = await add_submission(S.PUBLISHED, channel_message_id=42, **card)
    unsure = await add_submission(S.NEEDS_CHECK, **card)
    sending = await add_submission(S.PUBLISHING, **card)
    copied = await add_submission(S.PENDING, card_lost=True, **card)
    async with session_factory() as session, session.begin():
        entries = await delete_apprentice_data(session, 1001)
        for entry in entries:
            await owed.owe_removals_of(
                session, entry, channel="@fiers", card_chat="-1001", cause="erased"
            )
    rows = await _all(session_factory)
    summary = {(r.submission_id, r.kind, r.chat, r.message_id, r.by_hand) for r in rows}
    assert summary == {
        (pending.id, "card", "-1001", 7, False),
        (published.id, "card", "-1001", 7, False),
        (published.id, "post", "@fiers", 42, False),
        (unsure.id, "card", "-1001", 7, False),
        (unsure.id, "post", "@fiers", None, True),  # its id was lost: by hand
        (sending.id, "card", "-1001", 7, False),
        (sending.id, "post", "@fiers", None, False),  # the send's answer will tell
        (copied.id, "card", "-1001", 7, False),
        (copied.id, "card", "-1001", None, True),  # a copy whose send was not confirmed
    }
    assert {r.cause for r in rows} == {"erased"}


async def test_a_post_answered_after_the_erasure_is_found_or_owed(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        waiting = await owed.owe_removal(
            session, chat="@fiers", message_id=None, kind="post", submission_id=5, cause="erased"
        )
        found = await owed.found_post(session, 5, "@fiers", 99)
        assert found.id == waiting.id and found.message_id == 99
        other = await owed.found_post(session, 6, "@fiers", 100)  # nothing waited: owed anew
        assert other.id != waiting.id and other.message_id == 100
        assert await owed.lost_post(session, 5) == []  # its id is known now
        lost = await owed.owe_removal(
            session, chat="@fiers", message_id=None, kind="post", submission_id=7, cause="erased"
        )
        assert await owed.lost_post(session, 7) == [lost.id]
    by_id = {r.id: r for r in await _all(session_factory)}
    assert by_id[lost.id].by_hand is True


async def test_attempts_are_counted_and_settling_happens_once(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        removal = await owed.owe_removal(
            session, chat="-1001", message_id=3, kind="card", submission_id=1, cause="erased"
        )
        await owed.record_attempt(
            session, removal.id, photo_hidden=True, by_hand=True, error="Bad Request: no"
        )
        await owed.mark_told(session, removal.id, 12)
    [row] = await _all(session_factory)
    assert (row.attempts, row.photo_hidden, row.by_hand, row.told_message_id) == (1, True, True, 12)
    assert row.last_error == "Bad Request: no"
    async with session_factory() as session, session.begin():
        assert await owed.settle(session, removal.id) is True
        assert await owed.settle(session, removal.id) is False
    assert await _all(session_factory) == []
