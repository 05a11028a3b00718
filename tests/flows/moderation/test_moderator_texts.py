"""What moderators read: /queue in every state of the queue, /aide, answers to outsiders,
labels and alerts with hostile names, the decision kept on cards, local dates."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.i18n import plain, t
from bot.telegram.commands import MODERATION_COMMANDS
from bot.telegram.publisher import Publisher
from models import SubmissionStatus
from models.base import utcnow
from tests.support.data import AddSubmission
from tests.support.moderation import card_now, submit
from tests.support.stand import answer_of, buttons, has_button, running_stand

S = SubmissionStatus
PARIS = ZoneInfo("Europe/Paris")
HOSTILE = "Tom & Jerry <3"


def daily_nine(nth: int) -> datetime:
    """The ``nth`` (0 = next) 09:00 in Paris from now: the slots of ``0 9 * * *``."""
    now = utcnow().astimezone(PARIS)
    day = now.date() if now.time() < time(9) else now.date() + timedelta(days=1)
    return datetime.combine(day + timedelta(days=nth), time(9), PARIS)


def paris_date(moment: datetime) -> str:
    return t("fr", "time.at", date=moment.strftime("%d/%m/%Y"), time=moment.strftime("%H:%M"))


async def test_queue_answers_with_none_one_and_several_approved(
    db_url: str, tmp_path: Path, add_submission: AddSubmission
) -> None:
    schedule = {"cron": "0 9 * * *", "timezone": "Europe/Paris"}
    async with running_stand(db_url, tmp_path, schedule=schedule) as stand:
        emu, camille = stand.emu, stand.moderators[0]
        await emu.send_text(camille, "/queue", chat=stand.group)
        empty = (await emu.wait_for(stand.group, "Prochains créneaux"))["text"]
        assert "✅ 0 acceptée, à publier" in empty and "sera publiée" not in empty
        assert paris_date(daily_nine(0)) in empty

        await add_submission(S.APPROVED, approved_at=utcnow())
        await emu.send_text(camille, "/queue", chat=stand.group)
        one = (await emu.wait_for(stand.group, "Prochains créneaux"))["text"]
        assert "✅ 1 acceptée, à publier" in one
        assert f"📅 Elle sera publiée le {paris_date(daily_nine(0))}" in one

        for _ in range(2):
            await add_submission(S.APPROVED, approved_at=utcnow())
        await emu.send_text(camille, "/queue", chat=stand.group)
        several = (await emu.wait_for(stand.group, "Prochains créneaux"))["text"]
        assert "✅ 3 acceptées, à publier" in several
        assert f"La dernière sera publiée le {paris_date(daily_nine(2))}" in several


async def test_ban_and_unban_without_an_id_show_how_to_use_them(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu, sam = stand.emu, stand.moderators[1]
        for command in ("/ban", "/unban abc"):
            await emu.send_text(sam, command, chat=stand.group)
            usage = await emu.wait_for(stand.group, "par exemple")
            assert usage["text"].startswith(f"Écris {command.split()[0]} suivi de l’id")


async def test_names_on_buttons_and_in_alerts_are_shown_as_written(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu, camille, sam = stand.emu, *stand.moderators
        tom = emu.create_user(HOSTILE)
        await emu.send_text(tom, "/start")
        await stand.press(tom, await stand.reply(tom, has_button("consent:")), "consent:yes")
        await stand.press(tom, await stand.reply(tom, has_button("age:")), "age:adult")
        question = await stand.reply(tom, has_button("name:"))
        assert buttons(question)[f"« {HOSTILE} »"] == "name:first"
        await emu.send_text(tom, "/annuler")
        await stand.reply(tom, "annul")

        card = await submit(stand, tom)
        assert f"👤 {HOSTILE}" in card["caption"]
        sam.first_name = HOSTILE
        await stand.press(sam, card, "mod:ok:1")
        await card_now(stand, card, f"Acceptée par {HOSTILE} le")
        late = await emu.press_button(camille, card, "mod:ok:1", forged=True)
        assert (await answer_of(stand, late))["text"] == f"Déjà traitée par {HOSTILE} : acceptée."


async def test_moderator_help_lists_every_command_in_the_moderators_language(
    db_url: str, tmp_path: Path
) -> None:
    for language, command in (("fr", "/aide"), ("en", "/help")):
        async with running_stand(db_url, tmp_path, moderation={"language": language}) as stand:
            await stand.emu.send_text(stand.moderators[0], command, chat=stand.group)
            help_text = (await stand.emu.wait_for(stand.group, "/queue"))["text"]
            lines = help_text.splitlines()
            for listed in MODERATION_COMMANDS:
                name, description = listed.names[language], plain(language, listed.description_key)
                assert f"/{name} — {description}" in lines
            assert len(lines) > len(MODERATION_COMMANDS) + 1


async def test_moderator_commands_from_others_get_a_polite_no(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu = stand.emu
        curious = emu.create_user("Curieux")
        stand.group.members[curious.id] = "member"
        for command in ("/stats", "/queue", f"/ban {curious.id}", "/unban 1", "/pause"):
            sent = await emu.send_text(curious, command, chat=stand.group)
            answer = await emu.wait_for(stand.group, "seuls les modérateurs")
            assert answer["text"] == t("fr", "mod.only_moderators")
            assert answer["reply_to_message"]["message_id"] == sent["message_id"]
        assert curious.id not in stand.app.services.banned
        assert await Publisher(stand.app.services).paused() is None


async def test_a_published_card_still_says_who_approved_it(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        emu, sam = stand.emu, stand.moderators[1]
        sam.first_name = HOSTILE
        card = await submit(stand, emu.create_user("Léa"))
        await stand.press(sam, card, "mod:ok:1")
        card = await card_now(stand, card, "Publication prévue")
        await stand.press(sam, card, "mod:now:1")
        card = await card_now(stand, card, "Publiée le")
        lines = card["caption"].splitlines()
        approved = next(i for i, line in enumerate(lines) if line.startswith("✅"))
        assert lines[approved].startswith(f"✅ Acceptée par {HOSTILE} le ")
        assert lines[approved + 1].startswith("📣 Publiée le ")


async def test_dates_are_shown_in_the_campaign_time_zone(
    db_url: str, tmp_path: Path, add_submission: AddSubmission
) -> None:
    auckland = ZoneInfo("Pacific/Auckland")  # UTC+13 in January: another day than UTC
    schedule = {"timezone": "Pacific/Auckland"}
    async with running_stand(db_url, tmp_path, schedule=schedule) as stand:
        emu = stand.emu
        mia = emu.create_user("Mia")
        submitted = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
        await add_submission(S.PENDING, apprentice_id=mia.id, submitted_at=submitted)
        await emu.send_text(mia, "/statut")
        status = await stand.reply(mia, "n°")
        assert "16/01/2026" in status["text"] and "15/01/2026" not in status["text"]

        card = await submit(stand, emu.create_user("Léa"))
        [entry] = [e for e in await stand.stored() if e.apprentice_id != mia.id]
        consent = entry.consent_at.astimezone(auckland)
        shown = t("fr", "time.at", date=f"{consent:%d/%m/%Y}", time=f"{consent:%H:%M}")
        assert f"Accord donné le {shown}" in card["caption"]
