"""Spec validation, limits and long polling, through raw HTTP calls on loopback.

Tests marked ``both_modes`` also run without the spec: form values then reach the methods as
strings and are converted by their accessors (params.py).
"""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from bot.sandbox.emulator import Emulator
from bot.sandbox.emulator.spec import find_spec
from bot.sandbox.emulator.testing import SPEC_MODES, ApiClient, running_emulator

KEYBOARD = {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}
both_modes = pytest.mark.parametrize("emu", SPEC_MODES, indirect=True)
needs_spec = pytest.mark.skipif(find_spec() is None, reason="no official spec: no validation")


@pytest.fixture
async def lea(emu: Emulator):
    user = emu.create_user("Léa", username="lea")
    await emu.send_text(user, "/start")
    return user


# -- routing and authentication ---------------------------------------------------------


async def test_wrong_token_is_unauthorized(emu: Emulator) -> None:
    async with ApiClient(emu, token="999:wrong") as bad:
        assert await bad.call("getMe") == (
            401,
            {"ok": False, "error_code": 401, "description": "Unauthorized"},
        )


async def test_unknown_method_is_not_found(api: ApiClient) -> None:
    status, body = await api.call("sendTelepathy", chat_id=1)
    assert (status, body["description"]) == (404, "Not Found")


@needs_spec
async def test_parameters_from_query_json_form_and_multipart(
    emu: Emulator, api: ApiClient, lea
) -> None:
    url = f"{emu.api_url}/bot{emu.token}/sendMessage"
    async with aiohttp.ClientSession() as session:
        async with session.get(url, params={"chat_id": lea.id, "text": "query"}) as response:
            assert response.status == 200
    assert (await api.call("sendMessage", as_json=True, chat_id=lea.id, text="json"))[0] == 200
    assert (await api.call("sendMessage", chat_id=lea.id, text="form"))[0] == 200
    files = {"unused": ("a.txt", b"x", "text/plain")}
    status, body = await api.call("sendMessage", files=files, chat_id=lea.id, text="multi")
    assert (status, body["description"]) == (
        400,
        'Bad Request: unknown parameter "unused" for method sendMessage',
    )
    assert [m["text"] for m in emu.bot_messages(lea)] == ["query", "json", "form"]


# -- validation against the spec ---------------------------------------------------------


@needs_spec
async def test_unknown_field_is_refused(api: ApiClient, lea) -> None:
    status, body = await api.call("sendMessage", chat_id=lea.id, text="x", colour="red")
    assert status == 400
    assert "colour" in body["description"]


@both_modes
async def test_missing_required_fields(api: ApiClient, lea) -> None:
    status, body = await api.call("sendMessage", chat_id=lea.id)
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")
    status, body = await api.call("sendMessage", text="x")
    assert (status, body["description"]) == (400, "Bad Request: chat_id is empty")


@needs_spec
@pytest.mark.parametrize(
    ("method", "params", "field"),
    [
        ("getUpdates", {"limit": "ten"}, "limit"),
        ("sendMessage", {"chat_id": 1, "text": "x", "disable_notification": "maybe"}, "disable"),
        ("sendMessage", {"chat_id": 1, "text": "x", "reply_markup": "{not json"}, "reply_markup"),
        ("sendMessage", {"chat_id": 1, "text": "x", "reply_markup": "[1]"}, "reply_markup"),
        ("sendMessage", {"chat_id": 1, "text": "x", "entities": '{"a": 1}'}, "entities"),
        ("setMyCommands", {"commands": '[{"command": "start"}]'}, "commands"),
        ("sendPhoto", {"chat_id": 1, "photo": 5}, None),
    ],
)
async def test_wrong_types_are_refused(
    api: ApiClient, method: str, params: dict, field: str | None
) -> None:
    status, body = await api.call(method, as_json=True, **params)
    assert status == 400, body
    if field:
        assert field in body["description"]


