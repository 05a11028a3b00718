"""Each step of the apprentice conversation: choices, typed answers, limits, policies."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.i18n import t, tn
from bot.sandbox.emulator import User
from models import AgeBand, SubmissionStatus
from tests.support import imagegen
from tests.support.stand import (
    Stand,
    answer_of,
    buttons,
    data_of,
    has_button,
    running_stand,
    walk_to_photo,
)


async def send_photo_and_submit(stand: Stand, user: User, language: str = "fr") -> None:
    await stand.emu.send_photo(user, imagegen.photo_jpeg(1280, 960))
    preview = await stand.reply(user, has_button("preview:"))
    await stand.press(user, preview, "preview:send")
    await stand.reply(user, t(language, "preview.thanks"))


async def test_declining_consent_stores_nothing(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        noa = stand.emu.create_user("Noa")
        await stand.emu.send_text(noa, "/start")
        await stand.press(noa, await stand.reply(noa, has_button("consent:")), "consent:no")
        assert (await stand.reply(noa))["text"] == t("fr", "consent.declined")
        assert await stand.stored() == []
        await stand.emu.send_text(noa, "bonjour")
        assert (await stand.reply(noa))["text"] == t("fr", "common.start_first")
    async with stand.app.services.sessions() as session:
        from models.state import load_state

        assert await load_state(session, "conversation:apprentice") == {}


@pytest.mark.parametrize("policy", ["guardian_confirmation", "refuse", "allow"])
async def test_minors_follow_the_configured_policy(
    db_url: str, tmp_path: Path, policy: str
) -> None:
    async with running_stand(db_url, tmp_path, apprentices={"minors": policy}) as stand:
        kim = stand.emu.create_user("Kim")
        await stand.emu.send_text(kim, "/start")
        await stand.press(kim, await stand.reply(kim, has_button("consent:")), "consent:yes")
        await stand.press(kim, await stand.reply(kim, has_button("age:")), "age:minor")
        if policy == "refuse":
            assert (await stand.reply(kim))["text"] == t("fr", "age.minor_refused")
            assert await stand.stored() == []
            return
        if policy == "guardian_confirmation":
            question = await stand.reply(kim, has_button("guardian:"))
            assert question["text"] == t("fr", "guardian.question")
            await stand.press(kim, question, "guardian:yes")
        await stand.press(kim, await stand.reply(kim, has_button("name:")), "name:anon")
        await stand.press(kim, await stand.reply(kim, has_button("trade:")), "trade:0:1")
        await stand.press(kim, await stand.reply(kim, has_button("centre:")), "centre:2")
        await stand.press(kim, await stand.reply(kim, has_button("quote:")), "quote:skip")
        await stand.reply(kim, "📸")
        await send_photo_and_submit(stand, kim)
        [entry] = await stand.stored()
        assert entry.age_band == AgeBand.MINOR and entry.minor_policy == policy
        assert (entry.guardian_confirmed_at is not None) == (policy == "guardian_confirmation")
        assert entry.display_name is None and entry.centre_name == "CFA de Mâcon"


async def test_guardian_not_yet_agreeing_ends_politely(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        kim = stand.emu.create_user("Kim")
        await stand.emu.send_text(kim, "/start")
        await stand.press(kim, await stand.reply(kim, has_button("consent:")), "consent:yes")
        await stand.press(kim, await stand.reply(kim, has_button("age:")), "age:minor")
        await stand.press(kim, await stand.reply(kim, has_button("guardian:")), "guardian:no")
        assert (await stand.reply(kim))["text"] == t("fr", "guardian.declined")
        assert await stand.stored() == []


async def test_deep_link_preselects_the_centre(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        ines = stand.emu.create_user("Inès")
        await stand.emu.send_text(ines, "/start cfa-auxerre")
        await stand.press(ines, await stand.reply(ines, has_button("consent:")), "consent:yes")
        await stand.press(ines, await stand.reply(ines, has_button("age:")), "age:adult")
        await stand.press(ines, await stand.reply(ines, has_button("name:")), "name:first")
        await stand.press(ines, await stand.reply(ines, has_button("trade:")), "trade:0:0")
        chosen = await stand.reply(ines, "Centre de formation")
        assert chosen["text"] == t("fr", "centre.from_link", centre="CFA d'Auxerre")
        await stand.press(ines, await stand.reply(ines, has_button("quote:")), "quote:skip")
        await stand.reply(ines, "📸")
        await send_photo_and_submit(stand, ines)
        [entry] = await stand.stored()
        assert (entry.centre_code, entry.centre_name) == ("cfa-auxerre", "CFA d'Auxerre")


async def test_unknown_deep_link_asks_for_the_centre(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        ines = stand.emu.create_user("Inès")
        await walk_to_photo(stand, ines, start="/start cfa-inconnu", centre="centre:1")
        await send_photo_and_submit(stand, ines)
        [entry] = await stand.stored()
        assert entry.centre_code == "cfa-auxerre"


async def test_typed_answers_are_matched_checked_and_escaped(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        max_ = emu.create_user("Max", language_code="en")
        await emu.send_text(max_, "/start")
        await stand.press(max_, await stand.reply(max_, has_button("consent:")), "consent:yes")
        await stand.press(max_, await stand.reply(max_, has_button("age:")), "age:adult")
        await stand.press(max_, await stand.reply(max_, has_button("name:")), "name:other")
        await stand.reply(max_, t("en", "name.type_it"))
        await emu.send_text(max_, "x" * 41)
        assert (await stand.reply(max_))["text"] == t("en", "name.bad_length", max=40)
        await emu.send_text(max_, "<b>Max</b> & Co")

        await stand.reply(max_, has_button("trade:"))
        await emu.send_text(max_, "k")
        assert (await stand.reply(max_))["text"] == t("en", "trade.bad_length", max=60)
        await emu.send_text(max_, "boulangere")
        assert (await stand.reply(max_))["text"] == t("en", "trade.did_you_mean")
        # Hmm: exact after normalising accents and the inclusive dot? "boulangere" is close.
        suggestion = emu.bot_messages(max_)[-1]
        assert buttons(suggestion) == {
            "Boulanger·ère": "trade:1:0",
            "Keep “Boulangere”": "trade:typed",
        }
        await stand.press(max_, suggestion, "trade:typed")

        await stand.reply(max_, has_button("centre:"))
        await emu.send_text(max_, "Lycée des métiers <Niépce>")
        quote = await stand.reply(max_, has_button("quote:"))
        await emu.send_text(max_, "q" * 201)
        too_long = await stand.reply(max_, "201")
        assert too_long["text"] == t("en", "quote.too_long", max=200, length=201)
        await emu.send_text(max_, "Fier de mon <métier>")
        await stand.reply(max_, "📸")
        assert quote  # the question was asked once and stayed
        await send_photo_and_submit(stand, max_, "en")
        [entry] = await stand.stored()
        assert entry.display_name == "<b>Max</b> & Co"
        # A typed trade reads as a trade name: capital first, the rest as typed.
        assert entry.trade == "Boulangere" and entry.centre_code is None
        assert entry.centre_name == "Lycée des métiers <Niépce>"
        assert entry.language == "en"
        caption = emu.calls_for("sendPhoto")[-1]["caption"]
        assert "&lt;b&gt;Max&lt;/b&gt; &amp; Co" in caption and "&lt;Niépce&gt;" in caption
        assert "Boulangere" in caption


async def test_exact_typed_trade_and_centre_are_taken_as_is(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        zoe = emu.create_user("Zoé")
        await emu.send_text(zoe, "/start")
        await stand.press(zoe, await stand.reply(zoe, has_button("consent:")), "consent:yes")
        await stand.press(zoe, await stand.reply(zoe, has_button("age:")), "age:adult")
        await stand.press(zoe, await stand.reply(zoe, has_button("name:")), "name:first")
        await stand.reply(zoe, has_button("trade:"))
        await emu.send_text(zoe, "coiffeur se")
        await stand.reply(zoe, has_button("centre:"))
        await emu.send_text(zoe, "cfa de macon")
        await stand.press(zoe, await stand.reply(zoe, has_button("quote:")), "quote:skip")
        await stand.reply(zoe, "📸")
        await send_photo_and_submit(stand, zoe)
        [entry] = await stand.stored()
        assert (entry.trade, entry.centre_code) == ("Coiffeur·se", "cfa-macon")


async def test_buttons_pressed_twice_or_out_of_turn(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        eva = emu.create_user("Eva")
        await emu.send_text(eva, "/start")
        pitch = await stand.reply(eva, has_button("consent:"))
        await stand.press(eva, pitch, "consent:yes")
        age = await stand.reply(eva, has_button("age:"))
        # The pitch became the age question: its consent buttons are gone. A second tap
        # that left the phone before the edit arrived is answered, not obeyed.
        assert age["message_id"] == pitch["message_id"]
        assert data_of(age) == ["age:adult", "age:minor"]
        double_tap = await emu.press_button(eva, pitch, "consent:yes", forged=True)
        assert (await answer_of(stand, double_tap))["text"] == t("fr", "common.stale_button")
        query = await emu.press_button(eva, age, "age:adult")
        name = await stand.reply(eva, has_button("name:"))
        assert name["message_id"] == pitch["message_id"]
        assert emu.callback_answer(query) is not None
        # Typing instead of pressing a button: the question is pointed at, the step kept.
        await emu.send_text(eva, "Eva")
        assert (await stand.reply(eva))["text"] == t("fr", "common.answer_above")
        await emu.send_photo(eva, imagegen.photo_jpeg(800, 600))
        assert (await stand.reply(eva))["text"] == t("fr", "common.answer_above")
        assert await stand.stored() == []


async def test_preview_cancel_and_edit(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        ali = emu.create_user("Ali")
        await walk_to_photo(stand, ali)
        await emu.send_photo(ali, imagegen.photo_jpeg(1280, 960))
        preview = await stand.reply(ali, has_button("preview:"))
        [before] = await stand.stored()
        # « Modifier les infos »: one answer is picked and changed, the others kept.
        await stand.press(ali, preview, "preview:edit")
        which = await stand.reply(ali, has_button("edit:"))
        assert set(data_of(which)) == {
            f"edit:{f}" for f in ("name", "trade", "centre", "quote", "back")
        }
        await stand.press(ali, which, "edit:trade")
        await stand.press(ali, await stand.reply(ali, has_button("trade:")), "tpage:1")
        await stand.press(ali, await stand.emu.wait_for(ali, has_button("trade:1:")), "trade:1:2")
        # The photo is kept: straight back to the preview, no other question asked.
        preview = await stand.reply(ali, has_button("preview:"))
        assert preview["caption"].startswith("Ali — Boucher·ère")
        [draft] = await stand.stored()
        assert draft.status == SubmissionStatus.DRAFT and draft.trade == "Boucher·ère"
        assert (draft.centre_name, draft.quote) == (before.centre_name, before.quote)
        await stand.press(ali, preview, "preview:edit")
        await stand.press(ali, await stand.reply(ali, has_button("edit:")), "edit:name")
        await stand.press(ali, await stand.reply(ali, has_button("name:")), "name:anon")
        preview = await stand.reply(ali, has_button("preview:"))
        assert preview["caption"].startswith("Apprenti·e anonyme — Boucher·ère")
        # « Rien » goes back to the preview as it was.
        await stand.press(ali, preview, "preview:edit")
        await stand.press(ali, await stand.reply(ali, has_button("edit:")), "edit:back")
        preview = await stand.reply(ali, has_button("preview:"))
        assert preview["caption"].startswith("Apprenti·e anonyme — Boucher·ère")
        await stand.press(ali, preview, "preview:cancel")
        assert "reply_markup" not in await stand.reply(ali)  # the preview, its buttons gone
        assert (await stand.reply(ali))["text"] == t("fr", "preview.cancelled")
        assert await stand.stored() == []
        assert not [p for p in stand.settings.storage.path.rglob("*.jpg")]


async def test_cancel_at_any_step_and_outside(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        bob = emu.create_user("Bob", language_code="en")
        await walk_to_photo(stand, bob)
        await emu.send_photo(bob, imagegen.photo_jpeg(1280, 960))
        await stand.reply(bob, has_button("preview:"))
        await emu.send_text(bob, "/cancel")
        assert (await stand.reply(bob))["text"] == t("en", "cancel.done")
        assert await stand.stored() == []
        await emu.send_text(bob, "/annuler")
        assert (await stand.reply(bob))["text"] == t("en", "cancel.nothing")


async def test_pending_entries_are_limited(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, apprentices={"max_pending": 2}) as stand:
        emu = stand.emu
        lou = emu.create_user("Lou")
        for _ in range(2):
            await walk_to_photo(stand, lou)
            await send_photo_and_submit(stand, lou)
        await emu.send_text(lou, "/start")
        refusal = await stand.reply(lou)
        assert refusal["text"] == tn("fr", "start.too_many_pending", 2)
        entries = await stand.stored()
        assert [e.status for e in entries] == [SubmissionStatus.PENDING] * 2


async def test_banned_apprentice_gets_one_polite_reply(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        spam = emu.create_user("Spam")
        stand.app.services.banned.add(spam.id)
        await emu.send_text(spam, "/start")
        assert (await stand.reply(spam))["text"] == t("fr", "banned.notice")
        await emu.send_photo(spam, imagegen.photo_jpeg(800, 600))
        assert (await stand.reply(spam))["text"] == t("fr", "banned.notice")
        assert len(emu.bot_messages(spam)) == 2
        assert await stand.stored() == []


async def test_a_question_that_cannot_be_replaced_is_asked_anew(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        ines = emu.create_user("Inès")
        await emu.send_text(ines, "/start")
        for step, choice in (("consent:", "yes"), ("age:", "adult"), ("name:", "first")):
            await stand.press(ines, await stand.reply(ines, has_button(step)), step + choice)
        await stand.press(ines, await stand.reply(ines, has_button("trade:")), "trade:0:0")
        centres = await stand.reply(ines, has_button("centre:"))
        # A forged index re-asks the same question: Telegram says "not modified", the
        # bot leaves it as it is, no error reaches the apprentice.
        sent = len(emu.bot_messages(ines))
        query = await emu.press_button(ines, centres, "centre:99", forged=True)
        await answer_of(stand, query)
        # The next tap is handled after the forged one (a person's updates in order): once
        # its question is there, nothing more can come of the forged one, and nothing did
        # (that question replaces the centres' one in place).
        await stand.press(ines, centres, "centre:0")
        assert data_of(await stand.reply(ines, has_button("quote:"))) == ["quote:skip"]
        assert len(emu.bot_messages(ines)) == sent
        # The question is deleted right after the tap (before the bot can edit it):
        # the next question comes as a new message.
        quote = emu.messages(ines)[-1]
        await emu.press_button(ines, quote, "quote:skip")
        emu.delete_message(quote)
        assert (await stand.reply(ines))["text"] == t("fr", "photo.question")
        assert not [m for m in emu.bot_messages(ines) if "Oups" in m.get("text", "")]
