"""Bans: they stop publication (even of entries already approved), they never take away a
person's right to see or erase their data, and they hold for people not seen yet."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.i18n import plain_n, t, tn
from models import Apprentice, SubmissionStatus
from tests.support.publishing import (
    QUIET,
    add_entries,
    approve_on_card,
    card_of,
    cards_for_pending,
    channel_posts,
    entry_values,
    rows,
    started_apprentice,
    tick,
    upload_photo,
    wait_status,
)
from tests.support.stand import answer_of, buttons, has_button, running_stand

S = SubmissionStatus


async def test_a_ban_empties_the_queue_and_offers_to_take_posts_down(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu, camille = stand.emu, stand.moderators[0]
        spam, lea = started_apprentice(emu, "Spam"), started_apprentice(emu, "Léa")
        photo = await upload_photo(emu)
        posted, queued, waiting, other = await add_entries(
            stand,
            [
                entry_values(spam.id, 1, photo_file_id=photo),
                entry_values(spam.id, 2, photo_file_id=photo),
                entry_values(spam.id, 3, photo_file_id=photo),
                entry_values(lea.id, 4, photo_file_id=photo),
            ],
            status=S.PENDING,
        )
        await cards_for_pending(stand)
        for entry_id in (posted, queued, other):
            await approve_on_card(stand, entry_id)
        assert await tick(stand) == [posted]

        await emu.send_text(camille, f"/ban {spam.id}", chat=stand.group)
        await emu.wait_for(stand.group, tn("fr", "mod.banned_user", 2, user=spam.id))
        offer = await emu.wait_for(stand.group, has_button("ban:unpub:"))
        stored = await rows(stand)
        assert [(stored[i].status, stored[i].refusal_reason) for i in (queued, waiting)] == [
            (S.REFUSED, "banned"),
            (S.REFUSED, "banned"),
        ]
        assert f"mod:now:{queued}" not in buttons(card_of(stand, stored[queued])).values()
        assert stored[posted].status == S.PUBLISHED  # on the channel until a moderator says
        # The next slot skips the banned person's entries.
        assert await tick(stand) == [other]

        query = await stand.press(camille, offer, f"ban:unpub:{spam.id}")
        answer = await answer_of(stand, query)
        assert answer["text"] == plain_n("fr", "mod.unpublished_all", 1)
        assert [p["caption"].split(" — ")[0] for p in channel_posts(stand)] == ["Apprenti 04"]
        entry = (await rows(stand))[posted]
        assert (entry.status, entry.refusal_reason) == (S.REFUSED, "unpublished")


async def test_banned_people_can_still_see_and_erase_their_data(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu, camille = stand.emu, stand.moderators[0]
        spam = started_apprentice(emu, "Spam")
        photo = await upload_photo(emu)
        [entry_id] = await add_entries(
            stand, [entry_values(spam.id, 1, photo_file_id=photo)], status=S.PENDING
        )
        await cards_for_pending(stand)
        await emu.send_text(camille, f"/ban {spam.id}", chat=stand.group)
        await wait_status(stand, entry_id, S.REFUSED)

        await emu.send_text(spam, "/start")
        assert (await stand.reply(spam))["text"] == t("fr", "banned.notice")
        await emu.send_text(spam, "/statut")
        assert "n°1 · Coiffeur·se" in (await stand.reply(spam))["text"]
        await emu.send_text(spam, "/aide")
        assert "/supprimer" in (await stand.reply(spam))["text"]
        await emu.send_text(spam, "/supprimer")
        await stand.press(spam, await stand.reply(spam, has_button("erase:")), "erase:yes")
        await stand.reply(spam, tn("fr", "erase.done", 1))
        assert await rows(stand) == {}
        async with stand.app.services.sessions() as session:
            kept = await session.get(Apprentice, spam.id)
        # Only what keeps the ban: no name, no username.
        assert kept is not None and kept.banned_at is not None
        assert (kept.first_name, kept.username) == ("", None)
        await emu.send_text(spam, "/start")
        assert (await stand.reply(spam))["text"] == t("fr", "banned.notice")


async def test_banning_someone_never_seen_holds_after_a_restart(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        camille = stand.moderators[0]
        stranger_id = 987_654_321
        await stand.emu.send_text(camille, f"/ban {stranger_id}", chat=stand.group)
        await stand.emu.wait_for(stand.group, tn("fr", "mod.banned_user", 0, user=stranger_id))
        async with stand.app.services.sessions() as session:
            stored = await session.scalar(select(Apprentice).where(Apprentice.id == stranger_id))
        assert stored is not None and stored.banned_by == camille.id

    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        assert stranger_id in stand.app.services.banned
        stranger = stand.emu.create_user("Nouveau")
        stand.emu.world.users.pop(stranger.id)
        stand.emu.world.chats.pop(stranger.id)
        stranger.id = stranger_id  # the same Telegram account, writing for the first time
        stand.emu.world.users[stranger_id] = stranger
        stand.emu.world.chats[stranger_id] = type(stand.emu.chat(camille))(
            stranger_id, "private", user=stranger
        )
        await stand.emu.send_text(stranger, "/start")
        assert (await stand.reply(stranger))["text"] == t("fr", "banned.notice")
