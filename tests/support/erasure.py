"""The apprentice's erasure (``/supprimer``) and what it leaves: removals, requests
to the moderators."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.sandbox.emulator import User
from models import Removal
from tests.support.stand import Stand, has_button


async def erase(stand: Stand, user: User) -> str:
    """``/supprimer`` and its confirmation; the bot's last words to the apprentice."""
    await stand.emu.send_text(user, "/supprimer")
    await stand.press(user, await stand.reply(user, has_button("erase:")), "erase:yes")
    return str((await stand.reply(user, "effacées"))["text"])  # either erase.done text


async def removals(stand: Stand) -> list[Removal]:
    async with stand.app.services.sessions() as session:
        return list(await session.scalars(select(Removal).order_by(Removal.id)))


def requests(stand: Stand) -> list[dict[str, Any]]:
    """The bot's requests to the moderators to remove a message by hand."""
    return [m for m in stand.emu.bot_messages(stand.group) if has_button("rm:done:")(m)]
