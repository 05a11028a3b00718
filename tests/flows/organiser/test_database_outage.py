"""The database going away while the bot runs (issue 27), on a real PostgreSQL: the bot's
connections are killed (``pg_terminate_backend``) and new ones refused (``ALLOW_CONNECTIONS
false``) for a while, then allowed again. The bot keeps running; an apprentice whose step
falls in the gap is told « réessaie dans un instant » and keeps their place; a photo sent
then leaves no file behind; a slot then posts nothing and the next one posts once;
/healthz says ``database:`` while it lasts."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.i18n import t
from models import SubmissionStatus
from tests.support import imagegen
from tests.support.monitoring import until_health
from tests.support.postgres import execute
from tests.support.publishing import QUIET, channel_posts, queued_with_cards, rows, tick
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


def stored_files(stand: Stand) -> set[Path]:
    return {p for p in stand.settings.storage.path.rglob("*") if p.is_file()}


async def test_the_database_gone_for_a_while_then_back(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        [queued] = await queued_with_cards(stand, 1)
        lea = emu.create_user("Léa")
        await walk_to_photo(stand, lea)
        files = stored_files(stand)
        sorry = t("fr", "error.generic")
        try:
            await database_gone(stand, True)
            assert (await until_health(stand, "database: "))[0] == 503

            await emu.send_photo(lea, imagegen.photo_jpeg(800, 600, seed=3))
            await stand.reply(lea, sorry)
            assert stored_files(stand) == files  # no photo without its row
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
