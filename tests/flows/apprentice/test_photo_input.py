"""What the apprentice may send at the photo step, and what the bot does with the rest.

Everything goes through the emulator and the real bot: each refusal gets its own reply
(compared with the French catalog, so the tests follow the wording), the apprentice stays
at the photo step, and a refused input leaves nothing behind (no file in the photo store,
no submission row). Hostile images are sent as documents so their bytes reach the image
pipeline unchanged.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image

from bot.campaign.consent import consent_pitch
from bot.i18n import t
from bot.photos.store import photo_of_thumbnail
from bot.sandbox.emulator import User
from tests.support import imagegen
from tests.support.stand import Stand, data_of, has_button, running_stand, walk_to_photo

Send = Callable[[Stand, User], Awaitable[Any]]

JPEG = "image/jpeg"
PNG = "image/png"


# --------------------------------------------------------------------------- helpers


def stored_files(stand: Stand) -> set[Path]:
    """Files in the photo store but the thumbnails stored beside their photo."""
    root = stand.settings.storage.path
    files = {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()
    return {
        p
        for p in files
        if (photo := photo_of_thumbnail(p.name)) is None or p.with_name(photo) not in files
    }


def rejected_text(stand: Stand, code: str) -> str:
    """The reply to an image the pipeline refused, with the stand's own limits filled in."""
    options = stand.app.services.images
    return t(
        "fr",
        f"photo.rejected.{code}",
        min=options.min_short_side,
        megapixels=options.max_pixels // 1_000_000,
    )


def document(data: bytes, filename: str, mime_type: str | None) -> Send:
    async def send(stand: Stand, user: User) -> Any:
        return await stand.emu.send_document(user, data, filename, mime_type)

    return send


async def assert_refused(
    stand: Stand, user: User, send: Send, expected: str, label: str = ""
) -> None:
    """``send`` gets exactly ``expected`` as the next message and leaves nothing stored."""
    files, rows = stored_files(stand), await stand.stored()
    await send(stand, user)
    answer = await stand.reply(user)
    assert answer.get("text") == expected, (label, answer)
    assert "reply_markup" not in answer, label
    assert stored_files(stand) == files, label
    after = await stand.stored()
    assert [(r.id, r.photo_path, r.status) for r in after] == [
        (r.id, r.photo_path, r.status) for r in rows
    ], label


async def assert_preview(stand: Stand, user: User) -> dict[str, Any]:
    """The preview (intro, then the photo with the preview:* buttons) is what comes next."""
    intro = await stand.reply(user)
    assert intro.get("text") == t("fr", "preview.intro"), intro
    preview = await stand.reply(user)
    assert preview.get("photo"), preview
    assert set(data_of(preview)) == {
        "preview:send",
        "preview:photo",
        "preview:edit",
        "preview:cancel",
    }
    return preview


async def assert_clean_draft(stand: Stand) -> None:
    """One draft, its photo the only file in the store: an RGB JPEG without any EXIF."""
    [draft] = await stand.stored()
    assert draft.photo_path is not None
    assert stored_files(stand) == {stand.settings.storage.path / draft.photo_path}
    data = (stand.settings.storage.path / draft.photo_path).read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.mode == "RGB"
        assert (image.width, image.height) == (draft.width, draft.height)
        assert not image.getexif() and "exif" not in image.info
    assert b"Exif\0\0" not in data
    assert not [m for m, _ in imagegen.jpeg_segments(data) if m == 0xE1]  # no APP1 at all


async def back_to_photo(stand: Stand, user: User, preview: dict[str, Any]) -> None:
    await stand.press(user, preview, "preview:photo")
    # The preview keeps its caption and loses its buttons; the question comes anew.
    assert "reply_markup" not in await stand.reply(user)
    question = await stand.reply(user)
    assert question.get("text") == t("fr", "photo.question"), question