@both_modes
@pytest.mark.parametrize(
    ("method", "params", "field"),
    [
        ("getUpdates", {"offset": "abc"}, "offset"),
        ("getChatMember", {"chat_id": "LEA", "user_id": "léa"}, "user_id"),
        ("editMessageText", {"chat_id": "LEA", "message_id": "x", "text": "x"}, "message_id"),
        ("sendMessage", {"chat_id": "LEA", "text": "x", "reply_markup": "{not json"}, "markup"),
        ("setMyCommands", {"commands": '[{"command": "start"}]'}, None),
        ("sendPhoto", {"chat_id": "LEA", "photo": 5}, None),
    ],
)
async def test_unconvertible_form_values_give_400(
    api: ApiClient, lea, method: str, params: dict, field: str | None
) -> None:
    params = {k: lea.id if v == "LEA" else v for k, v in params.items()}
    status, body = await api.call(method, **params)  # form-encoded: strings
    assert status == 400, body
    if field:
        assert field in body["description"]


@both_modes
async def test_caption_limit_counts_characters(api: ApiClient, emu: Emulator, lea) -> None:
    photo = await _upload_photo(api, lea.id)
    file_id = photo["photo"][-1]["file_id"]
    status, body = await api.call("sendPhoto", chat_id=lea.id, photo=file_id, caption="é" * 1025)
    assert (status, body["description"]) == (400, "Bad Request: message caption is too long")
    ok = await api.ok("sendPhoto", chat_id=lea.id, photo=file_id, caption="é" * 1024)
    assert len(ok["caption"]) == 1024


@both_modes
async def test_text_limit_and_html_counted_after_parsing(api: ApiClient, lea) -> None:
    status, body = await api.call("sendMessage", chat_id=lea.id, text="a" * 4097)
    assert (status, body["description"]) == (400, "Bad Request: message is too long")
    assert (await api.call("sendMessage", chat_id=lea.id, text="a" * 4096))[0] == 200
    html = "<b>" + "&amp;" * 4096 + "</b>"  # 4096 characters once parsed
    message = await api.ok("sendMessage", chat_id=lea.id, text=html, parse_mode="HTML")
    assert message["text"] == "&" * 4096
    assert message["entities"] == [{"type": "bold", "offset": 0, "length": 4096}]
    status, body = await api.call("sendMessage", chat_id=lea.id, text="<b>", parse_mode="HTML")
    assert status == 400
    status, body = await api.call("sendMessage", chat_id=lea.id, text="<b>oups", parse_mode="HTML")
    assert status == 400
    assert body["description"].startswith("Bad Request: can't parse entities:")


@both_modes
async def test_callback_data_limit(api: ApiClient, lea) -> None:
    def keyboard(data: str) -> dict:
        return {"inline_keyboard": [[{"text": "b", "callback_data": data}]]}

    status, body = await api.call(
        "sendMessage", chat_id=lea.id, text="x", reply_markup=keyboard("é" * 33)
    )
    assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")
    assert (
        await api.call("sendMessage", chat_id=lea.id, text="x", reply_markup=keyboard("x" * 64))
    )[0] == 200


# -- chats, edits, callback answers ----------------------------------------------------


@both_modes
async def test_chat_errors_and_bot_status(emu: Emulator, api: ApiClient) -> None:
    mods = emu.create_group("Modération", bot_status="member")
    chan = emu.create_channel("Fiers d'être apprentis", username="fiers", bot_status="member")
    status, body = await api.call("sendMessage", chat_id=-1001, text="x")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")
    status, body = await api.call("sendMessage", chat_id="@fiers", text="x")
    assert (status, body["description"]) == (
        400,
        "Bad Request: need administrator rights in the channel chat",
    )
    emu.set_bot_status(chan, "administrator")
    post = await api.ok("sendMessage", chat_id="@fiers", text="Léa, apprentie coiffeuse")
    assert post["sender_chat"]["id"] == chan.id and "from" not in post
    member = await api.ok("getChatMember", chat_id=chan.id, user_id=emu.bot.id)
    assert member["status"] == "administrator" and member["can_post_messages"] is True
    emu.set_bot_status(mods, "kicked")
    status, body = await api.call("sendMessage", chat_id=mods.id, text="x")
    assert (status, body["description"]) == (
        403,
        "Forbidden: bot was kicked from the supergroup chat",
    )
    assert (await api.ok("getChat", chat_id="@fiers"))["title"] == "Fiers d'être apprentis"


