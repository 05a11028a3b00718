"""A flaky Telegram: every approved entry still ends up posted exactly once, and bursts of
messages stay within Telegram's flood limits (the emulator enforces them).

The faults include sends that Telegram delivers before losing the answer: the bot cannot
tell those from sends that never arrived, so it re-sends neither; the moderators settle
each one from its card (forwarding the post, or putting the entry back in the queue)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.i18n import t
from bot.telegram.cards import post_missing_cards
from bot.telegram.notify import tell_apprentice
from bot.telegram.publisher import Publisher
from models import SubmissionStatus
from tests.support.publishing import (
    QUIET,
    add_entries,
    approve_on_card,
    card_of,
    cards_for_pending,
    channel_posts,
    entry_values,
    poster_names,
    rows,
    started_apprentice,
    upload_photo,
    wait_status,
)
from tests.support.stand import Stand, buttons, running_stand

S = SubmissionStatus
ENTRIES = 50


async def test_fifty_entries_posted_exactly_once_despite_faults(
    db_url: str, tmp_path: Path
) -> None:
    schedule = {**QUIET, "per_slot": 5}
    async with running_stand(db_url, tmp_path, schedule=schedule) as stand:
        emu = stand.emu
        # 50 posts into one channel take 90 s at Telegram's 20 a minute, which the bot's
        # limiter and the emulator both apply; real slots are hours apart. Not the subject
        # here: lift the per-channel pace on both sides, keep the overall one.
        emu.flood_limits.group_per_minute = 10_000
        limiter = stand.app.bot.rate_limiter
        assert limiter is not None
        limiter._group_max_rate = 0  # type: ignore[attr-defined]
        photo = await upload_photo(emu)
        apprentices = [started_apprentice(emu, f"A{n}") for n in range(ENTRIES)]
        ids = await add_entries(
            stand,
            [entry_values(user.id, n, photo_file_id=photo) for n, user in enumerate(apprentices)],
            status=S.PENDING,
        )
        await cards_for_pending(stand)
        while await post_missing_cards(stand.app.bot, stand.app.services):
            pass  # 20 cards per round
        for submission_id in ids:
            await approve_on_card(stand, submission_id)
        # A fifth of the sends fail; of the 5xx, time-outs and dropped connections, half
        # after the post was delivered.
        emu.fault_rate(
            ["sendPhoto"],
            0.2,
            ["429", "500", "timeout", "drop"],
            seed=2026,
            hold=0.2,
            delivered=0.5,
        )
        publisher = Publisher(stand.app.services)
        for _ in range(5 * ENTRIES):  # bounded: a tick stops at a failure that is not held
            await publisher.run_slot(stand.app.bot)
            await settle_unsure_posts(stand)
            stored = (await rows(stand)).values()
            if all(e.status == S.PUBLISHED for e in stored):
                break
        emu.clear_faults()

        faults = [c for c in emu.calls if c.method == "sendPhoto" and c.status != 200]
        statuses = {c.status for c in faults}
        assert statuses >= {429, 500, 0}, statuses  # 0: the connection closed, no answer
        posts = channel_posts(stand)
        answered = [c for c in emu.calls_for("sendPhoto") if c["chat_id"] == "@fiers_test"]
        assert len(answered) < len(posts), "no post was delivered with its answer lost"
        assert len(posts) == ENTRIES
        assert sorted(poster_names(posts)) == [f"Apprenti {n:02d}" for n in range(ENTRIES)]
        stored = await rows(stand)
        assert {stored[i].status for i in ids} == {S.PUBLISHED}
        by_post = {stored[i].channel_message_id: i for i in ids}
        assert sorted(by_post) == sorted(p["message_id"] for p in posts)
        for post in posts:
            entry = stored[by_post[post["message_id"]]]
            assert post["caption"].startswith(f"{entry.display_name} — ")
        # Each apprentice was told once of the publication, with the link of their post.
        for user, submission_id in zip(apprentices, ids, strict=True):
            link = f"https://t.me/fiers_test/{stored[submission_id].channel_message_id}"
            told = [m["text"] for m in emu.bot_messages(user) if "t.me/" in m["text"]]
            assert told == [t("fr", "published.with_link", link=link)]


async def settle_unsure_posts(stand: Stand) -> None:
    """What a careful moderator does with each card saying a post is unconfirmed: forward
    the post if the channel has it, else put the entry back in the queue."""
    moderator = stand.moderators[0]
    for entry in (await rows(stand)).values():
        if entry.status != S.NEEDS_CHECK:
            continue
        card = card_of(stand, entry)
        assert list(buttons(card).values()) == [f"mod:requeue:{entry.id}"], card
        found = [p for p in channel_posts(stand) if poster_names([p]) == [entry.display_name]]
        if found:
            [post] = found
            await stand.emu.forward_message(moderator, post, stand.group)
        else:
            await stand.press(moderator, card, f"mod:requeue:{entry.id}")
        await wait_status(stand, entry.id, S.PUBLISHED if found else S.APPROVED)


async def test_burst_of_200_notifications_meets_no_429(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        assert emu.flood_limits.enabled
        users = [started_apprentice(emu, f"Apprenti {n}") for n in range(200)]
        services = stand.app.services
        delivered = await asyncio.gather(
            *(
                tell_apprentice(stand.app.bot, services, u.id, "published.with_link", link="x")
                for u in users
            )
        )
        assert all(delivered)
        assert [c for c in emu.calls if c.status == 429] == []
        sent = [c for c in emu.calls if c.method == "sendMessage"]
        assert len(sent) == 200 and {c.status for c in sent} == {200}
        assert all(len(emu.bot_messages(u)) == 1 for u in users)
