"""A follower's visit: a campaign with offers, an entry published, the deep link opened."""

from __future__ import annotations

from typing import Any

from bot.sandbox.emulator import User
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