@both_modes
async def test_edits_and_not_modified(emu: Emulator, api: ApiClient, lea) -> None:
    sent = await api.ok("sendMessage", chat_id=lea.id, text="carte", reply_markup=KEYBOARD)
    ident = {"chat_id": lea.id, "message_id": sent["message_id"]}
    status, body = await api.call("editMessageText", text="carte", reply_markup=KEYBOARD, **ident)
    assert status == 400 and body["description"].startswith("Bad Request: message is not modified")
    edited = await api.ok("editMessageText", text="Approuvé par Max", **ident)
    assert edited["text"] == "Approuvé par Max" and "reply_markup" not in edited
    assert "edit_date" in edited
    assert (await api.call("editMessageReplyMarkup", **ident))[0] == 400  # nothing to remove
    await api.ok("editMessageReplyMarkup", reply_markup=KEYBOARD, **ident)
    status, body = await api.call("editMessageCaption", caption="x", **ident)
    assert body["description"] == "Bad Request: there is no caption in the message to edit"
    status, body = await api.call("editMessageText", chat_id=lea.id, message_id=999, text="x")
    assert (status, body["description"]) == (400, "Bad Request: message to edit not found")
    user_message = emu.messages(lea)[0]
    status, body = await api.call(
        "editMessageText", chat_id=lea.id, message_id=user_message["message_id"], text="x"
    )
    assert body["description"] == "Bad Request: message can't be edited"
    assert await api.ok("deleteMessage", **ident) is True
    assert (await api.call("deleteMessage", **ident))[0] == 400
    assert emu.bot_messages(lea) == []
    assert emu.bot_messages(lea, include_deleted=True)[0]["deleted"] is True


@both_modes
async def test_answer_callback_query_once(emu: Emulator, api: ApiClient, lea) -> None:
    sent = await api.ok("sendMessage", chat_id=lea.id, text="ok ?", reply_markup=KEYBOARD)
    query_id = await emu.press_button(lea, sent, "ok")
    with pytest.raises(LookupError):
        await emu.press_button(lea, sent, "missing")
    status, body = await api.call("answerCallbackQuery", callback_query_id=query_id, text="x" * 201)
    assert (status, body["description"]) == (400, "Bad Request: MESSAGE_TOO_LONG")
    assert emu.callback_answer(query_id) is None
    assert await api.ok(
        "answerCallbackQuery", callback_query_id=query_id, text="Noté", show_alert=True
    )
    assert emu.callback_answer(query_id)["text"] == "Noté"
    assert emu.callback_answer(query_id)["show_alert"] is True
    status, body = await api.call("answerCallbackQuery", callback_query_id=query_id)
    assert status == 400 and "query is too old" in body["description"]
    status, _ = await api.call("answerCallbackQuery", callback_query_id="nope")
    assert status == 400


@both_modes
async def test_commands_and_descriptions_are_stored(emu: Emulator, api: ApiClient) -> None:
    scope = {"type": "chat", "chat_id": -100123}
    commands = [{"command": "queue", "description": "File d'attente"}]
    assert await api.ok("setMyCommands", commands=commands, scope=scope, language_code="fr")
    assert await api.ok("getMyCommands", scope=scope, language_code="fr") == commands
    assert await api.ok("getMyCommands") == []
    assert emu.commands(scope, "fr") == commands
    assert await api.ok("deleteMyCommands", scope=scope, language_code="fr")
    assert emu.commands(scope, "fr") == []
    status, _ = await api.call("setMyCommands", commands=[{"command": "Bad!", "description": "x"}])
    assert status == 400
    await api.ok("setMyDescription", description="Envoie ton selfie", language_code="fr")
    await api.ok("setMyShortDescription", short_description="Selfies")
    await api.ok("setMyName", name="Fiers")
    assert emu.bot_setting("description", "fr") == "Envoie ton selfie"
    assert await api.ok("getMyDescription", language_code="fr") == {
        "description": "Envoie ton selfie"
    }
    assert emu.bot_setting("name") == "Fiers"


