"""A moderator taps « autre raison », the bot is killed (``kill -9``) and restarted, then
they type the reason in reply to the card: the entry is refused with that reason and the
apprentice is told it. The card waiting for a reason is persisted like a conversation."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import sentence, t
from bot.sandbox.emulator import Emulator
from models import SubmissionStatus
from models.state import load_state
from tests.support.publishing import QUIET, add_entry_with_photo, wait_row
from tests.support.stand import TOKEN, BotProcess, has_button, process_world, write_config

S = SubmissionStatus
REASON = "On ne voit pas ton poste de travail"


async def awaited_reasons(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """The cards whose typed reason the bot has written down as awaited."""
    async with asyncio.timeout(10):
        while True:
            async with sessions() as session:
                rows = await load_state(session, "bot")
            awaited = rows.get("", {}).get("typed_reasons", {})
            if awaited:
                return awaited
            await asyncio.sleep(0.05)


async def test_a_reason_typed_after_a_kill_9_refuses_the_entry(
    db_url: str, tmp_path: Path, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with Emulator(token=TOKEN, bot_username="fiers_bot") as emu:
        world = process_world(emu, tmp_path, db_url, schedule=QUIET)
        camille, group = world.moderator, world.group
        lea = emu.create_user("Léa")
        lea.started = True
        entry_id = await add_entry_with_photo(session_factory, world.raw, tmp_path, lea, S.PENDING)
        bot = BotProcess(write_config(tmp_path / "config.toml", world.raw))
        await bot.start()

        card = await emu.wait_for(group, has_button(f"mod:no:{entry_id}"), timeout=10)
        await emu.press_button(camille, card, f"mod:no:{entry_id}")
        await emu.wait_for(group, has_button(f"mod:other:{entry_id}"), timeout=10)
        await emu.press_button(camille, card, f"mod:other:{entry_id}")
        assert await awaited_reasons(session_factory) == {str(card["message_id"]): entry_id}
        assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL

        await bot.start()
        await emu.send_text(camille, REASON, chat=group, reply_to=card)
        entry = await wait_row(session_factory, entry_id, S.REFUSED)
        assert entry.refusal_reason == REASON
        told = await emu.wait_for(lea, REASON, timeout=10)
        assert told["text"] == t("fr", "decision.refused", reason=sentence(REASON))
        assert await bot.stop() == 0
