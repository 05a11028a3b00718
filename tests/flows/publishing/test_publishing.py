"""The scheduled publisher through the real bot: order per tick, captions, withdrawal, pause.

Ticks are driven by the test (the registered "publish" job is run on demand, or
``Publisher.run_slot`` is called): the configured crontab never fires during a test.
Entries are put straight into the database as a moderator's approval would leave them;
where a moderation card matters, the bot itself posts it and a moderator presses its buttons.
"""

from __future__ import annotations

import asyncio
import html
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.campaign.captions import CAPTION_LIMIT, build_caption, visible_length
from bot.campaign.schedule import CrontabTrigger
from bot.i18n import t, tn
from bot.telegram.erasure import erase_apprentice
from bot.telegram.publisher import Publisher
from handlers.publishing import run_slot
from models import Removal, Submission, SubmissionStatus
from models.base import utcnow
from models.settings import PUBLISHING_PAUSED, get_setting
from tests.support import imagegen
from tests.support.moderation import card_now
from tests.support.publishing import (
    QUIET,
    add_entries,
    approve_on_card,
    card_of,
    cards_for_pending,
    channel_posts,
    entry_values,
    moderator_says,
    poster_names,
    rows,
    started_apprentice,
    tick,
    unpublish_on_card,
    upload_photo,
)
from tests.support.stand import BOTH_MODES, answer_of, buttons, data_of, has_button, running_stand

S = SubmissionStatus


# --------------------------------------------------------------------------- helpers


# --------------------------------------------------------------------------- schedule


async def test_job_registered_with_configured_cron_and_time_zone(
    db_url: str, tmp_path: Path
) -> None:
    schedule = {"cron": "30 8,12 * * *", "timezone": "America/Montreal"}
    async with running_stand(db_url, tmp_path, schedule=schedule) as stand:
        [job] = stand.app.job_queue.get_jobs_by_name("publish")
        assert job.callback is run_slot
        trigger = job.job.trigger
        assert isinstance(trigger, CrontabTrigger)
        montreal = ZoneInfo("America/Montreal")
        assert (trigger.expression, trigger.timezone) == ("30 8,12 * * *", montreal)
        # 12:00 in Montreal is 18:00 in Paris: the next slots are Montreal's 12:30, 8:30.
        noon = datetime(2026, 1, 15, 12, 0, tzinfo=montreal)
        first = trigger.get_next_fire_time(None, noon)
        second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
        assert first == datetime(2026, 1, 15, 12, 30, tzinfo=montreal)
        assert second == datetime(2026, 1, 16, 8, 30, tzinfo=montreal)
        # The scheduler's own next run is such a slot, in the future.
        assert job.next_t is not None and job.next_t > utcnow()
        local = job.next_t.astimezone(montreal)
        assert (local.hour, local.minute, local.second) in {(8, 30, 0), (12, 30, 0)}


async def test_crontab_weekdays_mean_monday_to_friday() -> None:
    from bot.campaign.schedule import cron_trigger
    from bot.config import ScheduleSettings

    paris = ZoneInfo("Europe/Paris")
    trigger = cron_trigger(ScheduleSettings(cron="0 9 * * 1-5", timezone="Europe/Paris"))
    friday = datetime(2026, 6, 5, 12, 0, tzinfo=paris)
    assert friday.strftime("%A") == "Friday"
    assert trigger.get_next_fire_time(None, friday) == datetime(2026, 6, 8, 9, 0, tzinfo=paris)


