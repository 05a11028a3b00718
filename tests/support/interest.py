"""A follower's visit: a campaign with offers, an entry published, the deep link opened
(once, or many times at once), on another day."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.i18n import t
from bot.sandbox.emulator import User
from bot.telegram.concurrency import PerUserUpdateProcessor
from models.base import utcnow
from tests.support.publishing import (
    add_entries,
    entry_values,
    tick,
    upload_photo,
)
from tests.support.stand import CAMPAIGN, Stand

OFFERS = {
    "offers_url": "https://emploi.example.org/offres?metier={trade_slug}&q={trade}",
    "trade_offers": {"pâtissier·ère": "https://patisserie.example.org/"},  # any case
}


def campaign(**values: Any) -> dict[str, Any]:
    return {**CAMPAIGN, **OFFERS, **values}


async def published(stand: Stand, trade: str, number: int, **fields: Any) -> int:
    photo = await upload_photo(stand.emu)
    values = entry_values(50 + number, number, trade=trade, photo_file_id=photo, **fields)
    [entry_id] = await add_entries(stand, [values])
    await tick(stand)
    return entry_id


async def follow(stand: Stand, user: User, entry_id: int) -> dict[str, Any]:
    await stand.emu.send_text(user, f"/start post-{entry_id}")
    return await stand.reply(user)


async def burst(stand: Stand, user: User, entry_id: int, times: int) -> list[str]:
    """``/start post-<entry_id>`` sent ``times`` times at once, as fast as the emulator
    takes them; what the bot said to ``user`` once every one of them is handled (the
    flood guard may drop those over the person's queue: one "slow down" for them).

    Proof that all are handled: the person's queue empties, then a later /aide is
    answered after them (a person's updates run in order)."""
    before = len(stand.emu.bot_messages(user))
    for _ in range(times):
        await stand.emu.send_text(user, f"/start post-{entry_id}")
    processor = stand.app.update_processor
    assert isinstance(processor, PerUserUpdateProcessor)
    async with asyncio.timeout(30):
        while len(stand.emu.bot_messages(user)) == before or processor.queued(user.id):
            await asyncio.sleep(0.02)
    await stand.emu.send_text(user, "/aide")
    await stand.reply(user, t("fr", "command.help"), timeout=20)
    said = [m.get("text", "") for m in stand.emu.bot_messages(user)[before:]]
    return said[:-1]


def days_later(monkeypatch: pytest.MonkeyPatch, days: int) -> datetime:
    """The followers' clock ``days`` days on: the interest handler's ``utcnow`` (what a
    visit's day is taken from) is moved, nothing else. Returns the moment it now says."""
    moment = utcnow() + timedelta(days=days)
    monkeypatch.setattr("handlers.interest.utcnow", lambda: moment)
    return moment
