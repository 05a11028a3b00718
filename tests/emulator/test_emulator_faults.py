"""Faults decided once the parameters are read: 400/403 refusals of one message (``match``,
``count=None``), the call log, and the ``delivered`` share and ``exclude`` of fault_rate.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from telegram.error import BadRequest, Forbidden, NetworkError

from bot.sandbox.emulator import Emulator
from bot.sandbox.emulator.faults import Fault
from bot.sandbox.emulator.state import Chat
from bot.sandbox.emulator.testing import (
    SPEC_MODES,
    ApiClient,
    build_application,
    make_jpeg,
)

WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"


both_modes = pytest.mark.parametrize("emu", SPEC_MODES, indirect=True)


@pytest.fixture
def channel(emu: Emulator) -> Chat:
    return emu.create_channel("Fiers d'être apprentis", username="fiers")


async def _post(api: ApiClient, chat: Chat, caption: str) -> tuple[int, dict[str, Any]]:
    files = {"photo": ("selfie.jpg", make_jpeg(320, 240), "image/jpeg")}
    return await api.call("sendPhoto", files=files, chat_id=chat.id, caption=caption)


def _is_apprentice_03(params: dict[str, Any]) -> bool:
    return "Apprenti 03" in (params.get("caption") or "")


@both_modes
async def test_one_message_refused_for_good_others_untouched(
    emu: Emulator, api: ApiClient, channel: Chat
) -> None:
    emu.inject_fault("sendPhoto", "400", count=None, match=_is_apprentice_03)
    for _ in range(3):
        assert await _post(api, channel, "Apprenti 03, maçon") == (
            400,
            {"ok": False, "error_code": 400, "description": WRONG_FILE},
        )
    assert (await _post(api, channel, "Apprenti 04, boulanger"))[0] == 200
    assert (await api.call("sendMessage", chat_id=channel.id, text="Apprenti 03"))[0] == 200
    assert emu.faults.pending() == {"sendPhoto": None}  # until cleared
    assert [m.get("caption") or m.get("text") for m in emu.messages(channel)] == [
        "Apprenti 04, boulanger",
        "Apprenti 03",
    ]
    refused = [c for c in emu.calls if c.status == 400]
    assert len(refused) == 3 and refused[0].params["caption"] == "Apprenti 03, maçon"
    emu.clear_faults("sendPhoto")
    assert (await _post(api, channel, "Apprenti 03, maçon"))[0] == 200


@both_modes
async def test_a_counted_match_is_only_consumed_by_matching_calls(
    emu: Emulator, api: ApiClient, channel: Chat
) -> None:
    emu.inject_fault("*", "403", count=1, match=_is_apprentice_03)
    assert (await _post(api, channel, "Apprenti 01"))[0] == 200
    assert (await api.call("sendMessage", chat_id=channel.id, text="Apprenti 03"))[0] == 200
    assert emu.faults.pending() == {"*": 1}
    status, body = await _post(api, channel, "Apprenti 03")
    assert (status, body["description"]) == (403, "Forbidden: bot was kicked from the channel chat")
    assert emu.faults.pending() == {}
    assert (await _post(api, channel, "Apprenti 03"))[0] == 200


@both_modes
async def test_ptb_raises_bad_request_and_forbidden(emu: Emulator, channel: Chat) -> None:
    emu.inject_fault("sendPhoto", "400", description="PHOTO_INVALID_DIMENSIONS")
    emu.inject_fault("sendMessage", "403")
    emu.inject_fault("sendMessage", "403", description="Forbidden: bot was blocked by the user")
    app = build_application(emu)
    await app.initialize()
    try:
        with pytest.raises(BadRequest, match="Photo_invalid_dimensions"):
            await app.bot.send_photo(channel.id, make_jpeg())
        with pytest.raises(Forbidden, match="bot was kicked from the channel chat"):
            await app.bot.send_message(channel.id, "Léa")
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await app.bot.send_message(channel.id, "Léa")
        await app.bot.send_message(channel.id, "Léa")
    finally:
        await app.shutdown()
    assert [c.status for c in emu.calls if c.method != "getMe"] == [400, 403, 403, 200]


@both_modes
async def test_faults_without_answer_log_the_parsed_call(
    emu: Emulator, api: ApiClient, channel: Chat
) -> None:
    emu.inject_fault("sendMessage", "drop")
    with pytest.raises(aiohttp.ClientError):
        await api.call("sendMessage", chat_id=channel.id, text="perdu")
    (call,) = emu.calls
    assert (call.method, call.params["text"], call.status) == ("sendMessage", "perdu", 0)
    assert emu.messages(channel) == []


@both_modes
async def test_rate_delivered_share_sends_while_the_client_sees_a_failure(
    emu: Emulator, channel: Chat
) -> None:
    emu.fault_rate(None, 1.0, kinds=["500", "drop"], delivered=1.0, exclude=["getMe"], seed=3)
    app = build_application(emu)
    await app.initialize()  # getMe: excluded, so it goes through
    try:
        for number in range(4):
            with pytest.raises(NetworkError):
                await app.bot.send_message(channel.id, f"post {number}")
    finally:
        await app.shutdown()
    assert [m["text"] for m in emu.messages(channel)] == [f"post {n}" for n in range(4)]
    assert {c.status for c in emu.calls if c.method == "sendMessage"} <= {500, 0}


@both_modes
async def test_rate_delivered_share_is_a_share(
    emu: Emulator, api: ApiClient, channel: Chat
) -> None:
    emu.fault_rate(["sendMessage"], 1.0, kinds=["503"], delivered=0.5, seed=7)
    for number in range(30):
        assert (await api.call("sendMessage", chat_id=channel.id, text=f"{number}"))[0] == 503
    sent = len(emu.messages(channel))
    assert 5 <= sent <= 25
    emu.fault_rate(["sendMessage"], 1.0, kinds=["400", "403", "429"], delivered=1.0, seed=7)
    answers = {(await api.call("sendMessage", chat_id=channel.id, text="x"))[0] for _ in range(20)}
    assert 400 in answers and answers <= {400, 403, 429}
    assert len(emu.messages(channel)) == sent  # refusals never send
    assert (await api.call("getMe"))[0] == 200  # not among the rate's methods


def test_fault_arguments_are_checked() -> None:
    emu = Emulator(flood_limits=False)
    with pytest.raises(ValueError, match="kind"):
        emu.inject_fault("sendMessage", "418")
    with pytest.raises(ValueError, match="delivered"):
        emu.inject_fault("sendMessage", "400", delivered=True)
    with pytest.raises(ValueError, match="count"):
        emu.inject_fault("sendMessage", "500", count=0)
    with pytest.raises(ValueError, match="kind"):
        emu.fault_rate(None, 0.1, kinds=["teapot"])
    error = Fault("400").error()
    assert error is not None and error.description == WRONG_FILE


async def test_a_delay_holds_the_call_then_runs_it(
    emu: Emulator, api: ApiClient, channel: Chat
) -> None:
    emu.inject_fault("sendPhoto", "delay", hold=30)
    held = asyncio.create_task(_post(api, channel, "Apprenti 01"))
    async with asyncio.timeout(5):
        while emu.faults.pending():
            await asyncio.sleep(0.01)
    # Held: other calls go through meanwhile, and nothing is posted yet.
    assert (await api.call("sendMessage", chat_id=channel.id, text="Apprenti 02"))[0] == 200
    assert [m.get("text") for m in emu.messages(channel)] == ["Apprenti 02"]
    assert not held.done()
    await emu.stop()  # releases the hold: the call runs and is answered
    status, body = await held
    assert status == 200 and body["result"]["caption"] == "Apprenti 01"
