"""Messages Telegram delivered but whose answer it lost: a moderation card the bot does not
know it sent, a reply it could not confirm. Found by the chaos run; each one here."""

from __future__ import annotations

import asyncio
import html
from pathlib import Path
from typing import Any

from bot.i18n import t, tn
from bot.sandbox.emulator import User
from bot.telegram.cards import post_missing_cards
from models import SubmissionStatus
from tests.support import imagegen
from tests.support.erasure import erase, removals, requests
from tests.support.publishing import QUIET, rows, wait_status
from tests.support.stand import Stand, answer_of, data_of, has_button, running_stand, walk_to_photo

S = SubmissionStatus


async def submit_with_lost_card(stand: Stand, user: User) -> tuple[int, dict[str, Any]]:
    """A whole flow whose card reaches the group while its answer is lost."""
    group = str(stand.group.id)
    stand.emu.inject_fault(
        "sendPhoto", "timeout", delivered=True, hold=0.2, match=lambda p: str(p["chat_id"]) == group
    )
    await walk_to_photo(stand, user)
    await stand.emu.send_photo(user, imagegen.photo_jpeg(1280, 960, seed=user.id))
    await stand.press(user, await stand.reply(user, has_button("preview:")), "preview:send")
    orphan = await stand.emu.wait_for(stand.group, has_button("mod:ok:"), edits=False)
    [entry] = (await rows(stand)).values()
    async with asyncio.timeout(10):
        while not (await rows(stand))[entry.id].card_lost:
            await asyncio.sleep(0.02)
    assert (await rows(stand))[entry.id].moderation_message_id is None
    return entry.id, orphan


def shown_cards(stand: Stand, entry_id: int) -> list[dict[str, Any]]:
    return [m for m in stand.emu.messages(stand.group) if f"mod:ok:{entry_id}" in data_of(m)]


async def test_the_only_card_is_adopted_when_a_moderator_uses_it(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        entry_id, orphan = await submit_with_lost_card(stand, stand.emu.create_user("Ana"))
        await stand.press(stand.moderators[0], orphan, f"mod:ok:{entry_id}")
        entry = await wait_status(stand, entry_id, S.APPROVED)
        assert entry.moderation_message_id == orphan["message_id"]
        shown = await stand.emu.wait_for(
            stand.group, lambda m: m["message_id"] == orphan["message_id"] and "✅" in m["caption"]
        )
        assert f"mod:now:{entry_id}" in data_of(shown)
        await post_missing_cards(stand.app.bot, stand.app.services)
        assert len(stand.emu.bot_messages(stand.group)) == 1  # no second card


async def test_a_copy_is_removed_and_the_recorded_card_decides(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        camille = stand.moderators[0]
        entry_id, orphan = await submit_with_lost_card(stand, stand.emu.create_user("Ana"))
        await post_missing_cards(stand.app.bot, stand.app.services)  # the retry job's card
        [_, card] = shown_cards(stand, entry_id)
        query = await stand.press(camille, orphan, f"mod:ok:{entry_id}")
        answer = await answer_of(stand, query)
        assert answer["text"] == t("fr", "mod.duplicate_card", number=entry_id)
        assert shown_cards(stand, entry_id) == [card]  # the copy is gone
        assert (await rows(stand))[entry_id].status == S.PENDING
        await stand.press(camille, card, f"mod:ok:{entry_id}")
        await wait_status(stand, entry_id, S.APPROVED)
        assert await removals(stand) == []


async def test_erasing_an_entry_whose_card_was_lost_asks_for_its_copy(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        ana = stand.emu.create_user("Ana")
        entry_id, orphan = await submit_with_lost_card(stand, ana)
        assert await erase(stand, ana) == tn("fr", "erase.done_messages_pending", 1)
        [request] = requests(stand)
        assert html.unescape(t("fr", "removal.lost_card", number=entry_id)) == request["text"]
        stand.emu.delete_message(orphan)  # a moderator finds it
        query = await stand.press(stand.moderators[0], request, data_of(request)[0])
        assert (await answer_of(stand, query))["text"] == t("fr", "removal.check.gone")
        assert await removals(stand) == []


async def test_a_start_that_telegram_refuses_keeps_the_entry_being_built(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        ana = stand.emu.create_user("Ana")
        await walk_to_photo(stand, ana)
        stand.emu.inject_fault("sendMessage", "502", count=2)  # the reply and its retry
        await stand.emu.send_text(ana, "/start")
        async with asyncio.timeout(10):
            while stand.emu.faults.pending():
                await asyncio.sleep(0.02)
        # She sends her photo anyway: the answers she gave are still there.
        await stand.emu.send_photo(ana, imagegen.photo_jpeg(1280, 960, seed=1))
        preview = await stand.reply(ana, has_button("preview:"))
        assert "preview:send" in data_of(preview)


async def test_a_photo_without_its_answers_is_refused_and_leaves_no_file(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        ana = stand.emu.create_user("Ana")
        await walk_to_photo(stand, ana)
        stand.app.user_data[ana.id]["entry"].pop("consent_at")  # lost, whatever the cause
        await stand.emu.send_photo(ana, imagegen.photo_jpeg(1280, 960, seed=1))
        assert (await stand.reply(ana))["text"] == t("fr", "common.lost_track")
        photos = stand.settings.storage.path
        assert not photos.exists() or not [p for p in photos.rglob("*") if p.is_file()]
        assert await rows(stand) == {}
        await stand.emu.send_text(ana, "/start")
        await stand.reply(ana, has_button("consent:"))
