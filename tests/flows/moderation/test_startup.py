"""Start-up of the real Application against the emulator: menus, checks, first answer."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.sandbox.emulator import Emulator
from tests.support.stand import running_stand


async def test_commands_are_registered_per_scope_and_language(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        private = {"type": "all_private_chats"}
        french = [c["command"] for c in stand.emu.commands(private, "fr")]
        english = [c["command"] for c in stand.emu.commands(private, "en")]
        assert french == ["start", "statut", "mesdonnees", "supprimer", "annuler", "langue", "aide"]
        assert english == ["start", "status", "mydata", "delete", "cancel", "language", "help"]
        assert stand.emu.commands(private) == stand.emu.commands(private, "fr")
        group = {"type": "chat", "chat_id": stand.group.id}
        assert [c["command"] for c in stand.emu.commands(group, "en")] == [
            "queue",
            "stats",
            "publish_now",
            "pause",
            "resume",
            "ban",
            "unban",
            "help",
        ]
        descriptions = {c["command"]: c["description"] for c in stand.emu.commands(private, "fr")}
        assert descriptions["aide"] == "Comment ça marche"


async def test_start_is_answered_in_private_and_ignored_in_groups(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        lea = stand.emu.create_user("Léa", language_code="fr")
        await stand.emu.send_text(lea, "/start")
        pitch = await stand.reply(lea)
        assert "Fiers d'être apprentis" in pitch["text"] and "/supprimer" in pitch["text"]
        await stand.emu.send_text(stand.moderators[0], "/start", chat=stand.group)
        await stand.emu.send_text(stand.moderators[0], "/aide", chat=stand.group)
        help_card = await stand.emu.wait_for(stand.group)
        assert "fiche" in help_card["text"]
        assert [m["text"] for m in stand.emu.bot_messages(stand.group)] == [help_card["text"]]


@pytest.mark.parametrize("problem", ["not_admin", "not_in_group"])
async def test_start_up_warns_about_the_channel_and_the_group(
    db_url: str, tmp_path: Path, problem: str, caplog: pytest.LogCaptureFixture, monkeypatch
) -> None:
    original = Emulator.create_channel if problem == "not_admin" else Emulator.create_group
    status = "member" if problem == "not_admin" else "left"

    def create(self: Emulator, *args, **kwargs):
        kwargs["bot_status"] = status
        return original(self, *args, **kwargs)

    target = "create_channel" if problem == "not_admin" else "create_group"
    monkeypatch.setattr(Emulator, target, create)
    caplog.set_level(logging.WARNING, logger="bot.app.application")
    async with running_stand(db_url, tmp_path) as stand:
        lea = stand.emu.create_user("Léa")
        await stand.emu.send_text(lea, "/start")
        await stand.reply(lea)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    if problem == "not_admin":
        assert any("not an administrator of the channel @fiers_test" in w for w in warnings)
    else:
        assert any("moderation group" in w and "add the bot" in w for w in warnings)


async def test_start_up_names_each_missing_right(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Without them, erasure cannot delete old posts and cards: the operator is told which."""
    caplog.set_level(logging.WARNING, logger="bot.app.application")
    rights = {"can_edit_messages": False, "can_delete_messages": False}
    async with running_stand(db_url, tmp_path, channel_rights=rights):
        pass
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    channel = [w for w in warnings if "the channel @fiers_test" in w]
    assert len(channel) == 2
    assert any("'Edit messages of others'" in w for w in channel)
    assert any("'Delete messages of others'" in w and "48 hours" in w for w in channel)
    assert any("plain member of the moderation group" in w for w in warnings)

    caplog.clear()
    async with running_stand(db_url, tmp_path, group_rights={"can_delete_messages": True}):
        pass
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert not [w for w in warnings if "right" in w or "member" in w], warnings
