"""One person's burst never delays anyone else (``bot/telegram/concurrency.py``,
``handlers/guard.py``).

Through the real stand: the bot polling the emulator. The emulator hands a burst to the
bot in one ``getUpdates`` answer, so the processor sees the updates in the order sent and
its decisions (queued, "slow down", dropped) are the same at every run. Where a test needs
a person's queue to stay full, the emulator holds one of the bot's calls (a ``timeout``
fault: Telegram not answering for a while), as a slow network would; the assertions are
about order and counts, never about durations.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.i18n import t
from bot.sandbox.emulator import User
from bot.telegram.concurrency import MAX_QUEUED_PER_USER, PerUserUpdateProcessor
from tests.support import imagegen
from tests.support.stand import Stand, has_button, running_stand, walk_to_photo

FLOOD = 50
HOLD_S = 3.0
"""How long the emulator sits on the flooder's first reply before dropping the connection."""


def processor(stand: Stand) -> PerUserUpdateProcessor:
    update_processor = stand.app.update_processor
    assert isinstance(update_processor, PerUserUpdateProcessor)
    return update_processor


def texts(stand: Stand, user: User) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in stand.emu.bot_messages(user)]


def to_chat(user: User, text: str) -> Callable[[dict[str, Any]], bool]:
    """A fault ``match``: the bot's message ``text`` to ``user``."""
    return lambda params: str(params.get("chat_id")) == str(user.id) and params.get("text") == text


class Watch:
    """Samples a person's queue and slots at every turn of the event loop."""

    def __init__(self, stand: Stand, user: User) -> None:
        self.processor, self.key = processor(stand), user.id
        self.most_queued = self.most_slots = 0
        self._task = asyncio.create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            self.most_queued = max(self.most_queued, self.processor.queued(self.key))
            self.most_slots = max(self.most_slots, self.processor.slots_held(self.key))
            await asyncio.sleep(0)

    def stop(self) -> None:
        self._task.cancel()


async def settled(stand: Stand, user: User, count: int) -> list[str]:
    """The bot's messages to ``user`` once there are ``count``, and nothing more came.

    Proof of "nothing more": a later /aide is handled after every earlier update of
    ``user`` (a person's updates in order), so once it is answered the rest is said.
    """
    async with asyncio.timeout(HOLD_S + 20):
        while len(stand.emu.bot_messages(user)) < count:
            await asyncio.sleep(0.05)
    await stand.emu.send_text(user, "/aide")
    await stand.reply(user, t("fr", "command.help"), timeout=HOLD_S + 20)
    *received, help_text = texts(stand, user)
    assert t("fr", "command.help") in help_text
    return received


async def test_a_flood_is_answered_once_and_delays_no_one(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        flooder, zoe = emu.create_user("Flo"), emu.create_user("Zoé")
        start_first, slow_down = t("fr", "common.start_first"), t("fr", "common.slow_down")
        emu.inject_fault("sendMessage", "timeout", hold=HOLD_S, match=to_chat(flooder, start_first))
        watch = Watch(stand, flooder)

        for i in range(FLOOD):
            await emu.send_text(flooder, f"coucou {i}")
        await emu.send_text(zoe, "/aide")

        # Zoé is answered while the flooder's first reply is still on its way.
        await stand.reply(zoe, "Comment ça marche")
        assert start_first not in texts(stand, flooder)
        assert watch.most_queued == MAX_QUEUED_PER_USER
        assert watch.most_slots == 1

        # The flooder: one "slow down", then only the queued messages are answered.
        received = await settled(stand, flooder, MAX_QUEUED_PER_USER + 1)
        watch.stop()
        assert received.count(slow_down) == 1
        assert received.count(start_first) == MAX_QUEUED_PER_USER
        assert len(received) == MAX_QUEUED_PER_USER + 1
        assert watch.most_slots == 1
        async with asyncio.timeout(5):  # the queue is forgotten once empty
            while processor(stand).queued(flooder.id):
                await asyncio.sleep(0.01)

        # A new message later is a new turn, answered as usual.
        await emu.send_text(flooder, "re")
        await stand.reply(flooder, start_first)


async def test_every_button_press_of_a_flood_is_answered(db_url: str, tmp_path: Path) -> None:
    """A dropped press still gets its answerCallbackQuery (the phone spins until then);
    the "slow down" of a burst of presses is the answer of the first one dropped."""
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        lea = emu.create_user("Léa")
        await emu.send_text(lea, "/start")
        pitch = await stand.reply(lea, has_button("consent:"))
        presses = [await stand.press(lea, pitch, "consent:yes") for _ in range(30)]
        await stand.reply(lea, has_button("age:"))

        async with asyncio.timeout(10):
            while any(emu.callback_answer(q) is None for q in presses):
                await asyncio.sleep(0.05)
        answers = [emu.callback_answer(q) or {} for q in presses]
        said = [a.get("text") for a in answers]
        assert said.count(t("fr", "common.slow_down")) == 1
        assert said[MAX_QUEUED_PER_USER] == t("fr", "common.slow_down")
        # The queued ones: the first moved the conversation on, the others were stale.
        assert said[0] is None
        assert said[1:MAX_QUEUED_PER_USER] == [t("fr", "common.stale_button")] * 7
        assert set(said[MAX_QUEUED_PER_USER + 1 :]) == {None}
        assert t("fr", "common.slow_down") not in texts(stand, lea)  # a toast, no message


async def test_a_double_tap_is_answered_twice(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        lea = emu.create_user("Léa")
        await emu.send_text(lea, "/start")
        pitch = await stand.reply(lea, has_button("consent:"))
        first, second = [await stand.press(lea, pitch, "consent:yes") for _ in range(2)]
        await stand.reply(lea, has_button("age:"))
        async with asyncio.timeout(10):
            while emu.callback_answer(first) is None or emu.callback_answer(second) is None:
                await asyncio.sleep(0.05)
        assert (emu.callback_answer(second) or {}).get("text") == t("fr", "common.stale_button")


async def test_an_album_is_no_flood(db_url: str, tmp_path: Path) -> None:
    """Ten photos of an album arrive as ten updates at once: all of them are queued, even
    while the first one holds the queue (its download held by the emulator)."""
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        zoe = emu.create_user("Zoé")
        await walk_to_photo(stand, zoe)
        emu.inject_fault("getFile", "timeout", hold=HOLD_S)
        watch = Watch(stand, zoe)
        await emu.send_album(zoe, [imagegen.photo_jpeg(640, 800, seed=s) for s in range(10)])

        asked = len(texts(stand, zoe))
        received = (await settled(stand, zoe, asked + 11))[asked:]
        watch.stop()
        assert watch.most_queued > MAX_QUEUED_PER_USER
        assert t("fr", "common.slow_down") not in received
        # The first download failed; the second photo became the preview (an intro and
        # the photo); the other eight are the album's extra photos.
        assert received.count(t("fr", "photo.problem.download_failed")) == 1
        assert received.count(t("fr", "preview.intro")) == 1
        assert received.count(t("fr", "photo.problem.album")) == 8