def huge_exif_jpeg(width: int, height: int) -> bytes:
    """A JPEG whose EXIF (APP1) is ~60 kB: a 50 kB MakerNote and an 8 kB UserComment.

    A JPEG segment holds at most 65533 bytes, so this is about the largest EXIF a JPEG
    can carry; the position and camera model ride along, as a phone would write them.
    """
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Phonix"
    exif[ExifTags.Base.Model] = "P9 Ultra"
    exif[ExifTags.Base.Orientation] = 1
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.MakerNote] = bytes(range(256)) * 200
    details[ExifTags.Base.UserComment] = b"ASCII\0\0\0" + b"commentaire " * 660
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (47.0, 19.0, 20.5)
    raw = exif.tobytes()
    assert 55_000 < len(raw) <= 65_533, len(raw)
    out = io.BytesIO()
    imagegen.scene(width, height, seed=5).save(out, "JPEG", quality=85, exif=raw)
    data = out.getvalue()
    # Pillow really wrote it: one APP1 segment of that size, readable back.
    [app1] = [payload for marker, payload in imagegen.jpeg_segments(data) if marker == 0xE1]
    assert len(app1) == len(raw)
    with Image.open(io.BytesIO(data)) as check:
        assert len(check.getexif().get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.MakerNote]) == 51_200
    return data


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 60, 30)).save(out, "PNG")
    return out.getvalue()


def no_traceback_anywhere(stand: Stand, *chats: Any) -> None:
    for chat in (*chats, stand.group):
        for message in stand.emu.bot_messages(chat, include_deleted=True):
            text = (message.get("text") or "") + (message.get("caption") or "")
            assert "Traceback" not in text and 'File "' not in text, message
            assert text != t("fr", "error.generic"), message


def no_server_errors(stand: Stand) -> None:
    failed = [(c.method, c.status) for c in stand.emu.calls if c.status >= 500]
    assert not failed, failed


# --------------------------------------------------------------------------- 1. not a photo


