"""The apprentice's journey through the real bot, the emulator and the database."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from bot.campaign.captions import build_caption
from bot.i18n import t
from bot.photos.store import thumbnail_names
from bot.telegram.concurrency import MAX_CONCURRENT_UPDATES
from models import AgeBand, SubmissionStatus
from tests.support import imagegen
from tests.support.stand import (
    BOTH_MODES,
    buttons,
    data_of,
    has_button,
    running_stand,
    walk_to_photo,
)


def stored_image(stand, path: str) -> tuple[Image.Image, bytes]:
    data = (stand.settings.storage.path / path).read_bytes()
    return Image.open(io.BytesIO(data)), data


@BOTH_MODES
async def test_full_flow_ends_with_one_pending_entry(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        lea = emu.create_user("Léa", username="lea_coiffe", language_code="fr")
        await emu.send_text(lea, "/start")
        pitch = await stand.reply(lea, has_button("consent:"))
        assert "chaîne publique" in pitch["text"] and "/supprimer" in pitch["text"]
        await stand.press(lea, pitch, "consent:more")
        details = await stand.reply(lea, "Ton original")
        assert "jamais conservé" in details["text"]
        pitch = await stand.reply(lea, has_button("consent:"))
        await stand.press(lea, pitch, "consent:yes")
        await stand.press(lea, await stand.reply(lea, has_button("age:")), "age:adult")
        name = await stand.reply(lea, has_button("name:"))
        assert "« Léa »" in buttons(name)
        await stand.press(lea, name, "name:first")

        trades = await stand.reply(lea, has_button("trade:"))
        assert "Beauté (1/2)" in trades["text"] and "tpage:1" in data_of(trades)
        await stand.press(lea, trades, "tpage:1")
        page_two = await emu.wait_for(lea, has_button("trade:1:"))
        assert "Alimentation (2/2)" in page_two["text"]
        assert buttons(page_two)["Boulanger·ère"] == "trade:1:0"
        await stand.press(lea, page_two, "trade:1:0")

        await stand.reply(lea, has_button("centre:"))
        await emu.send_text(lea, "dijon")
        suggestion = await stand.reply(lea, "Tu voulais dire")
        assert buttons(suggestion) == {
            "CFA de Dijon": "centre:0",
            "Garder « dijon »": "centre:typed",
        }
        await stand.press(lea, suggestion, "centre:0")

        await stand.reply(lea, has_button("quote:"))
        await emu.send_text(lea, "J'adore <pétrir> & cuire\nle matin")
        await stand.reply(lea, "📸")
        original = imagegen.photo_jpeg(3000, 2000, orientation=6, gps=True, xmp=True, comment=b"x")
        await emu.send_document(lea, original, "IMG_0042.jpg", "image/jpeg")
        await stand.reply(lea, "Voici ce qui sera publié")
        preview = await stand.reply(lea, has_button("preview:"))

        [draft] = await stand.stored()
        assert draft.status == SubmissionStatus.DRAFT
        expected = build_caption(
            display_name="Léa",
            trade="Boulanger·ère",
            centre_name="CFA de Dijon",
            quote="J'adore <pétrir> & cuire le matin",
            hashtags=["#FiersDEtreApprentis"],
        )
        assert "&lt;pétrir&gt; &amp; cuire" in expected
        sent_caption = emu.calls_for("sendPhoto")[-1]["caption"]
        assert sent_caption == expected
        assert "J'adore <pétrir> & cuire le matin" in preview["caption"]

        await stand.press(lea, preview, "preview:send")
        thanks = await stand.reply(lea, "Merci, c’est envoyé")
        assert "/statut" in thanks["text"]

        [entry] = await stand.stored()
        assert entry.status == SubmissionStatus.PENDING and entry.submitted_at is not None
        assert (entry.display_name, entry.trade) == ("Léa", "Boulanger·ère")
        assert (entry.centre_code, entry.centre_name) == ("cfa-dijon", "CFA de Dijon")
        assert entry.age_band == AgeBand.ADULT and entry.consent_at is not None
        assert entry.photo_file_id and entry.dhash is not None and entry.sharpness is not None
        image, data = stored_image(stand, entry.photo_path)
        assert image.size == (entry.width, entry.height) == (1067, 1600)
        assert not image.getexif() and b"Exif" not in data and b"GPS" not in data
        assert not {"xmp", "comment", "icc_profile", "exif"} & set(image.info)
        assert entry.photo_file_id in emu.world.files.by_id
        # The original was never written anywhere: the processed photo and the site's
        # copies the pipeline made with it (thumbnail in WebP and JPEG, the profile's WebP),
        # nothing else.
        store = stand.settings.storage.path
        files = {p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file()}
        assert files == {entry.photo_path, *thumbnail_names(entry.photo_path)}
        copies = [("WEBP", (267, 400)), ("JPEG", (267, 400)), ("WEBP", (667, 1000))]
        for name, (fmt, size) in zip(thumbnail_names(entry.photo_path), copies, strict=True):
            with Image.open(store / name) as copy:
                assert copy.format == fmt and copy.size == size


async def test_every_exif_orientation_ends_upright(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        tom = emu.create_user("Tom")
        await walk_to_photo(stand, tom)
        for orientation in range(1, 9):
            photo = imagegen.photo_jpeg(1200, 900, orientation=orientation, marker=True)
            await emu.send_document(tom, photo, f"o{orientation}.jpg", "image/jpeg")
            preview = await stand.reply(tom, has_button("preview:"))
            [draft] = await stand.stored()
            image, _ = stored_image(stand, draft.photo_path)
            red = imagegen.MARKER_COLOUR
            # 1200x900 stored pixels; orientations 5-8 are shown turned a quarter.
            assert image.size == ((900, 1200) if orientation >= 5 else (1200, 900)), orientation
            assert all(abs(a - b) < 40 for a, b in zip(image.getpixel((8, 8)), red, strict=True))
            far = image.getpixel((image.width - 8, image.height - 8))
            assert not all(abs(a - b) < 40 for a, b in zip(far, red, strict=True))
            await stand.press(tom, preview, "preview:photo")
            await stand.reply(tom, "📸")
        # Each new photo replaced the previous one on disk.
        files = [p for p in stand.settings.storage.path.rglob("*") if p.is_file()]
        assert len(files) == 4  # the photo and its three copies for the site


async def test_a_slow_moderation_group_holds_up_no_apprentice(db_url: str, tmp_path: Path) -> None:
    """Cards go out at the group's pace (Telegram: ~20 a minute) in the background: a
    stuck card post must not take the update slots other apprentices need."""
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        senders = [emu.create_user(f"Apprenti {i}") for i in range(MAX_CONCURRENT_UPDATES)]
        previews = []
        for user in senders:
            await walk_to_photo(stand, user)
            await emu.send_photo(user, imagegen.photo_jpeg(800, 600, seed=user.id))
            previews.append(await stand.reply(user, has_button("preview:")))
        # The first card post hangs (the others wait behind it for the group).
        emu.inject_fault("sendPhoto", "timeout", hold=8.0)
        for user, preview in zip(senders, previews, strict=True):
            await stand.press(user, preview, "preview:send")
        for user in senders:
            await stand.reply(user, t("fr", "preview.thanks"), timeout=3)
        late = emu.create_user("Zoé")
        await emu.send_text(late, "/start")
        await stand.reply(late, has_button("consent:"), timeout=3)
        assert not emu.bot_messages(stand.group)  # the cards are still on their way
