"""Flood control and fault injection, through raw HTTP calls."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.sandbox.emulator import Emulator, FloodLimits
from bot.sandbox.emulator.testing import ApiClient, running_emulator


class FakeClock:
    """A controllable monotonic clock, so that window tests do not depend on speed."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def emu(clock: FakeClock) -> AsyncIterator[Emulator]:
    async with running_emulator(clock=clock) as emu:
        yield emu


@pytest.fixture
async def api(emu: Emulator) -> AsyncIterator[ApiClient]:
    async with ApiClient(emu) as client:
        yield client


async def test_group_limit_20_per_minute(emu: Emulator, api: ApiClient, clock: FakeClock) -> None:
    mods = emu.create_group("Modération")
    for i in range(20):
        await api.ok("sendMessage", chat_id=mods.id, text=f"carte {i}")
        clock.now += 0.5
    status, body = await api.call("sendMessage", chat_id=mods.id, text="une de trop")
    assert status == 429
    assert body["description"].startswith("Too Many Requests: retry after ")
    assert 1 <= body["parameters"]["retry_after"] <= 60
    assert len(emu.bot_messages(mods)) == 20
    edit = await api.call("editMessageText", chat_id=mods.id, message_id=1, text="modifiée")
    assert edit[0] == 200  # edits are not counted
    clock.now += body["parameters"]["retry_after"]
    await api.ok("sendMessage", chat_id=mods.id, text="après l'attente")


async def test_global_limit_30_per_second(emu: Emulator, api: ApiClient) -> None:
    users = [emu.create_user(f"u{i}") for i in range(31)]
    for user in users:
        await emu.send_text(user, "/start")
    for user in users[:30]:
        await api.ok("sendMessage", chat_id=user.id, text="bienvenue")
    status, body = await api.call("sendMessage", chat_id=users[30].id, text="bienvenue")
    assert status == 429 and body["parameters"] == {"retry_after": 1}


async def test_limits_can_be_switched_off(emu: Emulator, api: ApiClient) -> None:
    emu.flood_limits.enabled = False
    mods = emu.create_group("Modération")
    for _ in range(25):
        await api.ok("sendMessage", chat_id=mods.id, text="x")
    assert Emulator(flood_limits=FloodLimits(group_per_minute=5)).flood_limits.group_per_minute == 5


@pytest.mark.parametrize(("kind", "status"), [("429", 429), ("500", 500), ("502", 502)])
async def test_next_calls_fail_as_injected(
    emu: Emulator, api: ApiClient, kind: str, status: int
) -> None:
    emu.inject_fault("getMe", kind, count=2, retry_after=3)
    for _ in range(2):
        got, body = await api.call("getMe")
        assert got == status and body["ok"] is False and body["error_code"] == status
        if kind == "429":
            assert body["parameters"] == {"retry_after": 3}
    assert (await api.call("getMe"))[0] == 200
    assert [c.status for c in emu.calls] == [status, status, 200]


async def test_drop_and_timeout_faults_close_the_connection(emu: Emulator, api: ApiClient) -> None:
    import aiohttp

    emu.inject_fault("getMe", "drop")
    with pytest.raises(aiohttp.ClientError):
        await api.call("getMe")
    emu.inject_fault("getMe", "timeout", hold=0.2)
    with pytest.raises(aiohttp.ClientError):
        await api.call("getMe")
    assert (await api.call("getMe"))[0] == 200


async def test_fault_rate_is_reproducible(emu: Emulator, api: ApiClient) -> None:
    async def run() -> list[int]:
        emu.fault_rate(["getMe"], 0.2, kinds=["500"], seed=42)
        return [(await api.call("getMe"))[0] for _ in range(50)]

    first = await run()
    assert first == await run()
    assert 3 <= first.count(500) <= 20
    emu.clear_faults()
    assert {(await api.call("getMe"))[0] for _ in range(5)} == {200}