# -- long polling ----------------------------------------------------------------------


@both_modes
async def test_long_polling_waits_for_an_update(emu: Emulator, api: ApiClient) -> None:
    lea = emu.create_user("Léa")
    started = time.monotonic()
    assert await api.ok("getUpdates", timeout=0) == []
    poll = asyncio.create_task(api.ok("getUpdates", timeout=5))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await emu.send_text(lea, "coucou")
    updates = await asyncio.wait_for(poll, 2)
    assert [u["message"]["text"] for u in updates] == ["coucou"]
    assert time.monotonic() - started < 2
    before = time.monotonic()
    assert await api.ok("getUpdates", offset=updates[-1]["update_id"] + 1, timeout=1) == []
    assert time.monotonic() - before >= 0.9


@both_modes
async def test_offset_confirms_and_limit(emu: Emulator, api: ApiClient) -> None:
    lea = emu.create_user("Léa")
    for text in ("un", "deux", "trois"):
        await emu.send_text(lea, text)
    first = await api.ok("getUpdates", limit=2)
    assert [u["message"]["text"] for u in first] == ["un", "deux"]
    again = await api.ok("getUpdates")  # not confirmed: delivered again
    assert len(again) == 3
    rest = await api.ok("getUpdates", offset=first[-1]["update_id"] + 1)
    assert [u["message"]["text"] for u in rest] == ["trois"]
    assert await api.ok("getUpdates", offset=rest[-1]["update_id"] + 1) == []
    assert emu.pending_updates == []


@both_modes
async def test_allowed_updates_filter_and_is_remembered(emu: Emulator, api: ApiClient, lea) -> None:
    updates = await api.ok("getUpdates", allowed_updates=json.dumps(["message"]))
    await api.ok("getUpdates", offset=updates[-1]["update_id"] + 1)
    sent = await api.ok("sendMessage", chat_id=lea.id, text="?", reply_markup=KEYBOARD)
    await emu.press_button(lea, sent, "ok")
    await emu.send_text(lea, "texte")
    updates = await api.ok("getUpdates")  # allowed_updates not repeated: still remembered
    assert [list(u)[1] for u in updates] == ["message"]
    await api.ok("getUpdates", offset=updates[-1]["update_id"] + 1, allowed_updates="[]")
    await emu.press_button(lea, sent, "ok")
    assert [list(u)[1] for u in await api.ok("getUpdates")] == ["callback_query"]


async def test_stop_releases_a_long_poll() -> None:
    emu = Emulator(flood_limits=False)
    await emu.start()
    async with ApiClient(emu) as api:
        poll = asyncio.create_task(api.call("getUpdates", timeout=30))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await emu.stop()
        await asyncio.wait({poll}, timeout=5)
        assert time.monotonic() - started < 3


async def _upload_photo(api: ApiClient, chat_id: int) -> dict:
    from bot.sandbox.emulator.testing import make_jpeg

    files = {"photo": ("selfie.jpg", make_jpeg(), "image/jpeg")}
    status, body = await api.call("sendPhoto", files=files, chat_id=chat_id)
    assert status == 200, body
    return body["result"]


async def test_runs_without_the_spec_and_warns_once(monkeypatch, caplog, tmp_path) -> None:
    from bot.sandbox.emulator import spec

    monkeypatch.setenv(spec.SPEC_ENV, str(tmp_path / "absent.json"))
    monkeypatch.setattr(spec, "_warned", False)
    with caplog.at_level("WARNING", logger="bot.sandbox.emulator.spec"):
        async with running_emulator(flood_limits=False) as emu, ApiClient(emu) as api:
            assert emu.spec is None
            Emulator()  # a second emulator does not warn again
            lea = emu.create_user("Léa")
            await emu.send_text(lea, "/start")
            sent = await api.ok("sendMessage", chat_id=str(lea.id), text="sans spec")
            assert sent["chat"]["id"] == lea.id
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "NOT validate" in caplog.records[0].message
