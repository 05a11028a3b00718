"""The publisher against Telegram's real faults: an answer lost after delivery is never
re-sent alone, one bad entry never stalls the channel, and nobody but the publisher can
release an entry it is sending."""

from __future__ import annotations

import asyncio
import html
import socket
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.i18n import t
from bot.telegram.catchup import catch_up_with_telegram
from bot.telegram.publisher import Outcome, Publisher
from models import ModerationAudit, Submission, SubmissionStatus
from models.base import utcnow
from models.settings import PUBLISHING_PAUSED, get_setting
from tests.support.publishing import (
    QUIET,
    card_of,
    channel_posts,
    poster_names,
    queued_with_cards,
    rows,
    search_fails,
    tick,
    wait_status,
)
from tests.support.stand import TOKEN, answer_of, buttons, running_stand

S = SubmissionStatus


@pytest.mark.parametrize("kind", ["timeout", "drop", "500"])
async def test_a_post_whose_answer_was_lost_is_never_sent_again_alone(
    db_url: str, tmp_path: Path, kind: str
) -> None:
    """When the bot cannot find out by itself (tests/flows/publishing/test_unsure_posts.py),
    the moderators are asked, and later slots leave the entry alone."""
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        [entry_id] = await queued_with_cards(stand, 1)
        emu.inject_fault("sendPhoto", kind, delivered=True, hold=0.2)
        search_fails(stand)
        assert await tick(stand) == []
        assert len(channel_posts(stand)) == 1  # Telegram has it; the bot cannot know
        entry = (await rows(stand))[entry_id]
        assert entry.status == S.NEEDS_CHECK
        for _ in range(3):  # later slots leave it alone
            assert await tick(stand) == []
        assert len(channel_posts(stand)) == 1
        # The moderators know at once, from an alert and from the card.
        alert = t("fr", "publishing.needs_check", numbers=str(entry_id))
        await emu.wait_for(stand.group, alert)
        card = card_of(stand, entry)
        assert html.unescape(t("fr", "card.needs_check")) in card["caption"]
        assert list(buttons(card).values()) == [f"mod:requeue:{entry_id}"]


