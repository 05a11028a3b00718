"""Moderation end to end: what the apprentice, the moderators and the channel each see."""

from __future__ import annotations

import asyncio
import html
import io
import logging
from pathlib import Path

import pytest
from PIL import Image

from bot.i18n import t
from bot.reports.texts import trade_lines
from bot.telegram.cards import post_missing_cards
from models import AgeBand, Apprentice, Submission, SubmissionStatus, utcnow
from models.stats import CampaignStats, TradeFigures
from tests.support import imagegen
from tests.support.moderation import audit_actions, card_now, entry_id, submit
from tests.support.stand import (
    BOTH_MODES,
    answer_of,
    data_of,
    has_button,
    running_stand,
    walk_to_photo,
)

S = SubmissionStatus


@BOTH_MODES
async def test_card_shows_the_facts_and_approve_tells_everyone(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu, camille = stand.emu, stand.moderators[0]
        lea = emu.create_user("Léa", username="lea_coiffe")
        card = await submit(stand, lea, quote="J'adore mon métier", age="minor")
        caption = card["caption"]
        assert "Participation n°1" in caption and "Léa · @lea_coiffe" in caption
        assert f"id {lea.id}" in caption
        assert "Moins de 18 ans · accord parental confirmé le" in caption
        assert "Accord donné le" in caption and "1280×960" in caption
        assert "Doublon" not in caption
        published_caption = emu.calls_for("sendPhoto")[0]["caption"]
        assert caption.endswith(published_caption.replace("<b>", "").replace("</b>", ""))
        assert data_of(card) == ["mod:ok:1", "mod:no:1", "mod:ban:1"]
        assert card["photo"][-1]["file_unique_id"]

        query = await stand.press(camille, card, "mod:ok:1")
        card = await card_now(stand, card, "Acceptée par Camille (@camille_modo)")
        assert "Publication prévue" in card["caption"]
        assert data_of(card) == ["mod:now:1", "mod:undo:1"]
        assert emu.callback_answer(query)["text"] == t("fr", "mod.approved")
        told = await stand.reply(lea, "Bonne nouvelle")
        assert "publiée sur la chaîne vers le" in told["text"]
        assert [e.status for e in await stand.stored()] == [S.APPROVED]
        assert await audit_actions(stand) == [("approve", camille.id, None)]
        assert emu.bot_messages(stand.channel) == []


@BOTH_MODES
async def test_refuse_with_a_listed_reason_in_the_apprentice_language(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu, sam = stand.emu, stand.moderators[1]
        ed = emu.create_user("Ed", language_code="en")
        card = await submit(stand, ed)
        await stand.press(sam, card, "mod:no:1")
        reasons = await card_now(stand, card, lambda m: "mod:why:1:blurry" in data_of(m))
        assert data_of(reasons) == [
            "mod:why:1:blurry",
            "mod:why:1:not_at_work",
            "mod:why:1:inappropriate",
            "mod:why:1:not_apprentice",
            "mod:why:1:duplicate",
            "mod:other:1",
            "mod:back:1",
        ]
        await stand.press(sam, reasons, "mod:why:1:blurry")
        card = await card_now(stand, card, "Refusée par Sam")
        assert "photo floue" in card["caption"] and data_of(card) == ["mod:undo:1"]
        told = await stand.reply(ed)
        assert told["text"] == t("en", "decision.refused", reason="blurry photo.")
        [entry] = await stand.stored()
        assert (entry.status, entry.refusal_reason) == (S.REFUSED, "blurry")
        assert await audit_actions(stand) == [("refuse", sam.id, "blurry")]


@BOTH_MODES
async def test_refuse_with_a_typed_reason(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu, camille = stand.emu, stand.moderators[0]
        noe = emu.create_user("Noé")
        card = await submit(stand, noe)
        await stand.press(camille, card, "mod:no:1")
        reasons = await card_now(stand, card, lambda m: "mod:other:1" in data_of(m))
        query = await stand.press(camille, reasons, "mod:other:1")
        assert (await answer_of(stand, query))["text"] == t("fr", "mod.type_reason")
        await emu.send_text(camille, "On ne voit pas <ton> visage", chat=stand.group, reply_to=card)
        card = await card_now(stand, card, "Refusée par Camille")
        assert "On ne voit pas <ton> visage" in card["caption"]
        told = await stand.reply(noe)
        expected = t("fr", "decision.refused", reason="On ne voit pas <ton> visage.")
        assert told["text"] == html.unescape(expected)
        [entry] = await stand.stored()
        assert entry.refusal_reason == "On ne voit pas <ton> visage"


async def test_a_typed_reason_ends_its_sentence_once(db_url: str, tmp_path: Path) -> None:
    """« …stp. », « …! », « …… », an emoji: the apprentice never reads « .. » or « !. »."""
    typed = {
        "Recadre stp.": "Recadre stp. Tu peux",
        "Super photo mais floue !": "floue ! Tu peux",
        "Presque…": "Presque… Tu peux",
        "Souris un peu 🙂": "🙂 Tu peux",
        "Trop sombre": "Trop sombre. Tu peux",
    }
    async with running_stand(db_url, tmp_path) as stand:
        emu, camille = stand.emu, stand.moderators[0]
        for number, (reason, shown) in enumerate(typed.items(), start=1):
            person = emu.create_user(f"Apprenti {number}")
            card = await submit(stand, person)
            await stand.press(camille, card, f"mod:no:{number}")
            reasons = await card_now(
                stand, card, lambda m, n=number: f"mod:other:{n}" in data_of(m)
            )
            await answer_of(stand, await stand.press(camille, reasons, f"mod:other:{number}"))
            await emu.send_text(camille, reason, chat=stand.group, reply_to=card)
            told = await stand.reply(person, "pas été retenue")
            assert shown in told["text"], told["text"]
            assert ".." not in told["text"] and "!." not in told["text"]


@BOTH_MODES
async def test_two_moderators_at_once_make_one_decision(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu, camille, sam = stand.emu, *stand.moderators
        lou = emu.create_user("Lou")
        card = await submit(stand, lou)
        # Sam opened the reasons; Camille's phone still shows ✅ (Telegram clients keep the
        # keyboard they last drew). Both tap in the same event-loop tick.
        await stand.press(sam, card, "mod:no:1")
        reasons = await card_now(stand, card, lambda m: "mod:why:1:blurry" in data_of(m))
        taps = [
            emu.press_button(camille, card, "mod:ok:1", forged=True),
            emu.press_button(sam, reasons, "mod:why:1:blurry"),
        ]
        queries = await asyncio.gather(*taps)
        answers = [await answer_of(stand, query) for query in queries]
        [entry] = await stand.stored()
        winner = camille if entry.status == S.APPROVED else sam
        assert entry.status in (S.APPROVED, S.REFUSED) and entry.decided_by == winner.id
        won = t("fr", "mod.approved" if winner is camille else "mod.refused")
        lost = t(
            "fr",
            "mod.already_decided",
            moderator=entry.decided_by_name,
            status=t("fr", f"state.{entry.status}"),
        )
        assert sorted(answer["text"] for answer in answers) == sorted([won, lost])
        assert [a["show_alert"] for a in answers if a["text"] == lost] == [True]
        assert len(await audit_actions(stand)) == 1


async def test_non_moderators_and_forged_buttons_change_nothing(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="handlers.decisions")
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        intruder = emu.create_user("Intrus")
        stand.group.members[intruder.id] = "member"
        card = await submit(stand, emu.create_user("Ana"))
        before = [(e.status, e.decided_by) for e in await stand.stored()]
        queries = [await stand.press(intruder, card, "mod:ok:1")]
        for data in (
            "mod:ok:999",
            "mod:ok:999999999999",  # beyond PostgreSQL's integer: unknown, not a traceback
            "mod:zz:1",
            "mod:ok:1:x:y",
            "mod:why:1:made_up",
        ):
            queries.append(await emu.press_button(stand.moderators[0], card, data, forged=True))
        for query in queries:
            assert (await answer_of(stand, query))["show_alert"], query
        garbage = await emu.press_button(stand.moderators[0], card, "x" * 64, forged=True)
        assert (await answer_of(stand, garbage))["text"] == t("fr", "common.stale_button")
        assert emu.callback_answer(queries[0])["text"] == t("fr", "mod.not_allowed")
        assert emu.callback_answer(queries[1])["text"] == t("fr", "mod.gone")
        assert emu.callback_answer(queries[2])["text"] == t("fr", "mod.gone")
        assert [(e.status, e.decided_by) for e in await stand.stored()] == before
        assert await audit_actions(stand) == []
    assert any(f"from user {intruder.id}" in r.getMessage() for r in caplog.records)


async def test_ban_refuses_pending_entries_and_unban_lifts_it(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, apprentices={"max_pending": 3}) as stand:
        emu, camille = stand.emu, stand.moderators[0]
        spam = emu.create_user("Spam")
        first = await submit(stand, spam)
        second = await submit(stand, spam, trade="trade:0:1")
        await stand.press(camille, first, "mod:ban:1")
        confirm = await card_now(stand, first, lambda m: "mod:banok:1" in data_of(m))
        await stand.press(camille, confirm, "mod:banok:1")
        await card_now(stand, first, "participation bloquée")
        await card_now(stand, second, "participation bloquée")
        assert [(e.status, e.refusal_reason) for e in await stand.stored()] == [
            (S.REFUSED, "banned"),
            (S.REFUSED, "banned"),
        ]
        async with stand.app.services.sessions() as session:
            apprentice = await session.get(Apprentice, spam.id)
            assert apprentice is not None and apprentice.banned_by == camille.id
        await emu.send_text(spam, "/start")
        assert (await stand.reply(spam))["text"] == t("fr", "banned.notice")

        await emu.send_text(camille, f"/unban {spam.id}", chat=stand.group)
        assert (await emu.wait_for(stand.group, "levé"))["text"] == t(
            "fr", "mod.unbanned", user=spam.id
        )
        await emu.send_text(spam, "/start")
        await stand.reply(spam, has_button("consent:"))
        await emu.send_text(camille, f"/ban {spam.id}", chat=stand.group)
        await emu.wait_for(stand.group, "banni")
        assert spam.id in stand.app.services.banned
        actions = [a for a, _, _ in await audit_actions(stand)]
        assert actions == ["ban", "unban", "ban"]


async def test_undo_within_the_window_only(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu, sam = stand.emu, stand.moderators[1]
        tom = emu.create_user("Tom")
        card = await submit(stand, tom)
        await stand.press(sam, card, "mod:ok:1")
        card = await card_now(stand, card, "Acceptée")
        await stand.reply(tom, "Bonne nouvelle 🎉")
        await stand.press(sam, card, "mod:undo:1")
        card = await card_now(stand, card, lambda m: "mod:ok:1" in data_of(m))
        assert "Acceptée" not in card["caption"]
        assert "↩️ Sam a annulé l'acceptation le " in card["caption"]
        assert "à modérer de nouveau" in card["caption"]
        [entry] = await stand.stored()
        assert entry.status == S.PENDING
        # Tom was told it would be posted: he is told it no longer will, for now.
        assert (await stand.reply(tom, "↩️"))["text"] == t("fr", "decision.undone_approval")
        # A refusal taken back: the apprentice told « pas retenue » hears it is waiting again.
        await stand.press(sam, card, "mod:no:1")
        reasons = await card_now(stand, card, lambda m: "mod:why:1:blurry" in data_of(m))
        await stand.press(sam, reasons, "mod:why:1:blurry")
        card = await card_now(stand, card, "Refusée")
        await stand.reply(tom, "pas été retenue")
        await stand.press(sam, card, "mod:undo:1")
        card = await card_now(stand, card, lambda m: "mod:ok:1" in data_of(m))
        assert "Sam a annulé le refus le " in card["caption"] and "Refusée" not in card["caption"]
        told = await emu.wait_for(
            tom, lambda m: m.get("text") == t("fr", "decision.undone_refusal")
        )
        assert told
    async with running_stand(db_url, tmp_path, moderation={"undo_minutes": 0}) as stand:
        emu, sam = stand.emu, stand.moderators[1]
        card = await submit(stand, emu.create_user("Zoé"))
        number = entry_id(card)
        await stand.press(sam, card, f"mod:no:{number}")
        reasons = await card_now(stand, card, lambda m: f"mod:why:{number}:duplicate" in data_of(m))
        await stand.press(sam, reasons, f"mod:why:{number}:duplicate")
        card = await card_now(stand, card, "Refusée")
        assert data_of(card) == []  # no undo button once the window is closed


async def test_publish_now_posts_to_the_channel(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu, camille = stand.emu, stand.moderators[0]
        lea = emu.create_user("Léa")
        card = await submit(stand, lea, quote="Fière & heureuse")
        await stand.press(camille, card, "mod:ok:1")
        card = await card_now(stand, card, "Acceptée")
        # The approval is over once Léa is told (its last step): Camille's next tap waits
        # for it (a person's updates in order), which is no part of "publish now".
        await stand.reply(lea, "Bonne nouvelle")
        await stand.press(camille, card, "mod:now:1")
        post = await emu.wait_for(stand.channel)
        assert post["caption"].startswith("Léa — Coiffeur·se")
        assert "« Fière & heureuse »" in post["caption"]
        [[offers], [interest]] = post["reply_markup"]["inline_keyboard"]
        assert offers["url"] == "https://example.org/offres"
        assert interest["url"] == "https://t.me/fiers_bot?start=post-1"
        card = await card_now(stand, card, "Publiée le")
        assert data_of(card) == ["mod:unpub:1"]
        told = await stand.reply(lea, "en ligne")
        assert f"https://t.me/fiers_test/{post['message_id']}" in told["text"]
        [entry] = await stand.stored()
        assert (entry.status, entry.channel_message_id) == (S.PUBLISHED, post["message_id"])
        assert [a for a, _, _ in await audit_actions(stand)] == ["approve", "publish_now"]


async def test_duplicates_are_flagged_on_the_card(db_url: str, tmp_path: Path) -> None:
    original = imagegen.photo_jpeg(1600, 1200, seed=7)
    image = Image.open(io.BytesIO(original))
    copy = io.BytesIO()
    image.resize((1520, 1140)).save(copy, "JPEG", quality=60)
    async with running_stand(db_url, tmp_path, apprentices={"max_pending": 5}) as stand:
        emu = stand.emu
        first = await submit(stand, emu.create_user("A"), original)
        assert "Doublon" not in first["caption"]
        again = await submit(stand, emu.create_user("B"), original)
        assert "Doublon possible : n°1 (en attente)" in again["caption"]
        recompressed = await submit(stand, emu.create_user("C"), copy.getvalue())
        flagged = recompressed["caption"]
        assert "Doublon possible" in flagged and "n°1 (en attente)" in flagged
        assert "n°2 (en attente)" in flagged
        other = await submit(stand, emu.create_user("D"), imagegen.photo_jpeg(1600, 1200, seed=99))
        assert "Doublon" not in other["caption"]


async def test_unreachable_group_keeps_entries_and_retries(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.telegram.cards")
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        emu.set_bot_status(stand.group, "kicked")
        for name in ("Ana", "Bea"):
            user = emu.create_user(name)
            await walk_to_photo(stand, user)
            await emu.send_photo(user, imagegen.photo_jpeg(1280, 960, seed=user.id))
            await stand.press(user, await stand.reply(user, has_button("preview:")), "preview:send")
            await stand.reply(user, "envoy")
        entries = await stand.stored()
        assert [(e.status, e.moderation_message_id) for e in entries] == [(S.PENDING, None)] * 2
        warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
        assert len(warnings) == 1
        emu.set_bot_status(stand.group, "member")
        assert await post_missing_cards(stand.app.bot, stand.app.services) == 2
        assert len([m for m in emu.bot_messages(stand.group) if "photo" in m]) == 2
        assert all(e.moderation_message_id for e in await stand.stored())
        assert any("reachable again" in r.getMessage() for r in caplog.records)


TRADES_HEADING = "Par métier (participations / publiées / personnes intéressées) :"


@BOTH_MODES
async def test_queue_and_stats_commands(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, apprentices={"max_pending": 5}) as stand:
        emu, camille = stand.emu, stand.moderators[0]
        cards = [await submit(stand, emu.create_user(n)) for n in ("A", "B", "C")]
        await stand.press(camille, cards[0], f"mod:ok:{entry_id(cards[0])}")
        await card_now(stand, cards[0], "Acceptée")
        await emu.send_text(camille, "/queue", chat=stand.group)
        queue = await emu.wait_for(stand.group, "en attente de décision")
        assert "2 participations en attente de décision" in queue["text"]
        assert "1 acceptée, à publier" in queue["text"] and "Prochains créneaux" in queue["text"]
        await emu.send_text(camille, "/stats", chat=stand.group)
        stats = await emu.wait_for(stand.group, "Statistiques")
        assert "en attente 2" in stats["text"] and "acceptée 1" in stats["text"]
        assert f"{TRADES_HEADING}\n• Coiffeur·se : 3 / 0 / 0" in stats["text"]
        assert "Taux d’acceptation : 100 %" in stats["text"]
        outsider = emu.create_user("Curieux")
        stand.group.members[outsider.id] = "member"
        await emu.send_text(outsider, "/stats", chat=stand.group)
        await emu.wait_for(stand.group, t("fr", "mod.only_moderators"))
        answers = [m for m in emu.bot_messages(stand.group) if "Statistiques" in m.get("text", "")]
        assert len(answers) == 1


async def test_stats_names_the_top_trades_and_counts_the_others(
    db_url: str, tmp_path: Path
) -> None:
    """13 trades of the longest names, 12 centres too: ten trades with their entries and
    publications, most first, then how many more; the whole within Telegram's limit."""
    trades = [f"{chr(65 + i)}{'é' * 59}" for i in range(13)]
    centres = [f"{chr(65 + i)}{'c' * 119}" for i in range(12)]
    async with running_stand(db_url, tmp_path) as stand:
        async with stand.app.services.sessions() as session, session.begin():
            session.add(Apprentice(id=1, first_name="Léa"))
            await session.flush()
            for i, trade in enumerate(trades):
                for status in [S.PUBLISHED] * (i % 3) + [S.PENDING] * (13 - i) + [S.DRAFT]:
                    session.add(entry(status, trade=trade, centre_name=centres[i % 12]))
        await stand.emu.send_text(stand.moderators[0], "/stats", chat=stand.group)
        text = (await stand.emu.wait_for(stand.group, "Statistiques"))["text"]
    lines = text.split("\n")
    start = lines.index(TRADES_HEADING)
    assert lines[start + 1 : start + 4] == [
        f"• {trades[0]} : 13 / 0 / 0",
        f"• {trades[1]} : 13 / 1 / 0",
        f"• {trades[2]} : 13 / 2 / 0",
    ]
    assert lines[start + 10] == f"• {trades[9]} : 4 / 0 / 0"
    assert lines[start + 11] == "… et 3 autres métiers"
    assert len(text) <= 4096


def entry(status: SubmissionStatus, **fields: str) -> Submission:
    """A complete entry of apprentice 1, as a test adds it directly to the database."""
    return Submission(
        apprentice_id=1,
        status=status,
        language="fr",
        age_band=AgeBand.ADULT,
        consent_at=utcnow(),
        submitted_at=None if status is S.DRAFT else utcnow(),
        **fields,
    )


def test_trade_lines_in_english() -> None:
    stats = CampaignStats(
        by_status={"published": 3},
        by_trade=[TradeFigures("baker & co", entries=3, published=3, interest=5)],
        trades=2,
        by_centre=[],
        approval_rate=1.0,
        median_decision=None,
    )
    assert trade_lines("en", stats) == [
        "By trade (entries / published / interested people):",
        "• baker &amp; co: 3 / 3 / 5",
        "… and 1 more trade",
    ]


async def test_decision_survives_a_card_that_cannot_be_edited(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu, camille = stand.emu, stand.moderators[0]
        lea = emu.create_user("Léa")
        card = await submit(stand, lea)
        query = await stand.press(camille, card, "mod:ok:1")
        emu.delete_message(card)  # deleted by an admin before the bot could edit it
        assert (await answer_of(stand, query))["text"] == t("fr", "mod.approved")
        await stand.reply(lea, "Bonne nouvelle")
        [entry] = await stand.stored()
        assert entry.status == S.APPROVED and entry.decided_by == camille.id
        assert await audit_actions(stand) == [("approve", camille.id, None)]
