"""``selfie-bot run`` as a subprocess against the emulator: ready, answers, stops cleanly."""

from __future__ import annotations

import signal
from pathlib import Path

from bot.sandbox.emulator import Emulator
from tests.support.stand import TOKEN, BotProcess, process_config, write_config


async def test_run_answers_start_and_stops_on_sigterm(tmp_path: Path) -> None:
    async with Emulator(token=TOKEN, bot_username="fiers_bot") as emu:
        raw = process_config(emu, tmp_path)
        bot = BotProcess(write_config(tmp_path / "config.toml", raw))
        await bot.start()
        lea = emu.create_user("Léa")
        await emu.send_text(lea, "/start")
        answer = await emu.wait_for(lea, timeout=2.0)
        assert "Fiers d'être apprentis" in answer["text"]
        assert await bot.stop(signal.SIGTERM) == 0

    assert (tmp_path / "data" / "bot.sqlite3").is_file()
    ready = next(line for line in bot.lines if "selfie-bot ready" in line)
    assert (
        "@fiers_bot" in ready
        and "@fiers_test" in ready
        and str(raw["moderation"]["chat_id"]) in ready
    )
    assert "database sqlite" in ready
    secret = TOKEN.split(":")[1]
    assert secret not in bot.log
    assert "Traceback" not in bot.log