async def test_each_kind_of_non_photo_gets_its_reply(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        zoe = emu.create_user("Zoé", language_code="fr")
        await walk_to_photo(stand, zoe)
        assert await stand.stored() == [] and stored_files(stand) == set()

        pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
        # A real JPEG header followed by padding: refused on its size, never downloaded.
        heavy = imagegen.photo_jpeg(640, 480) + b"\0" * (21 * 1024 * 1024)
        cases: list[tuple[str, Send, str]] = [
            ("video", lambda s, u: s.emu.send_video(u), "photo.problem.video"),
            ("sticker", lambda s, u: s.emu.send_sticker(u), "photo.problem.sticker"),
            ("gif", lambda s, u: s.emu.send_animation(u), "photo.problem.animation"),
            ("pdf", document(pdf, "cv.pdf", "application/pdf"), "photo.problem.not_image_document"),
            ("21 MB", document(heavy, "photo.jpg", JPEG), "photo.problem.too_big"),
            ("text", lambda s, u: s.emu.send_text(u, "la voilà !"), "photo.problem.text"),
        ]
        for name, send, key in cases:
            await assert_refused(stand, zoe, send, t("fr", key), name)
        assert "en photo" in t("fr", "photo.problem.too_big")  # says how to get it through
        assert not emu.calls_for("getFile")  # none of them was even downloaded

        # Still at the photo step: an album of 3, the first kept, the others refused.
        album = [imagegen.photo_jpeg(900, 1200, seed=seed) for seed in (1, 2, 3)]
        await emu.send_album(zoe, album)
        await assert_preview(stand, zoe)
        for _extra in range(2):
            extra = await stand.reply(zoe)
            assert extra.get("text") == t("fr", "photo.problem.album"), extra
        await assert_clean_draft(stand)
        [draft] = await stand.stored()
        first = emu.messages(zoe)
        album_messages = [m for m in first if m.get("media_group_id")]
        assert len(album_messages) == 3
        assert draft.source_file_unique_id == album_messages[0]["photo"][-1]["file_unique_id"]
        # Nothing else follows (no third preview, no error): a later message is handled
        # after the album's photos (a person's updates in order), and its answer comes next.
        answered = len(emu.bot_messages(zoe))
        await emu.send_text(zoe, "/aide")
        await stand.reply(zoe, t("fr", "command.help"))
        assert emu.bot_messages(zoe)[answered - 1]["text"] == t("fr", "photo.problem.album")
        assert len(emu.bot_messages(zoe)) == answered + 1
        no_traceback_anywhere(stand, zoe)
        no_server_errors(stand)


# --------------------------------------------------------------------------- 2. hostile files


async def test_hostile_images_sent_as_documents(db_url: str, tmp_path: Path) -> None:
    good = imagegen.photo_jpeg(1200, 900, seed=11)
    refused: list[tuple[str, bytes, str, str, str]] = [
        ("truncated JPEG", imagegen.truncated(good, 0.5), "IMG_1.jpg", JPEG, "not_an_image"),
        # The emulator accepts an empty upload from the driver: really zero bytes.
        ("zero bytes", b"", "vide.jpg", JPEG, "not_an_image"),
        ("text as .jpg", b"ceci n'est pas une photo\n" * 20, "photo.jpg", JPEG, "not_an_image"),
        ("HTML as .png", imagegen.HTML_BYTES, "selfie.png", PNG, "not_an_image"),
        ("random bytes", imagegen.random_bytes(4096), "x.jpg", JPEG, "not_an_image"),
        # Bombs: 60 MP (over the campaign's 50 MP), 100 MP (Pillow's warning zone) and
        # 400 MP (Pillow's hard error), each a few kB on the wire.
        ("60 MP bomb", imagegen.bomb_png(8000, 7500), "b1.png", PNG, "too_many_pixels"),
        ("100 MP bomb", imagegen.bomb_png(10_000, 10_000), "b2.png", PNG, "too_many_pixels"),
        ("400 MP bomb", imagegen.bomb_png(20_000, 20_000), "b3.png", PNG, "too_many_pixels"),
        ("1x20000", png(1, 20_000), "long.png", PNG, "too_small"),
        ("animated GIF", imagegen.animated_gif(640, 480), "anim.gif", "image/gif", "animated"),
        ("animated WebP", imagegen.animated_webp(640, 480), "anim.webp", "image/webp", "animated"),
        ("APNG", imagegen.animated_png(640, 480), "anim.png", PNG, "animated"),
    ]
    accepted: list[tuple[str, bytes, str, str]] = [
        ("CMYK JPEG", imagegen.cmyk_jpeg(800, 600), "print.jpg", JPEG),
        ("16-bit PNG", imagegen.gray16_png(800, 600), "scan16.png", PNG),
        ("PNG with alpha", imagegen.png_rgba(800, 600), "detoure.png", PNG),
        ("60 kB EXIF", huge_exif_jpeg(1200, 900), "exif.jpg", JPEG),
    ]
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        noe = emu.create_user("Noé", language_code="fr")
        await walk_to_photo(stand, noe)
        for name, data, filename, mime, code in refused:
            expected = rejected_text(stand, code)
            await assert_refused(stand, noe, document(data, filename, mime), expected, name)
        assert await stand.stored() == [] and stored_files(stand) == set()
        assert "50 mégapixels" in rejected_text(stand, "too_many_pixels")

        # Under 50 MP but transparent: its decode alone would take 196 MB. The answer
        # names the limit that applied to it, not the 50 MP it is under.
        alpha = imagegen.png_rows(7000, 7000, imagegen.rgba_row(7000))
        expected = rejected_text(stand, "too_many_pixels").replace("50 ", "40 ")
        await assert_refused(stand, noe, document(alpha, "detoure.png", PNG), expected, "alpha")
        assert "480 pixels" in rejected_text(stand, "too_small")

        draft_id = None
        for index, (name, data, filename, mime) in enumerate(accepted):
            await emu.send_document(noe, data, filename, mime)
            preview = await assert_preview(stand, noe)
            await assert_clean_draft(stand)
            [draft] = await stand.stored()
            assert draft_id in (None, draft.id), name  # the same draft, its photo replaced
            draft_id = draft.id
            if index < len(accepted) - 1:
                await back_to_photo(stand, noe, preview)
                # Refused after an accepted one: the draft and its file stay as they were.
                await assert_refused(
                    stand,
                    noe,
                    document(imagegen.bomb_png(8000, 7500), "bomb.png", PNG),
                    rejected_text(stand, "too_many_pixels"),
                )
        no_traceback_anywhere(stand, noe)
        no_server_errors(stand)


# --------------------------------------------------------------------------- 3. others served


async def test_bot_keeps_serving_others_during_hostile_uploads(db_url: str, tmp_path: Path) -> None:
    hostile: list[tuple[bytes, str, str, str]] = [
        (imagegen.bomb_png(20_000, 20_000), "bomb.png", PNG, "too_many_pixels"),
        (imagegen.bomb_png(8000, 7500), "bomb2.png", PNG, "too_many_pixels"),
        (imagegen.truncated(imagegen.photo_jpeg(1600, 1200)), "cut.jpg", JPEG, "not_an_image"),
        (imagegen.random_bytes(50_000, seed=3), "noise.jpg", JPEG, "not_an_image"),
        (imagegen.animated_gif(640, 480, frames=8), "anim.jpg", JPEG, "animated"),
        (png(1, 20_000), "thin.png", PNG, "too_small"),
    ]
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        ines = emu.create_user("Inès", language_code="fr")
        karim = emu.create_user("Karim", language_code="fr")
        await walk_to_photo(stand, ines)

        # Inès fires everything at once; Karim starts right in the middle of it.
        # Karim is not queued behind her: his answer comes before her last refusal (an
        # order of events, not a time: speed is measured in benchmarks/).
        told_before = len(emu.bot_messages(ines))
        for data, filename, mime, _code in hostile[:2]:
            await emu.send_document(ines, data, filename, mime)
        await emu.send_text(karim, "/start")
        for data, filename, mime, _code in hostile[2:]:
            await emu.send_document(ines, data, filename, mime)
        pitch = await stand.reply(karim, has_button("consent:"))
        assert len(emu.bot_messages(ines)) - told_before < len(hostile)
        assert pitch.get("text") == consent_pitch("fr", stand.settings)

        # Every hostile file got its own refusal, in order, and nothing was stored.
        for _data, _filename, _mime, code in hostile:
            answer = await stand.reply(ines)
            assert answer.get("text") == rejected_text(stand, code), answer
        assert await stand.stored() == [] and stored_files(stand) == set()

        # Karim carries on normally, and Inès' real photo still works.
        await stand.press(karim, pitch, "consent:yes")
        await stand.reply(karim, has_button("age:"))
        await emu.send_photo(ines, imagegen.photo_jpeg(1600, 1200, seed=21))
        await assert_preview(stand, ines)
        await assert_clean_draft(stand)

        assert stand.app.running
        no_traceback_anywhere(stand, ines, karim)
        no_server_errors(stand)


async def test_gif_documents_reach_the_pipeline(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        lou = emu.create_user("Lou", language_code="fr")
        await walk_to_photo(stand, lou)
        await assert_refused(
            stand,
            lou,
            document(imagegen.animated_gif(640, 480), "anim.gif", "image/gif"),
            rejected_text(stand, "animated"),
        )
        still = io.BytesIO()
        imagegen.scene(800, 600).save(still, "GIF")
        await emu.send_document(lou, still.getvalue(), "still.gif", "image/gif")
        await assert_preview(stand, lou)
        await assert_clean_draft(stand)