async def test_each_tick_posts_per_slot_entries_oldest_first(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, schedule={**QUIET, "per_slot": 2}) as stand:
        photo = await upload_photo(stand.emu)
        lea = started_apprentice(stand.emu, "Léa")
        # Approved in the order 3, 1, 2, 5, 4 (stored 1 to 5): the approval time counts.
        approved = utcnow() - timedelta(minutes=10)
        order = [3, 1, 2, 5, 4]
        entries = [
            entry_values(
                lea.id,
                n,
                photo_file_id=photo,
                approved_at=approved + timedelta(seconds=order.index(n)),
            )
            for n in range(1, 6)
        ]
        ids = dict(zip(range(1, 6), await add_entries(stand, entries), strict=True))
        [job] = stand.app.job_queue.get_jobs_by_name("publish")
        per_tick = []
        for _ in range(4):
            before = len(channel_posts(stand))
            await job.run(stand.app)
            per_tick.append(len(channel_posts(stand)) - before)
        assert per_tick == [2, 2, 1, 0]
        posts = channel_posts(stand)
        assert poster_names(posts) == [f"Apprenti 0{n}" for n in order]
        stored = await rows(stand)
        assert [stored[ids[n]].channel_message_id for n in order] == [
            p["message_id"] for p in posts
        ]
        assert all(e.status == S.PUBLISHED and e.published_at for e in stored.values())
        entry_of = {e.channel_message_id: e.id for e in stored.values()}
        for post in posts:
            assert post["photo"][-1]["file_id"]
            assert buttons(post) == {
                t("fr", "channel.offers"): "https://example.org/offres",
                t("fr", "channel.interest"): (
                    f"https://t.me/fiers_bot?start=post-{entry_of[post['message_id']]}"
                ),
            }
        # Each publication told the apprentice, with the link of the post.
        links = [m["text"] for m in stand.emu.bot_messages(lea)]
        assert links == [
            t("fr", "published.with_link", link=f"https://t.me/fiers_test/{p['message_id']}")
            for p in posts
        ]


async def test_rotate_trades_avoids_the_same_trade_twice_in_a_row(
    db_url: str, tmp_path: Path
) -> None:
    schedule = {**QUIET, "ordering": "rotate_trades"}
    async with running_stand(db_url, tmp_path, schedule=schedule) as stand:
        photo = await upload_photo(stand.emu)
        queue = [
            (1, "Coiffeur·se"),
            (2, "Coiffeur·se"),
            (3, "Coiffeur·se"),
            (4, "Boulanger·ère"),
            (5, "Pâtissier·ère"),
            (6, "Coiffeur·se"),
        ]
        entries = [entry_values(1000 + n, n, trade=tr, photo_file_id=photo) for n, tr in queue]
        ids = dict(zip([n for n, _ in queue], await add_entries(stand, entries), strict=True))
        for _ in range(len(queue)):
            assert len(await tick(stand)) == 1
        assert await tick(stand) == []
        # Oldest of another trade whenever one waits; the old trade again only when alone.
        expected = [1, 4, 2, 5, 3, 6]
        assert poster_names(channel_posts(stand)) == [f"Apprenti 0{n}" for n in expected]
        trades = [p["caption"].split(" — ", 1)[1].split("\n", 1)[0] for p in channel_posts(stand)]
        assert trades == [
            "Coiffeur·se",
            "Boulanger·ère",
            "Coiffeur·se",
            "Pâtissier·ère",
            "Coiffeur·se",
            "Coiffeur·se",
        ]
        stored = await rows(stand)
        assert {stored[ids[n]].status for n in ids} == {S.PUBLISHED}


# --------------------------------------------------------------------------- captions

HOSTILE = "<b>gras</b> & <script>alert(1)</script> &amp; &lt;"


def hostile_quote(length: int = 1500) -> str:
    words = ["pétrir", "<b>four</b>", "&", "<script>x</script>", "croissants", "&amp;", "l'aube"]
    quote, index = "", 0
    while len(quote) < length:
        quote += ("" if not quote else " ") + words[index % len(words)]
        index += 1
    return quote[:length].rstrip()


def check_fitted(caption_text: str, quote: str) -> None:
    """The quote shown is the original cut between two words, then an ellipsis."""
    shown = caption_text.split("« ", 1)[1].rsplit(" »", 1)[0]
    assert shown.endswith("…") and len(shown) < len(quote)
    kept = shown.removesuffix("…")
    assert quote.startswith(kept), kept[-40:]
    assert quote[len(kept)] == " " and not kept.endswith(" "), kept[-40:]


