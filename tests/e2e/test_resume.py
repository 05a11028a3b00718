"""``kill -9`` at any step, then a restart: the apprentice goes on where they were."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

from sqlalchemy import select

from bot.i18n import t
from bot.sandbox.emulator import Emulator, User
from models import Submission, SubmissionStatus
from models.db import make_engine, make_sessionmaker
from models.state import load_state
from tests.support import imagegen
from tests.support.stand import TOKEN, BotProcess, has_button, process_config, write_config


async def persisted_state(db_url: str, user: User, expected: str, timeout: float = 10.0) -> None:
    """Wait until the bot has written ``expected`` as the user's conversation state."""
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    key = json.dumps([user.id, user.id])
    try:
        async with asyncio.timeout(timeout):
            while True:
                async with sessions() as session:
                    states = await load_state(session, "conversation:apprentice")
                if states.get(key) == expected:
                    return
                await asyncio.sleep(0.05)
    finally:
        await engine.dispose()


async def test_kill_9_at_each_step_resumes_with_answers_kept(db_url: str, tmp_path: Path) -> None:
    async with Emulator(token=TOKEN, bot_username="fiers_bot") as emu:
        raw = process_config(emu, tmp_path, db_url)
        bot = BotProcess(write_config(tmp_path / "config.toml", raw))

        async def crash_and_restart(step: str) -> None:
            await persisted_state(db_url, lea, step)
            assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
            await bot.start()

        async def reply(predicate: object = None) -> dict:
            return await emu.wait_for(lea, predicate, timeout=10)

        lea = emu.create_user("Léa")
        await bot.start()
        await emu.send_text(lea, "/start")
        await reply(has_button("consent:"))
        await crash_and_restart("consent")
        pitch = [m for m in emu.bot_messages(lea) if "consent:yes" in str(m)][-1]
        await emu.press_button(lea, pitch, "consent:yes")
        await emu.press_button(lea, await reply(has_button("age:")), "age:minor")
        await emu.press_button(lea, await reply(has_button("guardian:")), "guardian:yes")
        await emu.press_button(lea, await reply(has_button("name:")), "name:other")
        await reply(t("fr", "name.type_it"))
        await crash_and_restart("name_typed")

        await emu.send_text(lea, "Léa B.")
        await emu.press_button(lea, await reply(has_button("trade:")), "trade:0:1")
        await reply(has_button("centre:"))
        await crash_and_restart("centre")

        await emu.send_text(lea, "CFA de Dijon")
        await emu.send_text(lea, "J'adore mon métier")
        await reply("📸")
        await crash_and_restart("photo")

        await emu.send_photo(lea, imagegen.photo_jpeg(1280, 960))
        preview = await reply(has_button("preview:"))
        await crash_and_restart("preview")

        await emu.press_button(lea, preview, "preview:send")
        await reply(t("fr", "preview.thanks"))
        assert await bot.stop() == 0

    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            [entry] = list(await session.scalars(select(Submission)))
    finally:
        await engine.dispose()
    assert entry.status == SubmissionStatus.PENDING
    assert (entry.display_name, entry.trade, entry.centre_code) == (
        "Léa B.",
        "Esthéticien·ne",
        "cfa-dijon",
    )
    assert entry.quote == "J'adore mon métier"
    assert entry.guardian_confirmed_at is not None and entry.consent_at is not None
    assert "Traceback" not in bot.log
