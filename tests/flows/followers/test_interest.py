"""From a post to its trade: the offers button leads to that trade's offers, the « ce métier
m'intéresse » deep link opens the bot on the post, and the people it interests are counted,
each once a day per post and per trade (a repeat is answered and counts nothing), without
any Telegram id kept; /stats ranks the posts by them. The real bot against the emulator,
SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.campaign.captions import visible_text as visible
from bot.campaign.interest import VisitorKeys, visit
from bot.campaign.links import interest_post
from bot.campaign.offers import offers_url
from bot.config import ConfigError, settings_from_dict
from bot.i18n import plain, t, tn
from models import Base
from models.base import utcnow
from models.tables import InterestDay, InterestPost, InterestTradeVisitor, InterestVisitor
from tests.support import imagegen
from tests.support.interest import burst, campaign, days_later, follow, published
from tests.support.publishing import (
    QUIET,
    channel_posts,
)
from tests.support.stand import (
    BOTH_MODES,
    CAMPAIGN,
    Stand,
    buttons,
    has_button,
    running_stand,
    walk_to_photo,
)


def post_of(stand: Stand, entry_id: int) -> dict[str, Any]:
    link = f"?start=post-{entry_id}"
    return next(p for p in channel_posts(stand) if any(link in url for url in buttons(p).values()))


async def counts(stand: Stand) -> tuple[list[tuple[int, str, int]], list[tuple[str, int]]]:
    """The people interested per post, and per trade and day (oldest day first)."""
    async with stand.app.services.sessions() as session:
        posts = await session.execute(
            select(InterestPost.submission_id, InterestPost.trade, InterestPost.visitors).order_by(
                InterestPost.submission_id
            )
        )
        days = await session.execute(
            select(InterestDay.trade, InterestDay.visitors).order_by(
                InterestDay.day, InterestDay.trade
            )
        )
        return [tuple(r) for r in posts], [tuple(r) for r in days]  # type: ignore[misc]


async def everything_stored(stand: Stand) -> str:
    """Every value of every table, as one text."""
    values = []
    async with stand.app.services.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in await session.execute(text(f"SELECT * FROM {table.name}")):
                values.extend(str(value) for value in row)
    return "\n".join(values)


def test_offers_url_is_the_trades_own_page_or_the_template_filled_in() -> None:
    settings = settings_from_dict(
        {
            "campaign": campaign(),
            "moderation": {"chat_id": -100123, "moderators": [1]},
        },
        base_dir=Path("."),
    )
    assert offers_url(settings, "Pâtissier·ère") == "https://patisserie.example.org/"
    assert offers_url(settings, "Boulanger·ère & Co") == (
        "https://emploi.example.org/offres?metier=boulanger-ere-co"
        "&q=Boulanger%C2%B7%C3%A8re%20%26%20Co"
    )
    assert interest_post("post-42") == 42
    assert interest_post("cfa-dijon") is None and interest_post("post-4x") is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"offers_url": "https://x.example.org/{metier}"}, "unknown field {metier}"),
        ({"offers_url": "https://x.example.org/{trade"}, "not a valid template"),
        ({"trade_offers": {"Coiffeur·se": "ftp://x"}}, "must be an http(s) URL"),
        ({"centres": [{"code": "post-12", "name": "CFA"}]}, "deep link of a channel post"),
    ],
)
def test_offers_settings_are_checked(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        settings_from_dict(
            {"campaign": campaign(**values), "moderation": {"chat_id": -1, "moderators": [1]}},
            base_dir=Path("."),
        )


async def test_a_posts_buttons_lead_to_its_trades_offers_and_to_the_bot(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, campaign=campaign(), schedule=QUIET) as stand:
        hair = await published(stand, "Coiffeur·se", 1)
        pastry = await published(stand, "Pâtissier·ère", 2)

        assert buttons(post_of(stand, hair)) == {
            plain("fr", "channel.offers"): (
                "https://emploi.example.org/offres?metier=coiffeur-se&q=Coiffeur%C2%B7se"
            ),
            plain("fr", "channel.interest"): f"https://t.me/fiers_bot?start=post-{hair}",
        }
        assert buttons(post_of(stand, pastry)) == {
            plain("fr", "channel.offers"): "https://patisserie.example.org/",
            plain("fr", "channel.interest"): f"https://t.me/fiers_bot?start=post-{pastry}",
        }


async def test_without_offers_a_post_still_leads_to_the_bot(db_url: str, tmp_path: Path) -> None:
    bare = {**CAMPAIGN, "offers_url": None}
    async with running_stand(db_url, tmp_path, campaign=bare, schedule=QUIET) as stand:
        entry = await published(stand, "Coiffeur·se", 1)
        assert buttons(post_of(stand, entry)) == {
            plain("fr", "channel.interest"): f"https://t.me/fiers_bot?start=post-{entry}"
        }


@BOTH_MODES
async def test_a_followers_visit_is_answered_and_counted_once_a_day_without_their_id(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, campaign=campaign(), schedule=QUIET) as stand:
        first = await published(stand, "Pâtissier·ère", 1, centre_name="CFA d'Auxerre")
        second = await published(stand, "Pâtissier·ère", 2)
        other = await published(stand, "Coiffeur·se", 3)
        lou = stand.emu.create_user("Lou", username="lou_curieuse")
        kim = stand.emu.create_user("Kim", language_code="en")

        answer = await follow(stand, lou, first)
        assert answer["text"].startswith("Pâtissier·ère · Alimentation")
        assert (
            visible(tn("fr", "interest.apprentices", 2, campaign=CAMPAIGN["name"]))
            in (answer["text"])
        )
        assert "CFA d'Auxerre" in answer["text"] and "CFA de Dijon" in answer["text"]
        assert "/start" in answer["text"]
        assert buttons(answer) == {
            plain("fr", "interest.offers"): "https://patisserie.example.org/"
        }
        again = await follow(stand, lou, first)  # the same person again: answered the same
        assert again["text"] == answer["text"] and buttons(again) == buttons(answer)
        await follow(stand, lou, second)  # another post of the trade: counts for that post
        english = await follow(stand, kim, first)
        assert plain("en", "interest.offers") in buttons(english)

        posts, days = await counts(stand)
        assert posts == [(first, "Pâtissier·ère", 2), (second, "Pâtissier·ère", 1)]
        assert days == [("Pâtissier·ère", 2)]  # Lou once for the trade, and Kim
        assert other not in [p[0] for p in posts]

        stored = await everything_stored(stand)
        for user in (lou, kim):
            assert str(user.id) not in stored
            assert user.username is None or user.username not in stored
            assert user.first_name not in stored


async def test_a_visit_the_next_day_counts_the_visitor_again_and_forgets_yesterday(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, campaign=campaign(), schedule=QUIET) as stand:
        entry = await published(stand, "Coiffeur·se", 1)
        keys, settings, sessions = VisitorKeys(), stand.settings, stand.app.services.sessions
        today = utcnow()
        for moment in (today, today, today + timedelta(days=1)):
            async with sessions() as session, session.begin():
                info = await visit(session, settings, keys, entry, 1_234_567, moment)
            assert info is not None and info.trade == "Coiffeur·se" and info.apprentices == 1
        posts, days = await counts(stand)
        assert posts == [(entry, "Coiffeur·se", 2)]
        assert days == [("Coiffeur·se", 1), ("Coiffeur·se", 1)]
        async with sessions() as session:
            digests = list(await session.scalars(select(InterestVisitor.day)))
            trade_digests = list(await session.scalars(select(InterestTradeVisitor.day)))
        assert len(digests) == len(trade_digests) == 1  # yesterday's went with the day


async def test_a_post_no_longer_on_the_channel_counts_nothing(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, campaign=campaign(), schedule=QUIET) as stand:
        entry = await published(stand, "Coiffeur·se", 1)
        async with stand.app.services.sessions() as session, session.begin():
            await session.execute(
                text("UPDATE submissions SET status = 'refused' WHERE id = :id"), {"id": entry}
            )
        lou = stand.emu.create_user("Lou")
        answer = await follow(stand, lou, entry)
        assert answer["text"] == t("fr", "interest.gone")
        assert "reply_markup" not in answer  # the offers page needs a trade
        # A post number no row can have (beyond PostgreSQL's integer) is unknown, the same.
        assert (await follow(stand, lou, 999_999_999_999))["text"] == t("fr", "interest.gone")
        assert await counts(stand) == ([], [])


async def test_an_apprentice_half_way_through_an_entry_keeps_their_place(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, campaign=campaign(), schedule=QUIET) as stand:
        entry = await published(stand, "Coiffeur·se", 1)
        lea = stand.emu.create_user("Léa")
        await walk_to_photo(stand, lea)

        answer = await follow(stand, lea, entry)
        assert "Coiffeur·se" in answer["text"]

        await stand.emu.send_photo(lea, imagegen.photo_jpeg(800, 1000))
        preview = await stand.reply(lea, has_button("preview:"), timeout=30)
        assert "Coiffeur·se" in preview["caption"]


async def test_one_person_sending_the_link_forty_times_counts_once_and_is_answered(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 28: forty ``/start post-N`` from one account in a burst (each one the flood
    guard lets in is answered with the trade) and forty more one after the other (each
    answered) are one person for that post and day; a second account makes two; the same
    account the next day counts again."""
    async with running_stand(db_url, tmp_path, campaign=campaign(), schedule=QUIET) as stand:
        entry = await published(stand, "Coiffeur·se", 1)
        flo = stand.emu.create_user("Flo")
        said = await burst(stand, flo, entry, 40)
        answered = [text for text in said if text.startswith("Coiffeur·se · Beauté")]
        slow_down = visible(t("fr", "common.slow_down"))
        assert answered and len(answered) + said.count(slow_down) == len(said)
        assert await counts(stand) == ([(entry, "Coiffeur·se", 1)], [("Coiffeur·se", 1)])

        for _ in range(40):
            assert (await follow(stand, flo, entry))["text"] == answered[0]
        assert await counts(stand) == ([(entry, "Coiffeur·se", 1)], [("Coiffeur·se", 1)])

        await follow(stand, stand.emu.create_user("Kim"), entry)
        assert await counts(stand) == ([(entry, "Coiffeur·se", 2)], [("Coiffeur·se", 2)])

        days_later(monkeypatch, 1)
        await burst(stand, flo, entry, 10)
        assert (await follow(stand, flo, entry))["text"] == answered[0]
        posts, days = await counts(stand)
        assert posts == [(entry, "Coiffeur·se", 3)]
        assert days == [("Coiffeur·se", 2), ("Coiffeur·se", 1)]


