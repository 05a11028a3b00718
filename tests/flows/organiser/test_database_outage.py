"""The database going away while the bot runs (issue 27), on a real PostgreSQL: the bot's
connections are killed (``pg_terminate_backend``) and new ones refused (``ALLOW_CONNECTIONS
false``) for a while, then allowed again. The bot keeps running; an apprentice whose step
falls in the gap is told « réessaie dans un instant » and keeps their place; a photo sent
then leaves no file behind; a slot then posts nothing and the next one posts once; a post
sent just before the database went is found on the channel once it is back, and recorded
once; /healthz says ``database:`` while it lasts."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import make_url

from bot.i18n import t
from bot.telegram.catchup import catch_up_with_telegram
from bot.telegram.publisher import STRANDED_AFTER
from models import Submission, SubmissionStatus
from tests.support import imagegen
from tests.support.disk import files_in
from tests.support.monitoring import until_health
from tests.support.postgres import execute
from tests.support.publishing import (
    QUIET,
    channel_posts,
    queued_with_cards,
    rows,
    tick,
    wait_status,
)
from tests.support.stand import Stand, has_button, running_stand, walk_to_photo

S = SubmissionStatus

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),
]


async def database_gone(stand: Stand, gone: bool) -> None:
    """Refuse (or allow again) new connections to the bot's database, and end its open
    ones: as a restarting server looks to the bot."""
    url = make_url(stand.settings.database.url)
    name = url.database
    maintenance = url.set(database="postgres").render_as_string(hide_password=False)
    statements = [f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"false" if gone else "true"}']
    if gone:
        statements.append(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
    await execute(maintenance, *statements)


async def test_the_database_gone_for_a_while_then_back(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        [queued] = await queued_with_cards(stand, 1)
        lea = emu.create_user("Léa")
        await walk_to_photo(stand, lea)
        files = files_in(stand.settings.storage.path)
        sorry = t("fr", "error.generic")
        try:
            await database_gone(stand, True)
            assert (await until_health(stand, "database: "))[0] == 503

            await emu.send_photo(lea, imagegen.photo_jpeg(800, 600, seed=3))
            await stand.reply(lea, sorry)
            assert files_in(stand.settings.storage.path) == files  # no photo without its row
            with pytest.raises(Exception, match=r"(?i)connection|database"):
                await tick(stand)  # the slot fails as a whole: nothing claimed, nothing sent
            assert channel_posts(stand) == []
        finally:
            await database_gone(stand, False)

        assert await until_health(stand, "ok", timeout=20) == (200, "ok\n")
        # Léa sends again: she was still at the photo step.
        await emu.send_photo(lea, imagegen.photo_jpeg(800, 600, seed=3))
        await stand.reply(lea, has_button("preview:"))
        assert await tick(stand) == [queued]
        assert await tick(stand) == []
        assert len(channel_posts(stand)) == 1
        assert (await rows(stand))[queued].status == S.PUBLISHED


async def test_a_step_and_the_final_send_in_the_gap_keep_the_apprentice_s_place(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        lea, tom = emu.create_user("Léa"), emu.create_user("Tom")
        await walk_to_photo(stand, tom)
        await emu.send_photo(tom, imagegen.photo_jpeg(800, 600, seed=4))
        preview = await stand.preview(tom)
        sorry = t("fr", "error.generic")
        try:
            await database_gone(stand, True)
            await emu.send_text(lea, "/start")  # a step of the conversation
            await stand.reply(lea, sorry)
            await stand.press(tom, preview, "preview:send")  # the submission itself
            await stand.reply(tom, sorry)
        finally:
            await database_gone(stand, False)

        assert await until_health(stand, "ok", timeout=20) == (200, "ok\n")
        await emu.send_text(lea, "/start")
        await stand.reply(lea, has_button("consent:"))
        await stand.press(tom, preview, "preview:send")
        await stand.reply(tom, t("fr", "preview.thanks"))
        [entry] = await stand.stored()  # submitted once, with its photo
        assert entry.status == S.PENDING
        assert (stand.settings.storage.path / entry.photo_path).is_file()


async def test_a_post_sent_just_before_the_database_went_is_found_once_it_is_back(
    db_url: str, tmp_path: Path
) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        [entry_id] = await queued_with_cards(stand, 1)
        emu.inject_fault("sendPhoto", "delay", hold=3.0)  # sent once the database is gone
        slot = asyncio.create_task(tick(stand))
        claimed = await wait_status(stand, entry_id, S.PUBLISHING)
        try:
            await database_gone(stand, True)
            with pytest.raises(Exception, match=r"(?i)connection|database"):
                await slot  # posted, then its record failed
            assert len(channel_posts(stand)) == 1
        finally:
            await database_gone(stand, False)
        assert await until_health(stand, "ok", timeout=20) == (200, "ok\n")

        bot, services = stand.app.bot, stand.app.services
        await catch_up_with_telegram(bot, services)  # a live publication may take minutes
        assert (await rows(stand))[entry_id].status == S.PUBLISHING
        async with services.sessions() as session, session.begin():  # ... these have passed
            long_ago = claimed.publishing_started_at - STRANDED_AFTER - timedelta(seconds=1)
            await session.execute(
                update(Submission)
                .where(Submission.id == entry_id)
                .values(publishing_started_at=long_ago)
            )
        await catch_up_with_telegram(bot, services)

        [post] = channel_posts(stand)
        entry = (await rows(stand))[entry_id]
        assert entry.status == S.PUBLISHED
        assert entry.channel_message_id == post["message_id"]
        apprentice = emu.world.users[entry.apprentice_id]
        link = f"https://t.me/fiers_test/{post['message_id']}"
        assert t("fr", "published.with_link", link=link) in [
            m["text"] for m in emu.bot_messages(apprentice)
        ]
        await catch_up_with_telegram(bot, services)  # settled once, not again
        assert await tick(stand) == []
        assert len(channel_posts(stand)) == 1
        assert (await rows(stand))[entry_id].status == S.PUBLISHED
