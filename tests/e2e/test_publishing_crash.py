"""``kill -9`` while a post is being sent: nothing is re-posted silently, nothing is lost.
``selfie-bot run`` is a real subprocess; the emulator holds the answer of the send (after
delivering the post, or not), so the bot dies not knowing whether it went out. At the next
start it looks for the post on the channel itself: found, it is recorded (its id is then
known, so an erasure still deletes it); certainly absent, the entry is queued again and
posted once."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import t, tn
from bot.sandbox.emulator import Emulator
from models import SubmissionStatus
from tests.support.publishing import (
    QUIET,
    add_entry_with_photo,
    wait_row,
)
from tests.support.stand import (
    TOKEN,
    BotProcess,
    has_button,
    process_world,
    until,
    write_config,
)

S = SubmissionStatus


@pytest.mark.parametrize("delivered", [True, False], ids=["posted", "not-posted"])
async def test_kill_9_during_the_post_is_settled_at_the_next_start_without_a_duplicate(
    db_url: str, tmp_path: Path, session_factory: async_sessionmaker[AsyncSession], delivered: bool
) -> None:
    async with Emulator(token=TOKEN, bot_username="fiers_bot") as emu:
        world = process_world(emu, tmp_path, db_url, schedule=QUIET)
        raw, camille, group, channel = world.raw, world.moderator, world.group, world.channel
        lea = emu.create_user("Léa")
        lea.started = True  # she talked to the bot: it may write to her
        # Submitted while the bot was down: stored photo, no card yet.
        entry_id = await add_entry_with_photo(session_factory, raw, tmp_path, lea, S.PENDING)
        bot = BotProcess(write_config(tmp_path / "config.toml", raw))
        await bot.start()

        card = await emu.wait_for(group, has_button(f"mod:ok:{entry_id}"), timeout=10)
        await emu.press_button(camille, card, f"mod:ok:{entry_id}")
        await wait_row(session_factory, entry_id, S.APPROVED)
        emu.inject_fault("sendPhoto", "timeout", delivered=delivered, hold=60)
        await emu.send_text(camille, "/publish_now", chat=group)
        await until(lambda: any(c.method == "sendPhoto" for c in emu.calls[-3:]))
        await until(lambda: len(emu.bot_messages(channel)) == int(delivered))
        await wait_row(session_factory, entry_id, S.PUBLISHING)
        assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
        assert emu.faults.pending() == {}

        await bot.start()  # the start-up check runs before "ready"
        if delivered:  # the bot finds its post on the channel and records it
            [post] = emu.bot_messages(channel)
            sent = [c for c in emu.calls_for("sendPhoto") if c["chat_id"] == "@fiers_test"]
            assert sent == []  # the held call never answered; no call since
        else:  # certainly not on the channel: back in the queue, posted at the next slot
            await wait_row(session_factory, entry_id, S.APPROVED)
            assert emu.bot_messages(channel) == []
            await emu.send_text(camille, "/publish_now", chat=group)
            await until(lambda: len(emu.bot_messages(channel)) == 1)
            [post] = emu.bot_messages(channel)
        entry = await wait_row(session_factory, entry_id, S.PUBLISHED)
        assert entry.channel_message_id == post["message_id"]
        link = f"https://t.me/fiers_test/{post['message_id']}"
        await emu.wait_for(lea, t("fr", "published.with_link", link=link), timeout=10)
        # Whatever happens next, the entry is never posted again.
        await emu.send_text(camille, "/publish_now", chat=group)
        await emu.wait_for(group, t("fr", "publishing.queue_empty"), timeout=10)
        assert emu.bot_messages(channel) == [post]

        # Its post's id is known either way: erasing it takes the post down.
        await emu.send_text(lea, "/supprimer")
        confirm = await emu.wait_for(lea, t("fr", "erase.confirm"), timeout=10)
        await emu.press_button(lea, confirm, "erase:yes")
        await emu.wait_for(lea, tn("fr", "erase.done", 1), timeout=10)
        assert emu.bot_messages(channel) == []
        assert await bot.stop() == 0
    assert "Traceback" not in bot.log
    alert = t("fr", "publishing.needs_check", numbers=str(entry_id))
    assert all(m.get("text") != alert for m in emu.messages(group))  # nobody had to look
