"""Users forwarding a channel post (or a person's message) to the bot or into a group:
``forward_origin`` as the spec describes it, parsed by PTB, delivered under the usual rules.
"""

from __future__ import annotations

import pytest
from telegram import MessageOriginChannel, Update
from telegram.ext import ContextTypes, MessageHandler, filters

from bot.sandbox.emulator import Emulator
from bot.sandbox.emulator.testing import (
    SPEC_MODES,
    ApiClient,
    build_application,
    make_jpeg,
)

pytestmark = pytest.mark.parametrize("emu", SPEC_MODES, indirect=True)


async def _channel_post(emu: Emulator) -> tuple[dict, dict]:
    """A photo post of the bot in the campaign channel, and the channel's Chat dict."""
    chan = emu.create_channel("Fiers d'être apprentis", username="fiers")
    async with ApiClient(emu) as api:
        files = {"photo": ("post.jpg", make_jpeg(), "image/jpeg")}
        status, body = await api.call(
            "sendPhoto",
            files=files,
            chat_id=chan.id,
            caption="<b>Léa</b>, apprentie coiffeuse",
            parse_mode="HTML",
        )
    assert status == 200, body
    return body["result"], chan.to_dict()


async def test_forwarded_channel_post_reaches_the_bot_with_its_origin(emu: Emulator) -> None:
    post, channel = await _channel_post(emu)
    lea = emu.create_user("Léa")
    emu.travel(hours=3)
    forwarded = await emu.forward_message(lea, post)
    assert forwarded["chat"]["id"] == lea.id and forwarded["from"]["id"] == lea.id
    assert forwarded["forward_origin"] == {
        "type": "channel",
        "chat": channel,
        "message_id": post["message_id"],
        "date": post["date"],
    }
    assert forwarded["date"] >= post["date"] + 3 * 3600
    for key in ("photo", "caption", "caption_entities"):
        assert forwarded[key] == post[key]
    (update,) = emu.pending_updates
    assert update["message"] == forwarded


async def test_ptb_parses_the_forward_origin(emu: Emulator) -> None:
    post, channel = await _channel_post(emu)
    lea = emu.create_user("Léa")

    async def tell_origin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        origin = update.effective_message.forward_origin
        assert isinstance(origin, MessageOriginChannel)
        await update.effective_message.reply_text(
            f"post {origin.message_id} de {origin.chat.title} ({origin.chat.id})"
        )

    app = build_application(emu)
    app.add_handler(MessageHandler(filters.FORWARDED, tell_origin))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            await emu.forward_message(lea, post)
            reply = await emu.wait_for(lea)
        finally:
            await app.updater.stop()
            await app.stop()
    assert reply["text"] == f"post {post['message_id']} de {channel['title']} ({channel['id']})"


async def test_user_origin_forward_of_a_forward_and_group_privacy(emu: Emulator) -> None:
    post, _ = await _channel_post(emu)
    lea, max_ = emu.create_user("Léa"), emu.create_user("Max")
    said = await emu.send_text(max_, "/start mon texte")
    from_max = await emu.forward_message(lea, said)
    assert from_max["forward_origin"] == {
        "type": "user",
        "sender_user": max_.to_dict(),
        "date": said["date"],
    }
    assert from_max["text"] == said["text"] and from_max["entities"] == said["entities"]
    again = await emu.forward_message(max_, await emu.forward_message(lea, post))
    assert again["forward_origin"]["type"] == "channel"  # the first origin is kept

    emu.group_privacy = True
    mods = emu.create_group("Modération", [lea])
    before = len(emu.pending_updates)
    in_group = await emu.forward_message(lea, from_max, mods)  # "/start..." but a forward
    assert emu.messages(mods) == [in_group] and len(emu.pending_updates) == before
    emu.set_bot_status(mods, "administrator")
    await emu.forward_message(lea, post, mods)
    assert emu.pending_updates[-1]["message"]["chat"]["id"] == mods.id
    assert len(emu.pending_updates) == before + 1

    chan = emu.chat(post["chat"]["id"])
    with pytest.raises(ValueError, match="channel"):
        await emu.forward_message(lea, said, chan)
    emu.delete_message(said)
    with pytest.raises(LookupError):
        await emu.forward_message(lea, said)
