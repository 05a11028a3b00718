"""editMessageMedia: a post's picture replaced by a file_id or by an upload (``attach://``
inside the InputMedia JSON), through raw HTTP, PTB and the sandbox page's view.

Every test runs with the official spec and without it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image
from telegram import InputMediaPhoto
from telegram.error import BadRequest

from bot.sandbox.emulator import Emulator
from bot.sandbox.emulator.params import Upload
from bot.sandbox.emulator.state import Chat
from bot.sandbox.emulator.testing import (
    SPEC_MODES,
    ApiClient,
    build_application,
    make_jpeg,
)
from bot.sandbox.web import install
from bot.sandbox.world import DemoWorld

KEYBOARD = {"inline_keyboard": [[{"text": "Offres", "url": "https://example.org/offres"}]]}
NOT_MODIFIED = "Bad Request: message is not modified"


both_modes = pytest.mark.parametrize("emu", SPEC_MODES, indirect=True)


@pytest.fixture
def channel(emu: Emulator) -> Chat:
    return emu.create_channel("Fiers d'être apprentis", username="fiers")


async def _post(api: ApiClient, chat: Chat, jpeg: bytes, **params: Any) -> dict[str, Any]:
    """A photo post by the bot (uploaded), with the offers button."""
    files = {"photo": ("post.jpg", jpeg, "image/jpeg")}
    status, body = await api.call(
        "sendPhoto", files=files, chat_id=chat.id, reply_markup=KEYBOARD, **params
    )
    assert status == 200, body
    return body["result"]


async def _edit_upload(
    api: ApiClient, message: dict[str, Any], jpeg: bytes, **media: Any
) -> tuple[int, dict[str, Any]]:
    """editMessageMedia with a new photo uploaded as the part ``attach://nouvelle``."""
    files = {"nouvelle": ("nouvelle.jpg", jpeg, "image/jpeg")}
    return await api.call(
        "editMessageMedia",
        files=files,
        chat_id=message["chat"]["id"],
        message_id=message["message_id"],
        media={"type": "photo", "media": "attach://nouvelle", **media},
    )


@both_modes
async def test_upload_replaces_the_photo_and_caption(
    emu: Emulator, api: ApiClient, channel: Chat
) -> None:
    post = await _post(api, channel, make_jpeg(900, 600), caption="Léa, apprentie coiffeuse")
    await emu.wait_for(channel, "Léa")
    emu.travel(hours=24 * 30)  # the bot edits its own messages at any age
    status, body = await _edit_upload(
        api,
        post,
        make_jpeg(1600, 1200, (20, 120, 200)),
        caption="<i>retirée</i>",
        parse_mode="HTML",
    )
    assert status == 200, body
    edited = body["result"]
    assert edited["message_id"] == post["message_id"]
    assert [(s["width"], s["height"]) for s in edited["photo"]] == [
        (90, 68),
        (320, 240),
        (800, 600),
        (1280, 960),
    ]
    old_ids = {s["file_id"] for s in post["photo"]}
    assert not old_ids & {s["file_id"] for s in edited["photo"]}
    assert edited["caption"] == "retirée"
    assert edited["caption_entities"] == [{"type": "italic", "offset": 0, "length": 7}]
    assert "reply_markup" not in edited  # absent: the keyboard goes, as with the other edits
    assert edited["edit_date"] >= post["date"] + 24 * 30 * 3600
    assert emu.messages(channel) == [edited]
    seen = await emu.wait_for(channel)  # the edit is a bot action
    assert seen["photo"] == edited["photo"]
    (params,) = emu.calls_for("editMessageMedia")
    assert isinstance(params["media"]["media"], Upload)  # the part, consumed
    assert "nouvelle" not in params
    file = await api.ok("getFile", file_id=edited["photo"][-1]["file_id"])
    status, data = await api.download(file["file_path"])
    assert Image.open(io.BytesIO(data)).size == (1280, 960)


@both_modes
async def test_file_id_edit_keyboard_and_not_modified(
    emu: Emulator, api: ApiClient, channel: Chat
) -> None:
    first = await _post(api, channel, make_jpeg(), caption="Léa")
    second = await _post(api, channel, make_jpeg(300, 300, (0, 0, 0)), caption="Retirée")
    ident = {"chat_id": channel.id, "message_id": first["message_id"]}
    media = {"type": "photo", "media": second["photo"][-1]["file_id"], "caption": "Retirée"}
    edited = await api.ok("editMessageMedia", media=media, reply_markup=KEYBOARD, **ident)
    assert edited["photo"] == second["photo"] and edited["caption"] == "Retirée"
    assert edited["reply_markup"] == KEYBOARD
    status, body = await api.call("editMessageMedia", media=media, reply_markup=KEYBOARD, **ident)
    assert status == 400 and body["description"].startswith(NOT_MODIFIED)
    without_caption = await api.ok("editMessageMedia", media={**media, "caption": ""}, **ident)
    assert "caption" not in without_caption and "reply_markup" not in without_caption


