"""The photo coach through the real bot and the emulator: hints at the preview that never
block, other people's faces blurred on the card, the channel and the site (the
apprentice's untouched), or declared agreeing on the card and in the audit."""

from __future__ import annotations

import asyncio
import io
import random
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageFilter, ImageStat
from sqlalchemy import select

from bot.photos.faces import Face, find_faces
from bot.photos.store import thumbnail_names
from models import SubmissionStatus
from models.tables import AuditAction, ModerationAudit
from tests.photoset import compose
from tests.support import imagegen
from tests.support.publishing import approve_on_card, card_of, channel_posts, rows, tick
from tests.support.stand import Stand, has_button, running_stand, walk_to_photo

S = SubmissionStatus
COACH = {"enabled": True}
QUIET = {"cron": "0 0 1 1 *"}


def bystanders_photo() -> Image.Image:
    """The apprentice and two people behind, 77 and 104 px wide: at the 1280 px Telegram
    sends a photo at, none is shrunk."""
    return compose(random.Random(1), "scene:1", (1280, 960), 0.3, 2).render()


def single_face_photo() -> Image.Image:
    return compose(random.Random(2), "scene:2", (1280, 960), 0.3, 0).render()


async def to_the_offer(stand: Stand, user: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The steps, then the photo with two people behind: its preview and the coach's offer."""
    await walk_to_photo(stand, user)
    await stand.emu.send_photo(user, jpeg(bystanders_photo()))
    return await stand.reply(user, has_button("preview:")), await stand.reply(
        user, has_button("coach:")
    )


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def photo_of(stand: Stand, message: dict[str, Any]) -> Image.Image:
    """The largest size of a photo message, as the emulator keeps the bot's upload."""
    record = stand.emu.world.files.by_id[message["photo"][-1]["file_id"]]
    return Image.open(io.BytesIO(record.data)).convert("RGB")


def region_error(a: Image.Image, b: Image.Image, face: Face) -> float:
    """Mean absolute difference of two same-size photos inside a face's box (0-255)."""
    inside = [image.convert("L").crop(face.box) for image in (a, b)]
    return float(ImageStat.Stat(ImageChops.difference(*inside)).mean[0])


def texts_between(stand: Stand, user: Any, first: dict[str, Any], last: dict[str, Any]) -> list:
    """What the bot sent the user after ``first`` and before ``last``. Updates of one
    person are handled one at a time, so all a handler sent comes before the next reply."""
    return [
        m.get("text")
        for m in stand.emu.bot_messages(user)
        if first["message_id"] < m["message_id"] < last["message_id"]
    ]


async def test_a_blurred_photo_gets_the_hint_and_can_still_be_sent(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, coach=COACH) as stand:
        lea = stand.emu.create_user("Léa")
        await walk_to_photo(stand, lea)
        blurred = imagegen.scene(1600, 1200, seed=3).filter(ImageFilter.GaussianBlur(4))
        await stand.emu.send_photo(lea, jpeg(blurred))
        preview = await stand.reply(lea, has_button("preview:"))
        hint = await stand.reply(lea, "floue")
        assert "preview:photo" in str(hint["reply_markup"])
        await stand.press(lea, preview, "preview:send")
        await stand.reply(lea, "Merci, c’est envoyé")
        [entry] = await stand.stored()
        assert entry.status == S.PENDING
        shown = await card(stand, entry.id)
        assert "⚠️ floue" in shown["caption"] and "netteté" in shown["caption"]


async def test_a_sharp_photo_showing_the_apprentice_gets_no_hint(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, coach=COACH) as stand:
        tom = stand.emu.create_user("Tom")
        await walk_to_photo(stand, tom)
        await stand.emu.send_photo(tom, jpeg(single_face_photo()))
        preview = await stand.reply(tom, has_button("preview:"))
        await stand.press(tom, preview, "preview:send")
        thanks = await stand.reply(tom, "Merci, c’est envoyé")
        assert texts_between(stand, tom, preview, thanks) == []
        [entry] = await stand.stored()
        assert (entry.faces, entry.bystanders) == (1, 0)
        shown = await card(stand, entry.id)
        assert "Photo nette · bien exposée · visage visible" in shown["caption"]
        assert "autre visage" not in shown["caption"]


async def test_other_faces_blurred_on_the_card_the_channel_and_the_site(
    db_url: str, tmp_path: Path
) -> None:
    site = {"enabled": True, "path": str(tmp_path / "site"), "base_url": "https://x.org/s/"}
    async with running_stand(db_url, tmp_path, coach=COACH, schedule=QUIET, gallery=site) as stand:
        ines = stand.emu.create_user("Inès")
        first, offer = await to_the_offer(stand, ines)
        assert "2 autres personnes" in offer["text"]
        before = photo_of(stand, first)
        [apprentice, *others] = find_faces(before, 40)
        assert len(others) == 2

        await stand.press(ines, offer, "coach:blur")
        await stand.reply(ines, "2 visages floutés")
        preview = await stand.emu.wait_for(
            ines, lambda m: has_button("preview:")(m) and m["message_id"] > first["message_id"]
        )
        await stand.press(ines, preview, "preview:send")
        await stand.reply(ines, "Merci, c’est envoyé")
        [entry] = await stand.stored()
        assert (entry.bystanders, entry.bystanders_choice) == (2, "blurred")

        card_msg = await card(stand, entry.id)
        assert "2 autres visages floutés" in card_msg["caption"]
        await approve_on_card(stand, entry.id)
        assert await tick(stand) == [entry.id]
        [post] = channel_posts(stand)
        site_photo = Image.open(tmp_path / "site" / "photos" / f"{entry.id}.jpg").convert("RGB")
        for shown in (photo_of(stand, card_msg), photo_of(stand, post), site_photo):
            assert shown.size == before.size
            [found] = find_faces(shown, 40)  # only the apprentice's is left
            assert abs(found.x - apprentice.x) < 10 and abs(found.w - apprentice.w) < 10
            assert region_error(shown, before, apprentice) < 4  # re-encoded, not touched
            for face in others:
                assert region_error(shown, before, face) > 10  # replaced
        # Nothing unblurred is kept: the photo on disk is the blurred one, with its thumbnails.
        store = stand.settings.storage.path
        files = {p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file()}
        assert files == {entry.photo_path, *thumbnail_names(entry.photo_path)}


async def test_other_people_agreeing_is_on_the_card_and_in_the_audit(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, coach=COACH) as stand:
        noe = stand.emu.create_user("Noé")
        preview, offer = await to_the_offer(stand, noe)
        await stand.press(noe, offer, "coach:agree")
        await stand.reply(noe, "C’est noté")
        await stand.press(noe, preview, "preview:send")
        await stand.reply(noe, "Merci, c’est envoyé")
        [entry] = await stand.stored()
        assert entry.bystanders_choice == "agreed"
        shown = await card(stand, entry.id)
        assert "l’apprenti·e dit que les personnes sont d’accord" in shown["caption"]
        async with stand.app.services.sessions() as session:
            [audit] = await session.scalars(
                select(ModerationAudit).where(
                    ModerationAudit.action == AuditAction.BYSTANDERS_AGREED
                )
            )
        assert (audit.submission_id, audit.apprentice_id) == (entry.id, noe.id)


async def card(stand: Stand, entry_id: int) -> dict[str, Any]:
    """The entry's card, once posted and recorded on its row."""
    async with asyncio.timeout(10):
        while not (await rows(stand))[entry_id].moderation_message_id:
            await asyncio.sleep(0.02)
    return card_of(stand, (await rows(stand))[entry_id])
