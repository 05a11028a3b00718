"""A send whose answer was lost, settled by the bot itself (issue 27): it looks for the post
on the channel, in the ids after its last known post, and only asks the moderators when
Telegram's answers cannot decide.

The emulator gives message ids as Telegram does (one sequence per channel, shared with the
other admins' posts, a deleted id never given again) and answers the search's edits as
Telegram does (« message is not modified », « message to edit not found », « message can't
be edited »), so every branch is driven here.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bot.i18n import t
from bot.telegram.probe import SPAN
from bot.telegram.publisher import Outcome, Publisher
from models import Submission, SubmissionStatus
from tests.support.publishing import (
    QUIET,
    card_of,
    channel_posts,
    queued_with_cards,
    rows,
    search_fails,
    tick,
)
from tests.support.stand import Stand, buttons, running_stand

S = SubmissionStatus


def interest_of(post: dict[str, Any]) -> str:
    """The deep link under a post: the entry it is for."""
    [link] = [
        button["url"]
        for row in post["reply_markup"]["inline_keyboard"]
        for button in row
        if "start=post-" in button.get("url", "")
    ]
    return link


async def each_posted_once_with_its_buttons(stand: Stand, ids: list[int]) -> None:
    """The channel holds one post per entry, in this order, each recorded and under its
    own buttons."""
    entries = await rows(stand)
    posts = channel_posts(stand)
    assert len(posts) == len(ids)
    assert [entries[i].status for i in ids] == [S.PUBLISHED] * len(ids)
    assert [entries[i].channel_message_id for i in ids] == [post["message_id"] for post in posts]
    for entry_id, post in zip(ids, posts, strict=True):
        assert interest_of(post).endswith(f"start=post-{entry_id}")


def told(stand: Stand, entry_id: int) -> list[str]:
    """What the moderators' group was told about ``entry_id`` needing a check."""
    alert = t("fr", "publishing.needs_check", numbers=str(entry_id))
    return [m["text"] for m in stand.emu.bot_messages(stand.group) if m.get("text") == alert]


