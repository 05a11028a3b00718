"""Steps of the publishing flow: entries stored as an approval leaves them, a slot
run as the scheduler runs it, cards, the rows and channel posts to check."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaign.consent import consent_version
from bot.config import settings_from_dict
from bot.photos.store import PhotoStore
from bot.sandbox.emulator import Emulator, User
from bot.telegram.cards import post_missing_cards, refresh_card
from bot.telegram.publisher import Publisher
from models import AgeBand, Apprentice, Submission, SubmissionStatus
from models.base import utcnow
from models.lifecycle import approve
from tests.support import imagegen
from tests.support.stand import Stand

S = SubmissionStatus


# 29 February, 03:00: a crontab that cannot fire while a test runs; ticks are the test's.
QUIET_CRON = "0 3 29 2 *"


QUIET = {"cron": QUIET_CRON}


PEOPLE = [  # name, trade, centre code, centre name: the site's browser tests'
    ("Léa", "Pâtissier·ère", "cfa-auxerre", "CFA d'Auxerre"),
    ("Tom", "Coiffeur·se", "cfa-dijon", "CFA de Dijon"),
    ("Inès", "Coiffeur·se", "cfa-macon", "CFA de Mâcon"),
]


async def upload_photo(emu: Emulator) -> str:
    """``file_id`` of a photo the emulator knows, uploaded where the bot sees nothing."""
    someone = emu.create_user("Dépôt")
    depot = emu.create_group("Dépôt", members=[someone], bot_status="left")
    message = await emu.send_photo(someone, imagegen.photo_jpeg(800, 1000), chat=depot)
    return str(message["photo"][-1]["file_id"])


def entry_values(apprentice_id: int, number: int, **fields: Any) -> dict[str, Any]:
    """A complete submission as the apprentice conversation stores it."""
    return {
        "apprentice_id": apprentice_id,
        "display_name": f"Apprenti {number:02d}",
        "trade": "Coiffeur·se",
        "centre_code": "cfa-dijon",
        "centre_name": "CFA de Dijon",
        "quote": None,
        "language": "fr",
        "age_band": AgeBand.ADULT,
        "consent_at": utcnow(),
        "width": 800,
        "height": 1000,
        "sharpness": 200.0,
        **fields,
    }


async def add_entries(
    stand_or_sessions: Any,
    entries: list[dict[str, Any]],
    status: SubmissionStatus = S.APPROVED,
) -> list[int]:
    """Store entries in ``status``; approved ones enter the queue in the list's order
    (unless an entry brings its own ``approved_at``)."""
    sessions = (
        stand_or_sessions.app.services.sessions
        if isinstance(stand_or_sessions, Stand)
        else stand_or_sessions
    )
    start = utcnow() - timedelta(hours=1)
    ids = []
    async with sessions() as session, session.begin():
        for position, values in enumerate(entries):
            apprentice_id = values["apprentice_id"]
            if await session.get(Apprentice, apprentice_id) is None:
                session.add(Apprentice(id=apprentice_id, first_name="Appr", language="fr"))
            moment = start + timedelta(seconds=position)
            decided = moment if status == S.APPROVED else None
            fields = {
                "submitted_at": moment,
                "approved_at": decided,
                "decided_at": decided,
                "decided_by_name": "Camille" if decided else None,
                **values,
            }
            submission = Submission(status=status, **fields)
            session.add(submission)
            await session.flush()
            ids.append(submission.id)
    return ids


async def rows(stand: Stand) -> dict[int, Submission]:
    return {entry.id: entry for entry in await stand.stored()}


async def queued_with_cards(stand: Stand, count: int, **fields: Any) -> list[int]:
    """``count`` entries approved in this order, each with its card in the group."""
    photo = await upload_photo(stand.emu)
    users = [started_apprentice(stand.emu, f"A{n}") for n in range(count)]
    values = [entry_values(u.id, n, photo_file_id=photo, **fields) for n, u in enumerate(users)]
    ids = await add_entries(stand, values, status=S.PENDING)
    await cards_for_pending(stand)
    for submission_id in ids:  # as a moderator's "approve" leaves them, in this order
        async with stand.app.services.sessions() as session, session.begin():
            assert await approve(session, submission_id, stand.moderators[0].id, "Camille")
        await refresh_card(stand.app.bot, stand.app.services, submission_id)
    return ids


def search_fails(stand: Stand) -> None:
    """Every edit on the channel fails from now on: after an ambiguous send the bot cannot
    look for its post there (:mod:`bot.telegram.probe`), so the moderators are asked."""
    stand.emu.inject_fault(
        "editMessageReplyMarkup", "502", count=None, match=lambda p: p["chat_id"] == "@fiers_test"
    )


def channel_posts(stand: Stand) -> list[dict[str, Any]]:
    return stand.emu.bot_messages(stand.channel)


def poster_names(posts: list[dict[str, Any]]) -> list[str]:
    """The display name each post starts with ("Léa — Coiffeur·se …")."""
    return [post["caption"].split(" — ", 1)[0] for post in posts]


async def tick(stand: Stand) -> list[int]:
    """One publication slot, exactly as the scheduler would run it."""
    return await Publisher(stand.app.services).run_slot(stand.app.bot)


async def cards_for_pending(stand: Stand) -> None:
    """Have the bot post the cards of pending entries stored by the test.

    The bot does it at start, then from its retry job every ``moderation.retry_seconds``
    (a minute: it does not run during a test); here it is done at once.
    """
    await post_missing_cards(stand.app.bot, stand.app.services)


def card_of(stand: Stand, entry: Submission) -> dict[str, Any]:
    [card] = [
        m for m in stand.emu.messages(stand.group) if m["message_id"] == entry.moderation_message_id
    ]
    return card


async def approve_on_card(stand: Stand, submission_id: int) -> None:
    """A moderator presses "approve" on the entry's card; waits for the decision."""
    entry = (await rows(stand))[submission_id]
    await stand.press(stand.moderators[0], card_of(stand, entry), f"mod:ok:{submission_id}")
    await wait_status(stand, submission_id, S.APPROVED)


