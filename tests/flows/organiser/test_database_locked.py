"""SQLite locked by another process for longer than the bot's busy timeout (issue 27): an
operator's backup taken with a write lock, a VACUUM run by hand. Readers go on in WAL mode;
every write waits ``busy_timeout`` and fails. The bot keeps running; /healthz says
``database:``; an apprentice whose photo or final « Envoyer » falls in it is told
« réessaie dans un instant » and keeps their place, with no file left behind; a slot in it
posts nothing; once the lock is gone everything goes on."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.i18n import t
from models import SubmissionStatus
from models.db import SQLITE_BUSY_TIMEOUT_MS
from tests.support import imagegen
from tests.support.disk import files_in
from tests.support.monitoring import until_health
from tests.support.publishing import QUIET, channel_posts, queued_with_cards, rows, tick
from tests.support.stand import Stand, has_button, running_stand, walk_to_photo

S = SubmissionStatus
LOCKED_REPLY_S = SQLITE_BUSY_TIMEOUT_MS / 1000 + 10
"""A write in the lock fails only after the busy timeout: the reply comes after it."""

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@contextmanager
def write_locked(stand: Stand) -> Iterator[None]:
    """Another process holds the database file's write lock (BEGIN IMMEDIATE) meanwhile."""
    path = make_url(stand.settings.database.url).database
    assert path
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")


async def test_sqlite_locked_by_a_backup_then_free_again(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
        emu = stand.emu
        [queued] = await queued_with_cards(stand, 1)
        lea, tom = emu.create_user("Léa"), emu.create_user("Tom")
        await walk_to_photo(stand, lea)
        await walk_to_photo(stand, tom)
        await emu.send_photo(tom, imagegen.photo_jpeg(800, 600, seed=4))
        preview = await stand.preview(tom)
        files = files_in(stand.settings.storage.path)
        sorry = t("fr", "error.generic")
        with write_locked(stand):
            status, body = await until_health(stand, "database: ")
            assert (status, body) == (503, "database: database is locked\n")
            await emu.send_photo(lea, imagegen.photo_jpeg(800, 600, seed=3))
            await stand.reply(lea, sorry, timeout=LOCKED_REPLY_S)
            assert files_in(stand.settings.storage.path) == files  # no photo without its row
            await stand.press(tom, preview, "preview:send")
            await stand.reply(tom, sorry, timeout=LOCKED_REPLY_S)
            with pytest.raises(Exception, match="database is locked"):
                await tick(stand)  # nothing claimed, nothing sent
            assert channel_posts(stand) == []

        assert await until_health(stand, "ok") == (200, "ok\n")
        await emu.send_photo(lea, imagegen.photo_jpeg(800, 600, seed=3))
        await stand.reply(lea, has_button("preview:"))  # still at the photo step
        await stand.press(tom, preview, "preview:send")  # the preview's buttons are back
        await stand.reply(tom, t("fr", "preview.thanks"))
        assert await tick(stand) == [queued]
        entries = await rows(stand)
        assert entries[queued].status == S.PUBLISHED
        assert [e.status for e in entries.values()].count(S.PENDING) == 1  # Tom's, once
        assert len(channel_posts(stand)) == 1
