"""Uploads, file_id reuse, getFile and downloads, photo rules; user media from the driver.

Every test runs with the official spec and without it.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.sandbox.emulator import Emulator
from bot.sandbox.emulator.testing import SPEC_MODES, ApiClient, make_jpeg

pytestmark = pytest.mark.parametrize("emu", SPEC_MODES, indirect=True)


@pytest.fixture
async def lea(emu: Emulator):
    user = emu.create_user("Léa")
    await emu.send_text(user, "/start")
    return user


async def send_photo(api: ApiClient, chat_id: int, data: bytes, **params) -> tuple[int, dict]:
    files = {"photo": ("selfie.jpg", data, "image/jpeg")}
    return await api.call("sendPhoto", files=files, chat_id=chat_id, **params)


async def test_photo_upload_gives_photo_sizes_and_downloads(api: ApiClient, lea) -> None:
    status, body = await send_photo(api, lea.id, make_jpeg(3000, 2000), caption="Léa")
    assert status == 200, body
    sizes = body["result"]["photo"]
    assert [(s["width"], s["height"]) for s in sizes] == [
        (90, 60),
        (320, 213),
        (800, 533),
        (1280, 853),
    ]
    for size in sizes:
        assert set(size) == {"file_id", "file_unique_id", "width", "height", "file_size"}
    file = await api.ok("getFile", file_id=sizes[-1]["file_id"])
    assert file["file_size"] == sizes[-1]["file_size"]
    status, data = await api.download(file["file_path"])
    assert status == 200 and len(data) == file["file_size"]
    assert Image.open(io.BytesIO(data)).size == (1280, 853)
    assert (await api.download("photos/nothing.jpg"))[0] == 404


async def test_small_photo_keeps_its_size_and_attach_uri_works(api: ApiClient, lea) -> None:
    files = {"selfie": ("s.jpg", make_jpeg(200, 100), "image/jpeg")}
    status, body = await api.call("sendPhoto", files=files, chat_id=lea.id, photo="attach://selfie")
    assert status == 200, body
    assert [(s["width"], s["height"]) for s in body["result"]["photo"]] == [(90, 45), (200, 100)]


async def test_file_id_reuse_and_stable_unique_id(emu: Emulator, api: ApiClient, lea) -> None:
    mods = emu.create_group("Modération")
    jpeg = make_jpeg()
    _, first = await send_photo(api, lea.id, jpeg)
    sizes = first["result"]["photo"]
    again = await api.ok("sendPhoto", chat_id=mods.id, photo=sizes[-1]["file_id"], caption="carte")
    assert again["photo"] == sizes
    _, second = await send_photo(api, lea.id, jpeg)
    assert [s["file_unique_id"] for s in second["result"]["photo"]] == [
        s["file_unique_id"] for s in sizes
    ]
    status, body = await api.call("sendPhoto", chat_id=lea.id, photo="no-such-file")
    assert (status, body["description"]) == (
        400,
        "Bad Request: wrong file identifier/HTTP URL specified",
    )
    copied = await api.ok(
        "copyMessage",
        chat_id=mods.id,
        from_chat_id=lea.id,
        message_id=first["result"]["message_id"],
    )
    assert emu.bot_messages(mods)[-1]["message_id"] == copied["message_id"]
    assert emu.bot_messages(mods)[-1]["photo"] == sizes


@pytest.mark.parametrize(("width", "height"), [(9000, 1100), (2100, 100)])
async def test_photo_dimension_limits(api: ApiClient, lea, width: int, height: int) -> None:
    status, body = await send_photo(api, lea.id, make_jpeg(width, height))
    assert (status, body["description"]) == (400, "Bad Request: PHOTO_INVALID_DIMENSIONS")


async def test_photo_must_be_an_image(api: ApiClient, lea) -> None:
    status, body = await send_photo(api, lea.id, b"not an image")
    assert (status, body["description"]) == (400, "Bad Request: IMAGE_PROCESS_FAILED")


async def test_document_upload_and_reuse(emu: Emulator, api: ApiClient, lea) -> None:
    files = {"document": ("export.csv", b"a;b\n1;2\n", "application/octet-stream")}
    status, body = await api.call("sendDocument", files=files, chat_id=lea.id)
    assert status == 200, body
    document = body["result"]["document"]
    assert document["file_name"] == "export.csv" and document["mime_type"] == "text/csv"
    reused = await api.ok("sendDocument", chat_id=lea.id, document=document["file_id"])
    assert reused["document"] == document
    file = await api.ok("getFile", file_id=document["file_id"])
    assert await api.download(file["file_path"]) == (200, b"a;b\n1;2\n")


async def test_big_user_document_cannot_be_fetched(emu: Emulator, api: ApiClient, lea) -> None:
    message = await emu.send_document(lea, b"\0" * (25 * 1024 * 1024), filename="video.mov")
    status, body = await api.call("getFile", file_id=message["document"]["file_id"])
    assert (status, body["description"]) == (400, "Bad Request: file is too big")


async def test_user_media_from_the_driver(emu: Emulator, api: ApiClient, lea) -> None:
    photo = await emu.send_photo(lea, make_jpeg(1000, 1000), caption="moi")
    assert [s["width"] for s in photo["photo"]] == [90, 320, 800, 1000]
    album = await emu.send_album(lea, [make_jpeg(), make_jpeg(300, 300)], caption="deux")
    assert album[0]["media_group_id"] == album[1]["media_group_id"]
    assert album[0]["caption"] == "deux" and "caption" not in album[1]
    sticker = await emu.send_sticker(lea)
    video = await emu.send_video(lea)
    animation = await emu.send_animation(lea)
    assert "sticker" in sticker and "video" in video and "animation" in animation
    updates = await api.ok("getUpdates")
    kinds = [
        next(k for k in u["message"] if k in ("text", "photo", "sticker", "video", "animation"))
        for u in updates
    ]
    assert kinds == ["text", "photo", "photo", "photo", "sticker", "video", "animation"]
    downloaded = await api.ok("getFile", file_id=photo["photo"][-1]["file_id"])
    status, data = await api.download(downloaded["file_path"])
    assert status == 200 and Image.open(io.BytesIO(data)).size == (1000, 1000)