async def unpublish_on_card(stand: Stand, card: dict[str, Any], submission_id: int) -> str:
    """« Retirer de la chaîne », then its confirmation; the confirming press's query id."""
    moderator = stand.moderators[0]
    await stand.press(moderator, card, f"mod:unpub:{submission_id}")
    confirm = f"mod:unpubok:{submission_id}"
    asked = await stand.emu.wait_for(
        stand.group,
        lambda m: m["message_id"] == card["message_id"] and confirm in str(m.get("reply_markup")),
    )
    return await stand.press(moderator, asked, confirm)


async def wait_status(stand: Stand, submission_id: int, status: SubmissionStatus) -> Submission:
    async with asyncio.timeout(10):
        while True:
            entry = (await rows(stand)).get(submission_id)
            if entry is not None and entry.status == status:
                return entry
            await asyncio.sleep(0.02)


async def moderator_says(stand: Stand, command: str, answer: str) -> dict[str, Any]:
    """A moderator types ``command`` in the group; the bot's reply containing ``answer``."""
    await stand.emu.send_text(stand.moderators[0], command, chat=stand.group)
    return await stand.emu.wait_for(stand.group, answer, timeout=10, edits=False)


def started_apprentice(emu: Emulator, name: str) -> User:
    """An apprentice who has written to the bot before (so the bot may write to them)."""
    user = emu.create_user(name)
    user.started = True
    return user


async def wait_row(
    sessions: async_sessionmaker[AsyncSession], submission_id: int, status: SubmissionStatus
) -> Submission:
    async with asyncio.timeout(10):
        while True:
            async with sessions() as session:
                entry = await session.get(Submission, submission_id)
            if entry is not None and entry.status == status:
                return entry
            await asyncio.sleep(0.02)


async def add_entry_with_photo(
    sessions: Any, raw: dict[str, Any], data_dir: Path, user: User, status: SubmissionStatus
) -> int:
    """One entry of ``user`` in ``status``, its photo in the store of configuration ``raw``:
    as a bot that was down finds it at its start."""
    settings = settings_from_dict(raw, base_dir=data_dir)
    photo_path = PhotoStore(settings.storage.path).save(imagegen.photo_jpeg(900, 1200))
    [entry_id] = await add_entries(
        sessions, [entry_values(user.id, 1, photo_path=photo_path)], status=status
    )
    return entry_id


async def publish_people(stand: Stand) -> list[int]:
    """:data:`PEOPLE` published one slot each, with quotes and photos, in their order."""
    photos = stand.app.services.photos
    version = consent_version("fr", stand.settings)
    values = []
    for number, (name, trade, code, centre) in enumerate(PEOPLE, start=1):
        person = started_apprentice(stand.emu, name)
        values.append(
            entry_values(
                person.id,
                number,
                display_name=name,
                trade=trade,
                centre_code=code,
                centre_name=centre,
                quote=f"J'aime mon métier, signé {name}",
                photo_path=photos.save(imagegen.photo_jpeg(900, 1200, seed=number)),
                consent_version=version,
            )
        )
    ids = await add_entries(stand, values)
    for entry_id in ids:
        assert await tick(stand) == [entry_id]
    return ids
