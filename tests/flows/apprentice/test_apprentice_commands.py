"""/statut, /langue, /aide and /supprimer, in private chats only."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.i18n import t, tn
from bot.photos.store import thumbnail_names
from models import Apprentice
from models.state import load_state
from tests.support import imagegen
from tests.support.moderation import submit_one
from tests.support.stand import has_button, running_stand, walk_to_photo


async def test_status_lists_entries_with_their_state(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        jo = emu.create_user("Jo")
        await emu.send_text(jo, "/statut")
        assert (await stand.reply(jo))["text"] == t("fr", "status.none")
        await submit_one(stand, jo)
        await submit_one(stand, jo, trade="trade:0:1")
        await emu.send_text(jo, "/status")
        status = (await stand.reply(jo))["text"]
        lines = status.splitlines()
        assert lines[0] == "Tes participations"
        assert len(lines) == 3
        assert "Esthéticien·ne" in lines[1] and t("fr", "status.pending") in lines[1]
        assert "Coiffeur·se" in lines[2]


async def test_language_switches_and_sticks(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        ana = emu.create_user("Ana", language_code="pt-BR")
        await emu.send_text(ana, "/aide")
        assert (await stand.reply(ana))["text"] == t("fr", "help.apprentice").replace(
            "<b>", ""
        ).replace("</b>", "")
        await emu.send_text(ana, "/langue")
        assert (await stand.reply(ana))["text"] == t("en", "language.switched")
        await emu.send_text(ana, "/start")
        pitch = await stand.reply(ana, has_button("consent:"))
        assert pitch["text"].startswith("Hi!")
        await emu.send_text(ana, "/language")
        assert (await stand.reply(ana))["text"] == t("fr", "language.switched")
        english = emu.create_user("Ed", language_code="en-GB")
        await emu.send_text(english, "/help")
        assert (await stand.reply(english))["text"].startswith("How it works")


async def test_apprentice_commands_are_ignored_in_groups(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        member = stand.moderators[1]
        for command in ("/start", "/statut", "/supprimer", "/langue", "/annuler"):
            await emu.send_text(member, command, chat=stand.group)
        await emu.send_text(member, "/aide", chat=stand.group)
        await emu.wait_for(stand.group)
        assert len(emu.bot_messages(stand.group)) == 1


async def test_delete_erases_rows_files_and_conversation(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        mia, other = emu.create_user("Mia"), emu.create_user("Other")
        await submit_one(stand, mia)
        await submit_one(stand, other)
        await walk_to_photo(stand, mia)
        await emu.send_photo(mia, imagegen.photo_jpeg(1024, 768, seed=9))
        await stand.reply(mia, has_button("preview:"))
        photos = stand.settings.storage.path
        assert len([p for p in photos.rglob("*") if p.is_file()]) == 3 * 4  # with their copies

        await emu.send_text(mia, "/supprimer")
        confirm = await stand.reply(mia, has_button("erase:"))
        assert confirm["text"] == t("fr", "erase.confirm")
        await stand.press(mia, confirm, "erase:no")
        assert (await stand.reply(mia))["text"] == t("fr", "erase.kept")
        assert len(await stand.stored()) == 3

        await emu.send_text(mia, "/supprimer")
        await stand.press(mia, await stand.reply(mia, has_button("erase:")), "erase:yes")
        assert (await stand.reply(mia))["text"] == tn("fr", "erase.done", 1)

        remaining = await stand.stored()
        assert [entry.apprentice_id for entry in remaining] == [other.id]
        kept = remaining[0].photo_path
        assert {p for p in photos.rglob("*") if p.is_file()} == {
            photos / name for name in (kept, *thumbnail_names(kept))
        }  # the erased photos' thumbnails went with them
        async with stand.app.services.sessions() as session:
            apprentices = list(await session.scalars(select(Apprentice.id)))
            assert apprentices == [other.id]
        assert mia.id not in stand.app.user_data or not stand.app.user_data[mia.id]
        # The conversation ended: a message now only shows the way in.
        await emu.send_photo(mia, imagegen.photo_jpeg(800, 600))
        assert (await stand.reply(mia))["text"] == t("fr", "common.start_first")
        await stand.app.update_persistence()
        assert stand.app.persistence is not None
        await stand.app.persistence.flush()
        async with stand.app.services.sessions() as session:
            users = await load_state(session, "user")
            conversations = await load_state(session, "conversation:apprentice")
        assert str(mia.id) not in users
        assert all(str(mia.id) not in key for key in conversations)
