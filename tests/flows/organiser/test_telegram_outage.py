"""Telegram unreachable for longer than the polling time-out (issue 27): the emulator stops
(connections refused), then starts again on the same address with everything it held. The
bot keeps running, /healthz says ``telegram:`` while it lasts, polling or the webhook
resumes by itself, and the slots that fell in the outage publish one post each afterwards:
the configured pace, not a burst."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.i18n import t
from models import SubmissionStatus
from tests.support.monitoring import until_health
from tests.support.publishing import QUIET, channel_posts, queued_with_cards, rows, tick
from tests.support.stand import running_stand

S = SubmissionStatus
OUTAGE = 3.0
"""Seconds without Telegram: three times the stand's polling time-out (1 s)."""


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_telegram_gone_for_a_while_then_back(db_url: str, tmp_path: Path, mode: str) -> None:
    async with running_stand(db_url, tmp_path, mode=mode, schedule=QUIET) as stand:
        emu = stand.emu
        ids = await queued_with_cards(stand, 3)
        port = emu.port
        await until_health(stand, "ok")

        await emu.stop()
        status, body = await until_health(stand, "telegram: ")
        assert status == 503 and "\n" not in body.rstrip("\n")
        for _ in range(3):  # three slots fall in the outage: nothing can be posted
            assert await tick(stand) == []
        await asyncio.sleep(OUTAGE)
        assert {entry.status for entry in (await rows(stand)).values()} == {S.APPROVED}

        await emu.start(port=port)
        assert await until_health(stand, "ok", timeout=40) == (200, "ok\n")
        lea = emu.create_user("Léa")
        await emu.send_text(lea, "/start")
        await stand.reply(lea, timeout=40)  # the bot hears again, by itself

        assert await tick(stand) == [ids[0]]  # one slot, one post: the pace holds
        assert len(channel_posts(stand)) == 1
        assert await tick(stand) == [ids[1]]
        assert [p["caption"].split(" — ")[0] for p in channel_posts(stand)] == [
            "Apprenti 00",
            "Apprenti 01",
        ]
        assert t("fr", "publishing.needs_check", numbers=str(ids[0])) not in [
            m.get("text") for m in emu.bot_messages(stand.group)
        ]