def test_build_caption_fits_every_length_without_cutting_words_or_entities() -> None:
    for length in range(700, 1600, 23):
        quote = hostile_quote(length)
        caption = build_caption(
            display_name=HOSTILE,
            trade=HOSTILE,
            centre_name=HOSTILE,
            quote=quote,
            hashtags=["#FiersDEtreApprentis"],
        )
        assert visible_length(caption) <= CAPTION_LIMIT
        assert "<script>" not in caption and "&amp;amp;" in caption
        text = caption.replace("<b>", "").replace("</b>", "")
        text = html.unescape(text)
        if "…" in text:
            check_fitted(text, quote)
        else:
            assert f"« {quote} »" in text


async def test_hostile_long_caption_is_accepted_by_telegram(db_url: str, tmp_path: Path) -> None:
    campaign = {
        "hashtags": ["#FiersDEtreApprentis", "#Apprentissage_en_Bourgogne", "#Métiers2026"],
        "caption": "<b>{name}</b> — <i>{trade}</i>\n📍 {centre}\n\n« {quote} »\n\n{hashtags}",
    }
    async with running_stand(db_url, tmp_path, schedule=QUIET, campaign=campaign) as stand:
        photo = await upload_photo(stand.emu)
        quote = hostile_quote(1500)
        [entry_id] = await add_entries(
            stand,
            [
                entry_values(
                    1001,
                    1,
                    display_name=f"Zoé {HOSTILE}",
                    trade=f"Boulangère {HOSTILE}",
                    centre_name=f"CFA {HOSTILE}",
                    quote=quote,
                    photo_file_id=photo,
                )
            ],
        )
        assert await tick(stand) == [entry_id]
        [post] = channel_posts(stand)
        [sent] = [c for c in stand.emu.calls_for("sendPhoto") if c["chat_id"] == "@fiers_test"]
        assert visible_length(sent["caption"]) <= CAPTION_LIMIT
        assert len(post["caption"]) <= CAPTION_LIMIT
        # Every field reached the channel as text, whole (HTML shown, not interpreted).
        text = post["caption"]
        assert text.startswith(f"Zoé {HOSTILE} — Boulangère {HOSTILE}\n📍 CFA {HOSTILE}\n")
        assert text.endswith("\n\n#FiersDEtreApprentis #Apprentissage_en_Bourgogne #Métiers2026")
        check_fitted(text, quote)
        # Only the template's own markup became formatting.
        entities = [(e["type"], e["offset"]) for e in post["caption_entities"]]
        assert entities == [("bold", 0), ("italic", len(f"Zoé {HOSTILE} — "))]
        stored = await rows(stand)
        assert stored[entry_id].channel_message_id == post["message_id"]


# --------------------------------------------------------------------------- withdrawal


