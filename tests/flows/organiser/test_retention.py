"""Retention (issue 14): each rule of ``[retention]``, the orphan sweep, the dry run, the
``purge`` command, and what the running bot does about it, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from telegram.ext import ConversationHandler

from bot.app.cli import main
from bot.config import settings_from_dict
from bot.i18n import t
from bot.ops.retention import PurgeReport, campaign_retention_ends, purge
from bot.photos.encode import THUMB_SIDE, thumbnail
from bot.photos.store import PhotoStore, thumbnail_names
from bot.services import Services, make_services
from models import Apprentice, BotState, ModerationAudit, Submission, SubmissionStatus, utcnow
from models.apprentices import delete_apprentice_data
from models.audit import record_audit
from models.db import upgrade
from models.retention import note_erased
from models.state import save_states
from tests.support import imagegen
from tests.support.data import AddSubmission
from tests.support.stand import (
    CAMPAIGN,
    has_button,
    running_stand,
    stand_config,
    walk_to_photo,
    write_config,
)

S = SubmissionStatus
HOUR = timedelta(hours=1)
ENDS = date(2027, 6, 30)
LISTED = ["blurry", "not_at_work", "inappropriate", "not_apprentice", "duplicate"]


def raw_config(db_url: str, data_dir: Path, **sections: dict[str, Any]) -> dict[str, Any]:
    return stand_config(
        api_url="http://127.0.0.1:9",
        db_url=db_url,
        data_dir=data_dir,
        group_id=-1001,
        moderators=[1],
        campaign={**CAMPAIGN, "ends": ENDS.isoformat()},
        retention={"draft_hours": 48, "refused_days": 30, "months_after_campaign": 6},
        **sections,
    )


@pytest.fixture
async def svc(db_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    services = make_services(settings_from_dict(raw_config(db_url, tmp_path), base_dir=tmp_path))
    await upgrade(services.engine)
    yield services
    await services.engine.dispose()


def stored_photo(svc: Services, age: timedelta = 2 * HOUR, thumbs: bool = False) -> str:
    """A photo file written ``age`` ago (older than the sweep's grace by default), with
    the thumbnails the pipeline makes when ``thumbs``."""
    jpeg = imagegen.photo_jpeg(64, 48)
    path = svc.photos.save(jpeg, thumbnail(jpeg, THUMB_SIDE) if thumbs else None)
    written = time.time() - age.total_seconds()
    for name in (path, *thumbnail_names(path)):
        if (svc.photos.root / name).exists():
            os.utime(svc.photos.root / name, (written, written))
    return path


def exists(svc: Services, path: str) -> bool:
    return (svc.photos.root / path).is_file()


Add = Callable[..., Awaitable[int]]


@pytest.fixture
def add(add_submission: AddSubmission) -> Add:
    """``await add(status, **fields)``: a committed entry of Léa's (id 1001), without a
    photo file unless ``photo_path`` is given; its number."""

    async def add_entry(status: S = S.PENDING, **fields: Any) -> int:
        return (await add_submission(status, **{"photo_path": None, **fields})).id

    return add_entry


async def entry(svc: Services, submission_id: int) -> Submission | None:
    async with svc.sessions() as session:
        return await session.get(Submission, submission_id)


async def set_state(svc: Services, user_id: int, data: dict[str, Any], age: timedelta) -> None:
    """The persisted answers and conversation step of ``user_id``, last written ``age`` ago."""
    rows = {
        ("user", str(user_id)): data,
        ("conversation:apprentice", json.dumps([user_id, user_id])): "quote",
    }
    async with svc.sessions() as session, session.begin():
        await save_states(session, rows)
        await session.execute(
            update(BotState)
            .where(BotState.key.in_([str(user_id), json.dumps([user_id, user_id])]))
            .values(updated_at=utcnow() - age)
        )


async def states(svc: Services) -> dict[tuple[str, str], Any]:
    async with svc.sessions() as session:
        rows = await session.execute(select(BotState.kind, BotState.key, BotState.data))
        return {(kind, key): data for kind, key, data in rows}


# --- unfinished entries ------------------------------------------------------------------


async def test_unfinished_entries_go_after_draft_hours_and_nothing_recent(
    add: Add, svc: Services
) -> None:
    old_photo, new_photo, busy_photo = stored_photo(svc), stored_photo(svc), stored_photo(svc)
    old = await add(S.DRAFT, photo_path=old_photo, updated_at=utcnow() - 49 * HOUR)
    new = await add(S.DRAFT, apprentice_id=1002, photo_path=new_photo)
    # Drafted long ago, but the apprentice is answering the questions again right now.
    busy = await add(
        S.DRAFT, apprentice_id=1003, photo_path=busy_photo, updated_at=utcnow() - 49 * HOUR
    )
    await set_state(svc, 1001, {"lang": "en", "entry": {"quote": "Le pain"}}, 49 * HOUR)
    await set_state(svc, 1002, {"entry": {"quote": "Frais"}}, HOUR)
    await set_state(svc, 1003, {"entry": {"quote": "Occupé"}}, timedelta(0))

    report = await purge(svc)

    assert (report.drafts, report.conversations, report.files) == (1, 1, 1)
    assert await entry(svc, old) is None and not exists(svc, old_photo)
    assert await entry(svc, new) is not None and exists(svc, new_photo)
    assert await entry(svc, busy) is not None and exists(svc, busy_photo)
    left = await states(svc)
    assert left[("user", "1001")] == {"lang": "en"}, "the language choice is not personal"
    assert ("conversation:apprentice", "[1001, 1001]") not in left
    assert left[("user", "1002")] == {"entry": {"quote": "Frais"}}
    assert ("conversation:apprentice", "[1002, 1002]") in left
    assert (await purge(svc)).total == 0, "a second run finds nothing more"


async def test_a_silent_apprentice_without_a_language_choice_loses_the_whole_row(
    svc: Services,
) -> None:
    await set_state(svc, 1001, {"entry": {"display_name": "Zéphyrine"}}, 72 * HOUR)
    await purge(svc)
    assert await states(svc) == {}


# --- refused entries ---------------------------------------------------------------------


async def test_refused_entries_lose_photo_and_texts_after_refused_days(
    add: Add, svc: Services
) -> None:
    long_ago = utcnow() - timedelta(days=31)
    old_photo, recent_photo, was_public_photo = (stored_photo(svc) for _ in range(3))
    old = await add(
        S.REFUSED, photo_path=old_photo, decided_at=long_ago, refusal_reason="Zéphyrine?"
    )
    recent = await add(
        S.REFUSED, photo_path=recent_photo, decided_at=utcnow(), refusal_reason="blurry"
    )
    unpublished = await add(
        S.REFUSED,
        photo_path=was_public_photo,
        decided_at=long_ago,
        published_at=long_ago - HOUR,
        channel_message_id=77,
        refusal_reason="unpublished",
    )
    listed = await add(S.REFUSED, decided_at=long_ago, refusal_reason="blurry")
    async with svc.sessions() as session, session.begin():
        await record_audit(
            session,
            "refuse",
            moderator_id=1,
            moderator_name="Camille",
            submission_id=old,
            reason="Zéphyrine?",
        )
        await record_audit(
            session,
            "refuse",
            moderator_id=1,
            moderator_name="Camille",
            submission_id=listed,
            reason="blurry",
        )

    report = await purge(svc)

    assert report.refused == 3 and report.files == 2
    gone = await entry(svc, old)
    assert gone is not None and gone.purged_at is not None
    assert (gone.display_name, gone.quote, gone.photo_path, gone.photo_file_id) == (None,) * 4
    assert gone.refusal_reason is None, "a typed reason may quote the person"
    assert (gone.trade, gone.centre_name) == ("coiffeuse", "CFA de Dijon"), "kept for /stats"
    assert not exists(svc, old_photo) and not exists(svc, was_public_photo)
    kept = await entry(svc, recent)
    assert kept is not None and kept.purged_at is None and exists(svc, recent_photo)
    register = await entry(svc, unpublished)
    assert register is not None and register.display_name == "Léa", "the register keeps it"
    assert register.quote is None and register.refusal_reason == "unpublished"
    listed_row = await entry(svc, listed)
    assert listed_row is not None and listed_row.refusal_reason == "blurry"
    async with svc.sessions() as session:
        audit = dict(
            (
                await session.execute(select(ModerationAudit.submission_id, ModerationAudit.reason))
            ).all()
        )
    assert audit == {old: None, listed: "blurry"}
    assert (await purge(svc)).total == 0


# --- the campaign's end ------------------------------------------------------------------


def test_campaign_retention_ends_counts_months_from_the_last_day(tmp_path: Path) -> None:
    def last_day(ends: date, months: int) -> date | None:
        raw = raw_config("sqlite+aiosqlite:///x.db", tmp_path)
        raw["campaign"]["ends"] = ends
        raw["retention"]["months_after_campaign"] = months
        return campaign_retention_ends(settings_from_dict(raw, base_dir=tmp_path))

    assert last_day(date(2027, 6, 30), 6) == date(2027, 12, 31)
    assert last_day(date(2027, 8, 31), 6) == date(2028, 3, 1)  # 29 Feb 2028, then a day
    assert last_day(date(2027, 12, 15), 1) == date(2028, 1, 16)


async def test_after_the_campaign_only_the_consent_register_is_left(
    add: Add, svc: Services
) -> None:
    published_photo, pending_photo = stored_photo(svc), stored_photo(svc)
    published = await add(
        S.PUBLISHED,
        photo_path=published_photo,
        published_at=utcnow(),
        channel_message_id=5,
        consent_version="abc123",
    )
    pending = await add(S.PENDING, photo_path=pending_photo)
    refused = await add(S.REFUSED, apprentice_id=1002, decided_at=utcnow())
    await set_state(svc, 1003, {"lang": "fr"}, timedelta(0))
    async with svc.sessions() as session, session.begin():
        await record_audit(
            session, "refuse", moderator_id=1, submission_id=refused, reason="on voit Zéphyrine"
        )
    day_before = datetime(2027, 12, 30, 12, tzinfo=utcnow().tzinfo)
    assert not (await purge(svc, now=day_before)).campaign_over

    report = await purge(svc, now=day_before + timedelta(days=1))

    assert report.campaign_over
    assert (report.campaign_deleted, report.campaign_register) == (2, 1)
    assert await entry(svc, pending) is None and await entry(svc, refused) is None
    kept = await entry(svc, published)
    assert kept is not None and kept.purged_at is not None
    assert (kept.display_name, kept.trade, kept.consent_version) == ("Léa", "coiffeuse", "abc123")
    assert (kept.quote, kept.photo_path, kept.photo_file_id) == (None, None, None)
    assert kept.channel_message_id == 5, "an apprentice's /supprimer can still remove the post"
    assert not exists(svc, published_photo) and not exists(svc, pending_photo)
    async with svc.sessions() as session:
        people = list(await session.scalars(select(Apprentice)))
        reasons = list(await session.scalars(select(ModerationAudit.reason)))
    assert [(p.id, p.first_name, p.username) for p in people] == [(1001, "", None)]
    assert reasons == [None]
    assert await states(svc) == {}
    assert (await purge(svc, now=day_before + timedelta(days=2))).total == 0


# --- dry run, sweep, erasure -------------------------------------------------------------


async def test_a_dry_run_counts_exactly_what_a_purge_removes_and_removes_nothing(
    add: Add,
    svc: Services,
) -> None:
    photo = stored_photo(svc)
    orphan = stored_photo(svc)
    draft = await add(S.DRAFT, photo_path=photo, updated_at=utcnow() - 50 * HOUR)
    await add(S.REFUSED, apprentice_id=1002, decided_at=utcnow() - timedelta(days=40))
    await set_state(svc, 1001, {"entry": {}}, 50 * HOUR)
    before = await states(svc)

    dry = await purge(svc, dry_run=True)

    assert await entry(svc, draft) is not None and exists(svc, photo) and exists(svc, orphan)
    assert await states(svc) == before
    real = await purge(svc)
    assert dry.lines() == real.lines()
    assert (real.drafts, real.conversations, real.refused, real.files) == (1, 1, 1, 2)


async def test_the_sweep_deletes_old_orphans_only(add: Add, svc: Services) -> None:
    referenced = stored_photo(svc, age=timedelta(days=300))
    orphan = stored_photo(svc)
    being_saved = stored_photo(svc, age=timedelta(seconds=5))  # its row not committed yet
    await add(S.PENDING, photo_path=referenced)

    report = await purge(svc)

    assert report.files == 1
    assert exists(svc, referenced) and exists(svc, being_saved) and not exists(svc, orphan)


def test_the_store_saves_and_deletes_a_photo_with_its_thumbnails(svc: Services) -> None:
    jpeg = imagegen.photo_jpeg(640, 480)
    thumbs = thumbnail(jpeg, THUMB_SIDE)
    path = svc.photos.save(jpeg, thumbs)
    names = thumbnail_names(path)
    assert names == (path[:-4] + ".t.webp", path[:-4] + ".t.jpg", path[:-4] + ".s.webp")

    assert svc.photos.read(path) == jpeg
    assert svc.photos.thumbnails(path) == tuple(svc.photos.root / name for name in names)
    assert tuple(map(svc.photos.read, names)) == (thumbs.webp, thumbs.jpeg, thumbs.screen)
    assert sorted(svc.photos.stored(time.time() + 1)) == sorted([path, *names])
    assert not list(svc.photos.root.rglob("*.tmp"))
    assert svc.photos.thumbnails(svc.photos.save(jpeg)) is None  # none given

    assert svc.photos.delete(path) is True
    assert not any(exists(svc, name) for name in (path, *names))
    assert svc.photos.delete(path) is False


def test_a_failed_save_leaves_no_file(svc: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    jpeg = imagegen.photo_jpeg(640, 480)
    replace = os.replace

    def fail_on_the_photo(source: Any, target: Any) -> None:
        if str(target).endswith(".t.jpg") is False and str(target).endswith(".jpg"):
            raise OSError(28, "No space left on device")
        replace(source, target)

    monkeypatch.setattr("bot.files.os.replace", fail_on_the_photo)
    with pytest.raises(OSError):
        svc.photos.save(jpeg, thumbnail(jpeg, THUMB_SIDE))
    assert not [p for p in svc.photos.root.rglob("*") if p.is_file()]


async def test_the_sweep_keeps_a_referenced_photos_thumbnails_and_deletes_orphan_ones(
    add: Add, svc: Services
) -> None:
    referenced = stored_photo(svc, thumbs=True)
    orphan = stored_photo(svc, thumbs=True)
    young = stored_photo(svc, age=timedelta(seconds=5), thumbs=True)
    lone = stored_photo(svc, thumbs=True)  # a crash left its thumbnails alone
    (svc.photos.root / lone).unlink()
    missing = stored_photo(svc, thumbs=True)  # its row names a photo that is gone
    (svc.photos.root / missing).unlink()
    await add(S.PENDING, photo_path=referenced)
    await add(S.PENDING, photo_path=missing, apprentice_id=1002)
    # A photo whose row is not committed yet, older thumbnails (a slow save).
    for name in thumbnail_names(young):
        written = time.time() - 2 * HOUR.total_seconds()
        os.utime(svc.photos.root / name, (written, written))

    dry = await purge(svc, dry_run=True)
    report = await purge(svc)

    assert dry.files == report.files == 4  # the orphan photo, the lone copies for the site
    for path in (referenced, young):
        assert exists(svc, path) and svc.photos.thumbnails(path) is not None
    assert svc.photos.thumbnails(missing) is not None
    for path in (orphan, lone):
        assert not any(exists(svc, name) for name in (path, *thumbnail_names(path)))


async def test_erasure_blanks_typed_reasons_and_leaves_erased_lines(
    add: Add, svc: Services
) -> None:
    public = await add(S.PUBLISHED, published_at=utcnow(), channel_message_id=9)
    refused = await add(S.REFUSED, decided_at=utcnow(), refusal_reason="Zéphyrine floue")
    other = await add(S.REFUSED, apprentice_id=1002, refusal_reason="Tom de dos")
    async with svc.sessions() as session, session.begin():
        for submission_id, reason in ((refused, "Zéphyrine floue"), (other, "Tom de dos")):
            await record_audit(
                session,
                "refuse",
                moderator_id=1,
                moderator_name="Camille",
                submission_id=submission_id,
                reason=reason,
            )
        await record_audit(
            session, "approve", moderator_id=1, moderator_name="Camille", submission_id=public
        )
    async with svc.sessions() as session, session.begin():
        erased = await delete_apprentice_data(session, 1001)
        await note_erased(session, erased, LISTED)
    async with svc.sessions() as session:
        rows = (
            await session.execute(
                select(
                    ModerationAudit.submission_id,
                    ModerationAudit.action,
                    ModerationAudit.moderator_name,
                    ModerationAudit.reason,
                ).order_by(ModerationAudit.id)
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        (refused, "refuse", "Camille", None),
        (other, "refuse", "Camille", "Tom de dos"),
        (public, "approve", "Camille", None),
        (public, "erased", None, None),
    ]


# --- the command -------------------------------------------------------------------------


async def test_purge_command_prints_counts_and_never_names(
    add: Add, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "config.toml", raw_config(db_url, tmp_path))
    svc = make_services(settings_from_dict(raw_config(db_url, tmp_path), base_dir=tmp_path))
    await upgrade(svc.engine)
    photo = stored_photo(svc)
    await add(S.DRAFT, photo_path=photo, updated_at=utcnow() - 50 * HOUR)
    await svc.engine.dispose()

    assert await _cli(["purge", "--config", str(config), "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert "dry run" in dry and "unfinished drafts deleted: 1" in dry and exists(svc, photo)
    assert await _cli(["purge", "--config", str(config)]) == 0
    out = capsys.readouterr()
    assert "unfinished drafts deleted: 1" in out.out and "photo files deleted: 1" in out.out
    assert "Léa" not in out.out + out.err and photo not in out.out + out.err
    assert not exists(svc, photo)
    assert await _cli(["purge", "--config", str(config)]) == 0
    assert "unfinished drafts deleted: 0" in capsys.readouterr().out


async def _cli(argv: list[str]) -> int:
    """``selfie-bot`` in a thread: it runs its own event loop."""
    return await asyncio.to_thread(main, argv)


async def test_check_config_warns_when_the_campaign_has_no_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = raw_config(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path)
    assert (
        await _cli(["check-config", "--config", str(write_config(tmp_path / "a.toml", raw))]) == 0
    )
    assert capsys.readouterr() == ("ok\n", "")
    del raw["campaign"]["ends"]
    assert (
        await _cli(["check-config", "--config", str(write_config(tmp_path / "b.toml", raw))]) == 0
    )
    out, err = capsys.readouterr()
    assert out == "ok\n" and err.startswith("campaign.ends: not set")


# --- the running bot ---------------------------------------------------------------------


async def _run_job(stand: Any, name: str) -> None:
    [job] = stand.app.job_queue.get_jobs_by_name(name)
    await job.run(stand.app)


async def test_a_conversation_silent_for_draft_hours_is_forgotten_and_told(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        user = stand.emu.create_user("Zéphyrine")
        await walk_to_photo(stand, user, quote="Le pain du matin")
        await stand.emu.send_photo(user, imagegen.photo_jpeg(800, 1000))
        await stand.reply(user, has_button("preview:"))
        [draft] = await stand.stored()
        assert draft.photo_path and exists(stand.app.services, draft.photo_path)
        # PTB's conversation_timeout (retention.draft_hours): its job, run now.
        conversation = next(h for h in stand.app.handlers[0] if isinstance(h, ConversationHandler))
        async with asyncio.timeout(10):  # the photo's handler is still finishing
            while not conversation.timeout_jobs:
                await asyncio.sleep(0.02)
        [job] = conversation.timeout_jobs.values()
        await job.run(stand.app)
        told = await stand.reply(user, lambda m: "⏳" in m.get("text", ""))
        assert told["text"] == t("fr", "draft.expired")
        assert await stand.stored() == []
        assert not exists(stand.app.services, draft.photo_path)
        assert "entry" not in stand.app.user_data[user.id]


async def test_answers_forgotten_by_the_daily_purge_end_the_waiting_step(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        user = stand.emu.create_user("Zéphyrine")
        await stand.emu.send_text(user, "/start")
        consent = await stand.reply(user, has_button("consent:"))
        await stand.press(user, consent, "consent:yes")
        age = await stand.reply(user, has_button("age:"))
        await stand.app.update_persistence()
        await stand.app.persistence.flush()  # type: ignore[union-attr]
        async with stand.app.services.sessions() as session, session.begin():
            await session.execute(update(BotState).values(updated_at=utcnow() - 49 * HOUR))
        await _run_job(stand, "retention")
        assert "entry" not in stand.app.user_data[user.id]

        await stand.press(user, age, "age:adult")
        told = await stand.reply(user, lambda m: "⏳" in m.get("text", ""))
        assert told["text"] == t("fr", "draft.expired")
        await stand.emu.send_text(user, "/start")
        assert await stand.reply(user, has_button("consent:"))


async def test_after_the_campaign_start_says_it_is_over(db_url: str, tmp_path: Path) -> None:
    ended = {"campaign": {**CAMPAIGN, "ends": date(2020, 1, 31)}}
    async with running_stand(db_url, tmp_path, **ended) as stand:
        user = stand.emu.create_user("Zéphyrine")
        await stand.emu.send_text(user, "/start")
        closed = await stand.reply(user)
        assert closed["text"] == t("fr", "campaign.closed", campaign=CAMPAIGN["name"])
        assert await stand.stored() == []


def test_report_lines_name_every_count() -> None:
    report = PurgeReport(
        drafts=1, conversations=2, refused=3, campaign_deleted=4, campaign_register=5, files=6
    )
    assert [line.rsplit(": ", 1)[1] for line in report.lines()] == ["1", "2", "3", "4", "5", "6"]
    assert report.total == 21


async def test_an_erased_entry_number_is_never_given_again(add: Add, svc: Services) -> None:
    last = await add(S.PUBLISHED, published_at=utcnow())
    async with svc.sessions() as session, session.begin():
        await note_erased(session, await delete_apprentice_data(session, 1001), LISTED)
    assert await add(S.PENDING, apprentice_id=1002) == last + 1


async def test_a_purge_while_the_bot_works_takes_nothing_in_use(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        svc = stand.app.services
        user = stand.emu.create_user("Zéphyrine")
        await walk_to_photo(stand, user, quote="Le pain du matin")
        await stand.emu.send_photo(user, imagegen.photo_jpeg(800, 1000))
        preview = await stand.reply(user, has_button("preview:"))
        orphan = stored_photo(svc)

        report = await purge(svc)

        assert (report.drafts, report.conversations, report.files) == (0, 0, 1)
        assert not exists(svc, orphan)
        await stand.press(user, preview, "preview:send")
        await stand.reply(user, lambda m: m.get("text") == t("fr", "preview.thanks"))
        [entry] = await stand.stored()
        assert entry.status == S.PENDING and entry.photo_path and exists(svc, entry.photo_path)


async def test_the_bot_sweeps_even_young_orphans_before_it_polls(
    db_url: str, tmp_path: Path
) -> None:
    """A kill between an erasure's commit and its file deletions leaves files a second old:
    at the next start nothing can be storing a photo, so they go at once."""
    store = PhotoStore(tmp_path / "photos")
    orphan = store.save(imagegen.photo_jpeg(64, 48))
    async with running_stand(db_url, tmp_path) as stand:
        assert not stand.app.services.photos.exists(orphan)