async def test_a_forwarded_post_settles_its_entry_and_leaves_no_copy(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(
        db_url, tmp_path, group_rights={"can_delete_messages": True}, schedule=QUIET
    ) as stand:
        emu, camille = stand.emu, stand.moderators[0]
        unrelated, entry_id = await queued_with_cards(stand, 2)
        assert await tick(stand) == [unrelated]
        emu.inject_fault("sendPhoto", "drop", delivered=True)
        search_fails(stand)
        assert await tick(stand) == []
        assert (await rows(stand))[entry_id].status == S.NEEDS_CHECK
        emu.clear_faults()
        first, post = channel_posts(stand)
        # Another entry's post matches nothing waiting; this one's settles it.
        copy = await emu.forward_message(camille, first, stand.group)
        await emu.wait_for(stand.group, t("fr", "publishing.forward_unmatched"))
        copy = await emu.forward_message(camille, post, stand.group)
        recorded = t("fr", "publishing.forward_recorded", number=entry_id)
        await emu.wait_for(stand.group, html.unescape(recorded))
        entry = await wait_status(stand, entry_id, S.PUBLISHED)
        assert entry.channel_message_id == post["message_id"]
        async with asyncio.timeout(10):  # then the copy goes
            while copy["message_id"] in [m["message_id"] for m in emu.messages(stand.group)]:
                await asyncio.sleep(0.02)


@pytest.mark.parametrize("kind", ["429", "refused"])
async def test_only_a_failure_that_proves_nothing_was_sent_requeues(
    db_url: str, tmp_path: Path, kind: str
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        [entry_id] = await queued_with_cards(stand, 1)
        publisher = Publisher(stand.app.services)
        if kind == "429":
            # More 429s than the rate limiter's own retries: the bot gives up this slot.
            stand.emu.inject_fault("sendPhoto", "429", count=4, retry_after=1)
            assert await publisher.publish(stand.app.bot, entry_id) == Outcome.RETRY
        else:  # nothing listens: the connection is refused before anything is sent
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            offline = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot")
            assert await publisher.publish(offline, entry_id) == Outcome.RETRY
        assert (await rows(stand))[entry_id].status == S.APPROVED
        assert channel_posts(stand) == []
        assert await tick(stand) == [entry_id]
        assert len(channel_posts(stand)) == 1


async def test_an_entry_telegram_refuses_leaves_the_queue_and_the_next_is_posted(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu, camille = stand.emu, stand.moderators[0]
        refused, second, third = await queued_with_cards(stand, 3)
        emu.inject_fault(
            "sendPhoto",
            "400",
            count=None,  # every time: it is this photo or caption Telegram will not take
            match=lambda p: "Apprenti 00" in (p.get("caption") or ""),
            description="Bad Request: wrong file identifier/HTTP URL specified",
        )
        assert await tick(stand) == [second]  # same slot: the next entry went out
        assert poster_names(channel_posts(stand)) == ["Apprenti 01"]
        entry = (await rows(stand))[refused]
        # Telegram's reason, as PTB words it.
        assert (entry.status, entry.held_reason) == (
            S.HELD,
            "Wrong file identifier/http url specified",
        )
        card = card_of(stand, entry)
        assert "wrong file identifier" in card["caption"].lower()
        assert set(buttons(card).values()) == {f"mod:requeue:{refused}", f"mod:undo:{refused}"}
        async with stand.app.services.sessions() as session:
            assert await get_setting(session, PUBLISHING_PAUSED) is None  # not a channel fault
        assert await tick(stand) == [third]
        # The moderators try it again once Telegram takes it.
        emu.clear_faults()
        query = await stand.press(camille, card, f"mod:requeue:{refused}")
        assert (await answer_of(stand, query))["text"] == t("fr", "publishing.requeued")
        await wait_status(stand, refused, S.APPROVED)
        assert await tick(stand) == [refused]
        assert sorted(poster_names(channel_posts(stand))) == [
            "Apprenti 00",
            "Apprenti 01",
            "Apprenti 02",
        ]


async def test_a_missing_photo_is_held_without_showing_a_server_path(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        [lost, fine] = await queued_with_cards(stand, 2)
        async with stand.app.services.sessions() as session, session.begin():
            entry = await session.get(Submission, lost)
            assert entry is not None
            entry.photo_file_id, entry.photo_path = None, "ab/abcdef.jpg"  # not on disk
        assert await tick(stand) == [fine]
        entry = (await rows(stand))[lost]
        assert (entry.status, entry.held_reason) == (S.HELD, "photo_missing")
        caption = card_of(stand, entry)["caption"]
        assert t("fr", "card.photo_missing") in caption
        for chat in (stand.group, stand.channel):
            for message in stand.emu.messages(chat):
                shown = message.get("text") or message.get("caption") or ""
                assert str(tmp_path) not in shown and "abcdef" not in shown


async def test_an_approved_entry_can_be_taken_back_at_any_time(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        camille = stand.moderators[0]
        [entry_id] = await queued_with_cards(stand, 1)
        async with stand.app.services.sessions() as session, session.begin():
            entry = await session.get(Submission, entry_id)
            assert entry is not None
            entry.decided_at = utcnow() - timedelta(days=3)  # long past undo_minutes
        card = card_of(stand, (await rows(stand))[entry_id])
        assert f"mod:undo:{entry_id}" in buttons(card).values()
        await stand.press(camille, card, f"mod:undo:{entry_id}")
        await wait_status(stand, entry_id, S.PENDING)
        assert await tick(stand) == []
        assert channel_posts(stand) == []


async def test_a_stale_or_forged_requeue_cannot_interrupt_a_send(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu, camille = stand.emu, stand.moderators[0]
        [entry_id] = await queued_with_cards(stand, 1)
        card = card_of(stand, (await rows(stand))[entry_id])
        # Telegram says "retry after 2 s": the entry stays claimed while the bot waits.
        emu.inject_fault("sendPhoto", "429", retry_after=2)
        sending = asyncio.create_task(tick(stand))
        await wait_status(stand, entry_id, S.PUBLISHING)
        queries = [
            await emu.press_button(camille, card, data, forged=True)
            for data in (f"mod:requeue:{entry_id}", f"mod:undo:{entry_id}")
        ]
        assert await sending == [entry_id]
        for query in queries:  # both refused, with an alert
            assert (await answer_of(stand, query))["show_alert"]
        assert len(channel_posts(stand)) == 1
        entry = (await rows(stand))[entry_id]
        assert (entry.status, entry.channel_message_id) == (S.PUBLISHED, 1)
        async with stand.app.services.sessions() as session:
            actions = set(await session.scalars(select(ModerationAudit.action)))
        assert not actions & {"requeue", "undo"}


async def test_what_telegram_refused_to_show_the_moderators_is_shown_later(
    db_url: str, tmp_path: Path
) -> None:
    """A card edit and a pause alert that failed are retried by the job: no entry waits
    without the moderators seeing why."""
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        [entry_id] = await queued_with_cards(stand, 1)
        emu.inject_fault("sendPhoto", "timeout", delivered=True, hold=0.2)
        search_fails(stand)
        emu.inject_fault("editMessageCaption", "502")  # the card's update is lost
        emu.inject_fault("sendMessage", "502")  # and so is the alert
        assert await tick(stand) == []
        entry = (await rows(stand))[entry_id]
        assert entry.status == S.NEEDS_CHECK
        assert "mod:ok" not in str(buttons(card_of(stand, entry)))  # shows "approved"
        assert f"mod:requeue:{entry_id}" not in buttons(card_of(stand, entry)).values()

        emu.set_bot_status(stand.channel, "kicked")
        [other] = await queued_with_cards(stand, 1)
        emu.inject_fault("sendMessage", "502")  # the pause alert is lost too
        assert await tick(stand) == []
        paused = [m for m in emu.bot_messages(stand.group) if m.get("text", "")[:1] == "⛔"]
        assert paused == []

        await catch_up_with_telegram(stand.app.bot, stand.app.services)
        card = card_of(stand, (await rows(stand))[entry_id])
        assert list(buttons(card).values()) == [f"mod:requeue:{entry_id}"]
        [alert] = [m for m in emu.bot_messages(stand.group) if m.get("text", "")[:1] == "⛔"]
        assert "/resume" in alert["text"]
        await catch_up_with_telegram(stand.app.bot, stand.app.services)  # told once
        assert len([m for m in emu.bot_messages(stand.group) if m.get("text", "")[:1] == "⛔"]) == 1
        assert (await rows(stand))[other].status == S.APPROVED