@BOTH_MODES
async def test_withdrawal_and_unpublish_remove_the_channel_post(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        photo = await upload_photo(emu)
        lea, tom = emu.create_user("Léa"), emu.create_user("Tom")
        for user in (lea, tom):  # they talked to the bot: it may write to them
            await emu.send_text(user, "/aide")
            await stand.reply(user)
        lea_id, tom_id = await add_entries(
            stand,
            [entry_values(lea.id, 1, photo_file_id=photo), entry_values(tom.id, 2)],
            status=S.PENDING,
        )
        # Tom's photo is only on disk: the card uploads it, the post reuses its file_id.
        async with stand.app.services.sessions() as session, session.begin():
            tom_entry = await session.get(Submission, tom_id)
            assert tom_entry is not None
            tom_entry.photo_path = stand.app.services.photos.save(imagegen.photo_jpeg(900, 1200))
        await cards_for_pending(stand)
        for submission_id in (lea_id, tom_id):
            await approve_on_card(stand, submission_id)
        assert await tick(stand) == [lea_id]
        assert await tick(stand) == [tom_id]
        lea_post, tom_post = channel_posts(stand)
        stored = await rows(stand)
        assert stored[tom_id].photo_file_id == tom_post["photo"][-1]["file_id"]
        # Tom's uploads: the card, then nothing more (the post reused the card's photo).
        uploads = [c for c in emu.calls_for("sendPhoto") if not isinstance(c["photo"], str)]
        assert len(uploads) == 1
        for user, post in ((lea, lea_post), (tom, tom_post)):
            link = f"https://t.me/fiers_test/{post['message_id']}"
            await stand.reply(user, t("fr", "published.with_link", link=link))
        tom_card = card_of(stand, stored[tom_id])
        assert f"mod:unpub:{tom_id}" in buttons(tom_card).values()

        # Léa withdraws: her post and her card leave Telegram, her rows the database.
        await emu.send_text(lea, "/supprimer")
        await stand.press(lea, await stand.reply(lea, has_button("erase:")), "erase:yes")
        await stand.reply(lea, tn("fr", "erase.done", 1))
        assert [p["message_id"] for p in channel_posts(stand)] == [tom_post["message_id"]]
        deleted = [m for m in emu.messages(stand.channel, include_deleted=True) if m.get("deleted")]
        assert [m["message_id"] for m in deleted] == [lea_post["message_id"]]
        group_ids = {m["message_id"] for m in emu.messages(stand.group)}
        assert stored[lea_id].moderation_message_id not in group_ids
        assert stored[tom_id].moderation_message_id in group_ids
        assert lea_id not in await rows(stand)

        # One tap only asks: « Retour » leaves the post where it is.
        await stand.press(stand.moderators[0], tom_card, f"mod:unpub:{tom_id}")
        asked = await card_now(stand, tom_card, lambda m: f"mod:unpubok:{tom_id}" in data_of(m))
        assert data_of(asked) == [f"mod:unpubok:{tom_id}", f"mod:back:{tom_id}"]
        assert len(channel_posts(stand)) == 1
        await stand.press(stand.moderators[0], asked, f"mod:back:{tom_id}")
        await card_now(stand, tom_card, lambda m: data_of(m) == [f"mod:unpub:{tom_id}"])
        assert len(channel_posts(stand)) == 1 and (await rows(stand))[tom_id].status == S.PUBLISHED

        # Confirmed, the moderator takes Tom's post off the channel from the card.
        query = await unpublish_on_card(stand, tom_card, tom_id)
        await stand.reply(tom, t("fr", "published.removed"))
        assert channel_posts(stand) == []
        answer = await answer_of(stand, query)
        assert answer["text"] == t("fr", "publishing.unpublished.gone")
        entry = (await rows(stand))[tom_id]
        assert (entry.status, entry.refusal_reason) == (S.REFUSED, "unpublished")
        card = card_of(stand, entry)
        assert f"mod:unpub:{tom_id}" not in buttons(card).values()
        assert "Retirée de la chaîne par Camille" in card["caption"]
        assert "Refusée" not in card["caption"]
        # Nothing is left to publish.
        assert await tick(stand) == []
        # Taken back within the undo window: waiting again, and Tom is told what it means.
        await stand.press(stand.moderators[0], card, f"mod:undo:{tom_id}")
        await stand.emu.wait_for(tom, lambda m: m.get("text") == t("fr", "decision.undone_removal"))
        entry = (await rows(stand))[tom_id]
        assert entry.status == S.PENDING
        # The card was redrawn before Tom was told: it says where the entry now stands.
        assert "mod:ok:" + str(tom_id) in buttons(card_of(stand, entry)).values()
        assert "a annulé le retrait de la chaîne le " in card_of(stand, entry)["caption"]


# --------------------------------------------------------------------------- pause


async def test_pause_survives_a_restart_and_resume_publishes(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        photo_path = stand.app.services.photos.save(imagegen.photo_jpeg(800, 1000))
        [entry_id] = await add_entries(stand, [entry_values(1001, 1, photo_path=photo_path)])
        await moderator_says(stand, "/pause", t("fr", "publishing.paused"))
        assert await tick(stand) == []
        assert channel_posts(stand) == []

    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        [job] = stand.app.job_queue.get_jobs_by_name("publish")
        await job.run(stand.app)
        await job.run(stand.app)
        assert channel_posts(stand) == []
        assert (await rows(stand))[entry_id].status == S.APPROVED
        await moderator_says(stand, "/resume", t("fr", "publishing.resumed"))
        await job.run(stand.app)
        [post] = channel_posts(stand)
        entry = (await rows(stand))[entry_id]
        assert (entry.status, entry.channel_message_id) == (S.PUBLISHED, post["message_id"])
        async with stand.app.services.sessions() as session:
            assert await get_setting(session, PUBLISHING_PAUSED) is None


@pytest.mark.parametrize("lost", ["member", "kicked"], ids=["not-admin-400", "kicked-403"])
async def test_channel_refusal_pauses_alerts_once_and_loses_nothing(
    db_url: str, tmp_path: Path, lost: str
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        photo = await upload_photo(emu)
        lea = started_apprentice(emu, "Léa")
        [entry_id] = await add_entries(stand, [entry_values(lea.id, 1, photo_file_id=photo)])
        emu.set_bot_status(stand.channel, lost)

        def alerts() -> list[dict[str, Any]]:
            return [m for m in emu.bot_messages(stand.group) if m.get("text", "")[:1] == "⛔"]

        for _ in range(3):
            assert await tick(stand) == []
        [alert] = alerts()
        expected = 400 if lost == "member" else 403
        refused = [c for c in emu.calls if c.method == "sendPhoto" and c.status == expected]
        assert len(refused) == 1  # later ticks did not even try
        assert "/resume" in alert["text"]
        assert (await rows(stand))[entry_id].status == S.APPROVED
        async with stand.app.services.sessions() as session:
            assert await get_setting(session, PUBLISHING_PAUSED)

        emu.set_bot_status(stand.channel, "administrator")
        assert await tick(stand) == []  # still paused until a moderator resumes
        await moderator_says(stand, "/resume", t("fr", "publishing.resumed"))
        assert await tick(stand) == [entry_id]
        [post] = channel_posts(stand)
        entry = (await rows(stand))[entry_id]
        assert (entry.status, entry.channel_message_id) == (S.PUBLISHED, post["message_id"])
        assert len(alerts()) == 1
        link = f"https://t.me/fiers_test/{post['message_id']}"
        [told] = emu.bot_messages(lea)
        assert told["text"] == t("fr", "published.with_link", link=link)


async def test_published_entries_are_not_posted_again(db_url: str, tmp_path: Path) -> None:
    """A tick and /publish_now racing for the same entry: one post."""
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        photo = await upload_photo(stand.emu)
        [entry_id] = await add_entries(stand, [entry_values(1001, 1, photo_file_id=photo)])
        publisher = Publisher(stand.app.services)
        outcomes = await asyncio.gather(
            *(publisher.publish(stand.app.bot, entry_id) for _ in range(4)),
            tick(stand),
        )
        assert sorted(map(str, outcomes[:4])) in (
            ["published", "skipped", "skipped", "skipped"],
            ["skipped", "skipped", "skipped", "skipped"],
        )
        assert len(channel_posts(stand)) == 1
        await moderator_says(stand, "/publish_now", t("fr", "publishing.queue_empty"))
        assert len(channel_posts(stand)) == 1
        stored = await rows(stand)
        assert stored[entry_id].status == S.PUBLISHED


async def test_entry_erased_while_being_sent_leaves_no_post(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        photo = await upload_photo(emu)
        lea = started_apprentice(emu, "Léa")
        [entry_id] = await add_entries(stand, [entry_values(lea.id, 1, photo_file_id=photo)])
        # Telegram says "retry after 1 s": the bot's limiter waits, the entry stays claimed.
        emu.inject_fault("sendPhoto", "429", retry_after=1)
        sending = asyncio.create_task(
            Publisher(stand.app.services).publish(stand.app.bot, entry_id)
        )
        async with asyncio.timeout(10):
            while not [c for c in emu.calls if c.method == "sendPhoto" and c.status == 429]:
                await asyncio.sleep(0.01)
        assert (await rows(stand))[entry_id].status == S.PUBLISHING
        # Léa withdraws meanwhile (the service behind /supprimer): the post is not out
        # yet, so the erasure is not complete until the send answers.
        erasure = await erase_apprentice(stand.app.bot, stand.app.services, lea.id)
        assert (erasure.entries, erasure.complete) == (1, False)
        assert str(await sending) == "skipped"
        # The post went out after the erasure, and was taken down at once.
        assert channel_posts(stand) == []
        async with stand.app.services.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Removal)) == 0
        [gone] = emu.messages(stand.channel, include_deleted=True)
        assert gone["deleted"] and gone["caption"].startswith("Apprenti 01")
        assert emu.bot_messages(lea) == []
        assert await rows(stand) == {}
