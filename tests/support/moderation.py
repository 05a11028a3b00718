"""Steps of the moderation flow: an apprentice's whole submission up to its card, the
card after its next edit, the audit trail."""

from __future__ import annotations

from sqlalchemy import select

from bot.sandbox.emulator import User
from models import ModerationAudit
from tests.support import imagegen
from tests.support.stand import Stand, data_of, has_button, walk_to_photo


async def submit(stand: Stand, user: User, photo: bytes | None = None, **choices) -> dict:
    """A whole apprentice flow; returns the card the moderators receive."""
    await walk_to_photo(stand, user, **choices)
    await stand.emu.send_photo(user, photo or imagegen.photo_jpeg(1280, 960, seed=user.id))
    await stand.press(user, await stand.reply(user, has_button("preview:")), "preview:send")
    await stand.reply(user, "envoy" if user.language_code == "fr" else "sent")
    return await stand.emu.wait_for(stand.group, has_button("mod:ok:"), edits=False)


def entry_id(card: dict) -> int:
    return int(next(d for d in data_of(card) if d.startswith("mod:ok:")).split(":")[2])


async def card_now(stand: Stand, card: dict, predicate: object = None) -> dict:
    """The card after its next edit (matching ``predicate``)."""
    return await stand.emu.wait_for(
        stand.group, lambda m: m["message_id"] == card["message_id"] and _match(m, predicate)
    )


def _match(message: dict, predicate: object) -> bool:
    if predicate is None:
        return True
    if callable(predicate):
        return bool(predicate(message))
    return str(predicate) in message.get("caption", "")


async def audit_actions(stand: Stand) -> list[tuple[str, int | None, str | None]]:
    async with stand.app.services.sessions() as session:
        rows = await session.scalars(select(ModerationAudit).order_by(ModerationAudit.id))
        return [(row.action, row.moderator_id, row.reason) for row in rows]


async def submit_one(stand: Stand, user, **choices) -> None:
    await walk_to_photo(stand, user, **choices)
    await stand.emu.send_photo(user, imagegen.photo_jpeg(1280, 960, seed=len(choices)))
    await stand.press(user, await stand.reply(user, has_button("preview:")), "preview:send")
    await stand.reply(user, "envoy")
