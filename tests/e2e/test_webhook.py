"""Webhook mode: forged requests are refused and counted; ``selfie-bot run`` registers its
webhook with Telegram (the emulator) and handles what it posts; back in polling mode the
webhook is deleted. And a graceful stop: SIGTERM while a post is being sent lets the
publication finish and be recorded, in both modes."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app.cli import ALLOWED_UPDATES
from bot.sandbox.emulator import Emulator, User
from bot.sandbox.emulator.testing import ApiClient
from bot.sandbox.emulator.webhook import SECRET_HEADER
from models import Submission, SubmissionStatus
from tests.support.publishing import (
    QUIET,
    add_entry_with_photo,
    wait_row,
)
from tests.support.stand import (
    TOKEN,
    WEBHOOK_SECRET,
    BotProcess,
    free_port,
    has_button,
    process_config,
    process_world,
    running_stand,
    until,
    webhook_config,
    write_config,
)

S = SubmissionStatus


def refused_count() -> float:
    return REGISTRY.get_sample_value("selfie_webhook_refused_total") or 0.0


def forged_start(user: User) -> dict[str, Any]:
    """A well-formed update Telegram never sent: ``/start`` from ``user``."""
    return {
        "update_id": 900_000,
        "message": {
            "message_id": 900,
            "date": 1_800_000_000,
            "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
            "from": user.to_dict(),
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_forged_requests_get_403_are_not_handled_and_are_counted(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_stand(db_url, tmp_path, mode="webhook") as stand:
        lea = stand.emu.create_user("Léa")
        lea.started = True  # the bot could answer her: a handled forgery would show
        before = refused_count()
        async with aiohttp.ClientSession() as session:
            for headers in ({}, {SECRET_HEADER: "not-the-secret"}):
                async with session.post(
                    stand.settings.telegram.webhook_url, json=forged_start(lea), headers=headers
                ) as answer:
                    assert answer.status == 403
        assert refused_count() == before + 2
        # A real update after the forged ones is handled; the forged ones were not (Léa's
        # updates are handled in order, so theirs would have come first).
        await stand.emu.send_text(lea, "/start")
        await stand.reply(lea, has_button("consent:"))
        welcomes = [m for m in stand.emu.bot_messages(lea) if has_button("consent:")(m)]
        assert len(welcomes) == 1
        assert stand.emu.api.webhook.delivered  # the real one came through the webhook
    # The webhook's server quotes no update, forged or real (names, texts); PTB's own
    # lines are capped by the command's logging (CAPPED_LOGGERS).
    assert [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith(("bot.app.webhook", "aiohttp", "telegram.ext.Updater"))
        and ("Léa" in r.getMessage() or r.levelno < logging.INFO)
    ] == []


async def webhook_info(emu: Emulator) -> dict[str, Any]:
    async with ApiClient(emu) as api:
        info: dict[str, Any] = await api.ok("getWebhookInfo")
        return info


async def test_run_registers_the_webhook_and_polling_deletes_it(
    db_url: str, tmp_path: Path
) -> None:
    async with Emulator(token=TOKEN, bot_username="fiers_bot") as emu:
        raw = process_config(emu, tmp_path, db_url, schedule=QUIET)
        hook = webhook_config(free_port())
        raw["telegram"].update(hook)
        config = write_config(tmp_path / "config.toml", raw)
        bot = BotProcess(config)
        await bot.start()
        # "ready" is logged before the webhook server starts and registers itself.
        await until(lambda: emu.api.webhook.url == hook["webhook_url"])
        info = await webhook_info(emu)
        assert info["url"] == hook["webhook_url"]
        assert info["allowed_updates"] == sorted(ALLOWED_UPDATES)
        assert emu.api.webhook.secret == WEBHOOK_SECRET
        lea = emu.create_user("Léa")
        await emu.send_text(lea, "/start")
        await emu.wait_for(lea, has_button("consent:"), timeout=10)
        assert emu.api.webhook.delivered
        assert await bot.stop() == 0

        raw["telegram"]["mode"] = "polling"
        write_config(config, raw)
        await bot.start()
        await until(lambda: not emu.api.webhook.active)
        assert (await webhook_info(emu))["url"] == ""
        await emu.send_text(lea, "/start")
        await emu.wait_for(lea, has_button("consent:"), timeout=10)
        assert await bot.stop() == 0
    assert "Traceback" not in bot.log
    assert WEBHOOK_SECRET not in bot.log


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_sigterm_during_a_post_finishes_and_records_it(
    db_url: str, tmp_path: Path, session_factory: async_sessionmaker[AsyncSession], mode: str
) -> None:
    async with Emulator(token=TOKEN, bot_username="fiers_bot") as emu:
        world = process_world(emu, tmp_path, db_url, schedule=QUIET)
        raw, camille, group, channel = world.raw, world.moderator, world.group, world.channel
        lea = emu.create_user("Léa")
        lea.started = True  # she talked to the bot: it may write to her
        if mode == "webhook":
            raw["telegram"].update(webhook_config(free_port()))
        entry_id = await add_entry_with_photo(session_factory, raw, tmp_path, lea, S.APPROVED)
        bot = BotProcess(write_config(tmp_path / "config.toml", raw))
        await bot.start()
        if mode == "webhook":
            await until(lambda: emu.api.webhook.active)
        emu.inject_fault(
            "sendPhoto", "delay", hold=3, match=lambda p: p.get("chat_id") == "@fiers_test"
        )
        await emu.send_text(camille, "/publish_now", chat=group)
        await wait_row(session_factory, entry_id, S.PUBLISHING)
        await until(lambda: emu.faults.pending() == {})  # the send is held by Telegram
        assert emu.bot_messages(channel) == []
        # The deadline is the service's promise: exit within 10 s of SIGTERM.
        assert await bot.stop(signal.SIGTERM, timeout=10) == 0

        [post] = emu.bot_messages(channel)
        sent = [c for c in emu.calls_for("sendPhoto") if c["chat_id"] == "@fiers_test"]
        assert len(sent) == 1
        async with session_factory() as session:
            entry = await session.get(Submission, entry_id)
            assert entry is not None
            assert (entry.status, entry.channel_message_id) == (
                S.PUBLISHED,
                post["message_id"],
            )
    assert "Traceback" not in bot.log