async def test_two_posts_of_a_trade_count_a_person_once_for_the_trade(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, campaign=campaign(), schedule=QUIET) as stand:
        first = await published(stand, "Pâtissier·ère", 1)
        second = await published(stand, "Pâtissier·ère", 2)
        other = await published(stand, "Coiffeur·se", 3)
        lou = stand.emu.create_user("Lou")
        for entry in (first, second, other, second, first):
            await follow(stand, lou, entry)
        posts, days = await counts(stand)
        assert posts == [
            (first, "Pâtissier·ère", 1),
            (second, "Pâtissier·ère", 1),
            (other, "Coiffeur·se", 1),
        ]
        assert days == [("Coiffeur·se", 1), ("Pâtissier·ère", 1)]


async def test_stats_ranks_the_posts_by_the_people_they_interested(
    db_url: str, tmp_path: Path
) -> None:
    """Three people on one post outrank one person who came forty times on a newer one
    (which the ranking by visits put first); the trades, the note and the chart too."""
    async with running_stand(db_url, tmp_path, campaign=campaign(), schedule=QUIET) as stand:
        first = await published(stand, "Pâtissier·ère", 1)
        second = await published(stand, "Coiffeur·se", 2)
        for name in ("Lou", "Kim", "Noa"):
            await follow(stand, stand.emu.create_user(name), first)
        eli = stand.emu.create_user("Eli")
        await burst(stand, eli, second, 40)
        for _ in range(40):
            await follow(stand, eli, second)

        camille = stand.moderators[0]
        await stand.emu.send_text(camille, "/stats", chat=stand.group)
        stats = await stand.emu.wait_for(stand.group, "Statistiques")
        assert "Par métier (participations / publiées / personnes intéressées) :" in stats["text"]
        assert "• Pâtissier·ère : 1 / 1 / 3" in stats["text"]
        assert "• Coiffeur·se : 1 / 1 / 1" in stats["text"]
        lines = stats["text"].split("\n")
        start = lines.index(visible(t("fr", "stats.top_posts")))
        assert lines[start : start + 4] == [
            "Publications qui ont intéressé le plus de personnes :",
            f"• n° {first} (Pâtissier·ère) : 3 personnes",
            f"• n° {second} (Coiffeur·se) : 1 personne",
            visible(t("fr", "stats.interest_note")),
        ]
        assert "une fois par jour et par métier" in lines[start + 3]
        assert "visite" not in stats["text"]
        link = next(e for e in stats["entities"] if e["type"] == "text_link")
        assert link["url"] == f"https://t.me/fiers_test/{post_of(stand, first)['message_id']}"
        chart = await stand.emu.wait_for(stand.group, lambda m: "photo" in m)
        assert chart["photo"][-1]["width"] == 800