@pytest.mark.parametrize("kind", ["timeout", "drop", "500", "502"])
async def test_a_post_delivered_with_its_answer_lost_is_found_and_recorded(
    db_url: str, tmp_path: Path, kind: str
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        first, entry_id = await queued_with_cards(stand, 2)
        assert await tick(stand) == [first]
        emu.admin_post(stand.channel, "Salon de l'apprentissage samedi !")  # another admin
        emu.inject_fault("sendPhoto", kind, delivered=True, hold=0.2)
        assert await tick(stand) == [entry_id]

        posts = channel_posts(stand)
        assert len(posts) == 2  # found, never sent again
        entry = (await rows(stand))[entry_id]
        assert entry.status == S.PUBLISHED
        assert entry.channel_message_id == posts[1]["message_id"] == 3  # after the admin's
        assert interest_of(posts[1]).endswith(f"start=post-{entry_id}")  # its buttons kept
        link = f"https://t.me/fiers_test/{entry.channel_message_id}"
        apprentice = emu.world.users[entry.apprentice_id]
        assert [m["text"] for m in emu.bot_messages(apprentice) if "t.me/" in m["text"]] == [
            t("fr", "published.with_link", link=link)
        ]
        assert told(stand, entry_id) == []  # nobody had to look
        assert "card.needs_check" not in card_of(stand, entry)["caption"]
        for _ in range(2):
            assert await tick(stand) == []
        assert len(channel_posts(stand)) == 2


async def test_a_send_that_never_arrived_is_queued_again_and_posted_once(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        first, entry_id = await queued_with_cards(stand, 2)
        assert await tick(stand) == [first]
        deleted = emu.admin_post(stand.channel, "Une annonce retirée")
        emu.delete_message(deleted)  # its id is never given again
        emu.admin_post(stand.channel, "Portes ouvertes au CFA")
        emu.inject_fault("sendPhoto", "500")  # Telegram failed before posting
        publisher = Publisher(stand.app.services)
        assert await publisher.publish(stand.app.bot, entry_id) == Outcome.RETRY
        assert (await rows(stand))[entry_id].status == S.APPROVED
        assert len(channel_posts(stand)) == 1
        assert told(stand, entry_id) == []

        assert await tick(stand) == [entry_id]  # the next slot, as the pace says
        posts = channel_posts(stand)
        assert len(posts) == 2
        assert (await rows(stand))[entry_id].channel_message_id == posts[1]["message_id"] == 4


async def test_telegram_still_failing_leaves_it_to_the_moderators(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        [entry_id] = await queued_with_cards(stand, 1)
        stand.emu.inject_fault("sendPhoto", "500", delivered=True)
        search_fails(stand)
        assert await tick(stand) == []
        entry = (await rows(stand))[entry_id]
        assert entry.status == S.NEEDS_CHECK
        assert len(told(stand, entry_id)) == 1
        card = card_of(stand, entry)
        assert html.unescape(t("fr", "card.needs_check")) in card["caption"]
        assert list(buttons(card).values()) == [f"mod:requeue:{entry_id}"]
        assert len(channel_posts(stand)) == 1


async def test_other_admins_posts_filling_the_range_leave_it_to_the_moderators(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        # The search's edits in the channel, twenty of them: not the subject here, so
        # the per-channel pace (20 a minute, the bot's limiter and the emulator) is lifted.
        emu.flood_limits.group_per_minute = 10_000
        limiter = stand.app.bot.rate_limiter
        assert limiter is not None
        limiter._group_max_rate = 0  # type: ignore[attr-defined]
        first, entry_id = await queued_with_cards(stand, 2)
        assert await tick(stand) == [first]
        for number in range(SPAN):
            emu.admin_post(stand.channel, f"Annonce {number}")
        emu.inject_fault("sendPhoto", "timeout", delivered=True, hold=0.2)
        assert await tick(stand) == []
        assert (await rows(stand))[entry_id].status == S.NEEDS_CHECK
        assert len(told(stand, entry_id)) == 1
        # Nothing of the admins' was changed by the search.
        assert all("reply_markup" not in m for m in emu.messages(stand.channel) if "text" in m)


async def test_without_the_right_to_edit_its_posts_it_asks_the_moderators(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        [entry_id] = await queued_with_cards(stand, 1)

        def rights_taken_away(params: dict[str, Any]) -> bool:
            """Between the send and the search, an owner takes the bot's rights away."""
            emu.set_bot_rights(stand.channel, can_post_messages=False, can_edit_messages=False)
            return False  # the call itself goes through

        emu.inject_fault("sendPhoto", "500", delivered=True)
        emu.inject_fault("getChatMember", "delay", hold=0, match=rights_taken_away)
        assert await tick(stand) == []
        assert (await rows(stand))[entry_id].status == S.NEEDS_CHECK
        assert len(told(stand, entry_id)) == 1
        assert len(channel_posts(stand)) == 1


async def test_two_unsure_posts_in_a_row_are_both_found_and_keep_their_own_buttons(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        first, second = await queued_with_cards(stand, 2)
        emu.inject_fault("sendPhoto", "drop", delivered=True)
        search_fails(stand)  # the first search cannot decide: the moderators are asked
        assert await tick(stand) == []
        assert (await rows(stand))[first].status == S.NEEDS_CHECK
        emu.clear_faults()

        emu.inject_fault("sendPhoto", "500", delivered=True)
        assert await tick(stand) == [second]
        # The second's search met the first's post, gave it its own buttons back and
        # recorded it.
        await each_posted_once_with_its_buttons(stand, [first, second])


async def test_a_post_interrupted_by_a_stop_is_looked_for_at_the_next_start(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        sent, unsent = await queued_with_cards(stand, 2)
        # As a crash leaves them: both claimed, one posted, neither recorded.
        publisher = Publisher(stand.app.services)
        emu.inject_fault("sendPhoto", "500", delivered=True)
        search_fails(stand)
        assert await publisher.publish(stand.app.bot, sent) == Outcome.NEEDS_CHECK
        emu.clear_faults()
        async with stand.app.services.sessions() as session, session.begin():
            await session.execute(
                update(Submission)
                .where(Submission.id.in_((sent, unsent)))
                .values(status=S.PUBLISHING)
            )

        assert sorted(await publisher.recover(stand.app.bot)) == [sent, unsent]
        entries = await rows(stand)
        [post] = channel_posts(stand)
        assert entries[sent].status == S.PUBLISHED
        assert entries[sent].channel_message_id == post["message_id"]
        assert entries[unsent].status == S.APPROVED  # certainly not posted: queued again
        assert await tick(stand) == [unsent]
        assert len(channel_posts(stand)) == 2


def on_channel(params: dict[str, Any]) -> bool:
    return params["chat_id"] == "@fiers_test"


@pytest.mark.parametrize("kind", ["502", "drop"])
async def test_a_search_whose_edit_loses_its_answer_asks_again_and_finds_the_post(
    db_url: str, tmp_path: Path, kind: str
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        [entry_id] = await queued_with_cards(stand, 1)
        emu.inject_fault("sendPhoto", "500", delivered=True)
        # The search's first edit fails as the send did: its answer proves nothing.
        emu.inject_fault("editMessageReplyMarkup", kind, match=on_channel)
        assert await tick(stand) == [entry_id]

        [post] = channel_posts(stand)
        entry = (await rows(stand))[entry_id]
        assert entry.status == S.PUBLISHED
        assert entry.channel_message_id == post["message_id"]
        assert interest_of(post).endswith(f"start=post-{entry_id}")  # its buttons, back on
        assert told(stand, entry_id) == []  # nobody had to look


async def test_a_lost_edit_on_another_unsure_post_is_not_taken_for_the_entrys_post(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        first, second = await queued_with_cards(stand, 2)
        emu.inject_fault("sendPhoto", "drop", delivered=True)
        search_fails(stand)  # the first's post stays on the channel, unrecorded
        assert await tick(stand) == []
        assert (await rows(stand))[first].status == S.NEEDS_CHECK
        emu.clear_faults()

        emu.inject_fault("sendPhoto", "500", delivered=True)
        # The second's search: its edit of the first's post is carried out (the first's
        # post now shows the second's buttons) and its answer lost. Asked again, the post
        # answers « not modified », as the second's own post would.
        emu.inject_fault(
            "editMessageReplyMarkup", "timeout", delivered=True, hold=0.2, match=on_channel
        )
        assert await tick(stand) == [second]

        await each_posted_once_with_its_buttons(stand, [first, second])
        assert told(stand, second) == []


def buttons_taken_off(params: dict[str, Any]) -> bool:
    """The search's edit that takes a post's buttons off, to read its caption."""
    return on_channel(params) and "reply_markup" not in params


@pytest.mark.parametrize("delivered", [False, True])
async def test_reading_the_posts_caption_asks_again_when_that_answer_is_lost_too(
    db_url: str, tmp_path: Path, delivered: bool
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        [entry_id] = await queued_with_cards(stand, 1)
        emu.inject_fault("sendPhoto", "500", delivered=True)
        # The search's edit fails: « not modified » asked again proves nothing, so the post's
        # buttons are taken off to read its caption, and that answer is lost too (the
        # buttons gone, or not).
        emu.inject_fault("editMessageReplyMarkup", "502", match=on_channel)
        emu.inject_fault(
            "editMessageReplyMarkup", "drop", delivered=delivered, match=buttons_taken_off
        )
        assert await tick(stand) == [entry_id]

        [post] = channel_posts(stand)
        entry = (await rows(stand))[entry_id]
        assert entry.status == S.PUBLISHED
        assert entry.channel_message_id == post["message_id"]
        assert interest_of(post).endswith(f"start=post-{entry_id}")  # its buttons, back on
        assert told(stand, entry_id) == []