@both_modes
async def test_a_text_becomes_a_photo_and_a_document_can_replace_it(
    api: ApiClient, channel: Chat
) -> None:
    text = await api.ok("sendMessage", chat_id=channel.id, text="bientôt une photo")
    status, body = await _edit_upload(api, text, make_jpeg(200, 100))
    assert status == 200, body
    assert "text" not in body["result"] and len(body["result"]["photo"]) == 2
    files = {"fiche": ("fiche.pdf", b"%PDF-1.4 fiche", "application/pdf")}
    status, body = await api.call(
        "editMessageMedia",
        files=files,
        chat_id=channel.id,
        message_id=text["message_id"],
        media={"type": "document", "media": "attach://fiche", "caption": "la fiche"},
    )
    assert status == 200, body
    document = body["result"]["document"]
    assert (document["file_name"], document["mime_type"]) == ("fiche.pdf", "application/pdf")
    assert "photo" not in body["result"] and body["result"]["caption"] == "la fiche"


@both_modes
async def test_refusals(emu: Emulator, api: ApiClient, channel: Chat) -> None:
    post = await _post(api, channel, make_jpeg(), caption="Léa")
    ident = {"chat_id": channel.id, "message_id": post["message_id"]}

    async def refused(**params: Any) -> str:
        status, body = await api.call("editMessageMedia", **params)
        assert status == 400, body
        return body["description"]

    assert "not found" in await refused(media={"type": "photo", "media": "attach://x"}, **ident)
    assert await refused(media={"type": "photo", "media": "nope"}, **ident) == (
        "Bad Request: wrong file identifier/HTTP URL specified"
    )
    assert "video" in await refused(media={"type": "video", "media": "x"}, **ident)
    photo = {"type": "photo", "media": post["photo"][-1]["file_id"]}
    assert await refused(media=photo, inline_message_id="abc") == (
        "Bad Request: inline messages are not supported by the sandbox"
    )
    status, body = await _edit_upload(api, post, b"not a picture")
    assert (status, body["description"]) == (400, "Bad Request: IMAGE_PROCESS_FAILED")
    lea = emu.create_user("Léa")
    own = await emu.send_text(lea, "/start")
    assert await refused(media=photo, chat_id=lea.id, message_id=own["message_id"]) == (
        "Bad Request: message can't be edited"
    )
    emu.set_bot_rights(channel, can_post_messages=False, can_edit_messages=False)
    assert await refused(media=photo, **ident) == "Bad Request: message can't be edited"
    assert emu.messages(channel) == [post]


@both_modes
async def test_ptb_edit_message_media_upload_and_file_id(emu: Emulator, channel: Chat) -> None:
    app = build_application(emu)
    await app.initialize()
    bot = app.bot
    try:
        post = await bot.send_photo(channel.id, make_jpeg(), caption="Léa, apprentie")
        replaced = await bot.edit_message_media(
            InputMediaPhoto(make_jpeg(400, 800), caption="<b>Retirée</b>", parse_mode="HTML"),
            chat_id=channel.id,
            message_id=post.message_id,
        )
        assert (replaced.photo[-1].width, replaced.photo[-1].height) == (400, 800)
        assert replaced.caption == "Retirée" and replaced.caption_entities[0].type == "bold"
        back = await bot.edit_message_media(
            InputMediaPhoto(post.photo[-1].file_id), chat_id=channel.id, message_id=post.message_id
        )
        assert back.photo == post.photo and back.caption is None
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_media(
                InputMediaPhoto(post.photo[-1].file_id),
                chat_id=channel.id,
                message_id=post.message_id,
            )
    finally:
        await app.shutdown()
    assert [c.status for c in emu.calls if c.method == "editMessageMedia"] == [200, 200, 400]


async def test_sandbox_page_shows_the_new_photo(tmp_path: Path) -> None:
    """The page draws what ``/sandbox/api/view`` gives: the edited photo's own file."""
    emu = Emulator(flood_limits=False)
    lea, camille = emu.create_user("Léa"), emu.create_user("Camille")
    world = DemoWorld(
        emu=emu,
        group=emu.create_group("Modération", [camille]),
        channel=emu.create_channel("Fiers", username="fiers"),
        moderators=[camille],
        bystander=camille,
        apprentices=[lea],
        samples=[],
        samples_dir=tmp_path,
    )
    emu.app_hooks.append(lambda app: install(app, world))
    async with emu, ApiClient(emu) as api, aiohttp.ClientSession(emu.url) as page:
        post = await _post(api, world.channel, make_jpeg(), caption="Léa")
        status, body = await _edit_upload(api, post, make_jpeg(500, 500, (0, 160, 60)))
        assert status == 200, body
        async with page.get("/sandbox/api/view") as response:
            (shown,) = (await response.json())["chats"]["channel"]
        assert shown["photo"] == body["result"]["photo"] and shown["edit_date"]
        async with page.get(f"/sandbox/file/{shown['photo'][-1]['file_id']}") as response:
            image = Image.open(io.BytesIO(await response.read())).convert("RGB")
        assert image.size == (500, 500)
        red, green, _ = image.getpixel((250, 250))
        assert green > red  # the new, green picture
