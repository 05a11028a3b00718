"""The disk filling (issue 27), on a real small filesystem (a tmpfs) under each of the bot's
three folders in turn: the photos, SQLite's (and a PostgreSQL tablespace), the public
site's. The apprentice gets a clear answer and keeps their place; the moderators are told
once, not per photo; nothing is left half-written; once room is back the moderators hear it
and everything works again (the site brought up to date by itself)."""

from __future__ import annotations

import hashlib
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.i18n import t
from bot.telegram.catchup import catch_up_with_telegram
from models import SubmissionStatus
from tests.support import imagegen
from tests.support.disk import files_in, fill, small_filesystem
from tests.support.monitoring import until_health
from tests.support.postgres import execute, server_user
from tests.support.publishing import (
    PEOPLE,
    QUIET,
    channel_posts,
    publish_people,
    queued_with_cards,
    rows,
    tick,
)
from tests.support.stand import Stand, has_button, running_stand, walk_to_photo

S = SubmissionStatus
BASE_URL = "https://www.example.org/selfies/"

ON_SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def group_texts(stand: Stand) -> list[str]:
    return [m.get("text", "") for m in stand.emu.bot_messages(stand.group)]


def news(stand: Stand, folder: str) -> tuple[int, int]:
    """How many times the moderators were told the folder is full, and has room again."""
    texts = group_texts(stand)
    full, back = t("fr", f"disk.full.{folder}"), t("fr", f"disk.room_again.{folder}")
    return texts.count(full), texts.count(back)


def contents(folder: Path) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files_in(folder)}


@contextmanager
def removed_after(folder: Path) -> Iterator[None]:
    try:
        yield
    finally:
        folder.rmdir()


async def catch_up(stand: Stand) -> None:
    """The catch-up job's round (it runs every ``moderation.retry_seconds``)."""
    await catch_up_with_telegram(stand.app.bot, stand.app.services)


@ON_SQLITE
async def test_the_photos_folder_full_then_room_again(db_url: str, tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "photos") as photos:
        async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
            emu = stand.emu
            lea, tom = emu.create_user("Léa"), emu.create_user("Tom")
            await walk_to_photo(stand, lea)
            await walk_to_photo(stand, tom)
            before = contents(photos)
            ballast = fill(photos)
            full = t("fr", "error.disk_full")
            for person, seed in [(lea, 1), (tom, 2), (lea, 3)]:
                await emu.send_photo(person, imagegen.photo_jpeg(1200, 900, seed=seed))
                await stand.reply(person, full)
            assert contents(photos) == before  # nothing half-written, no temporary left
            assert [e.status for e in await stand.stored()] == []
            await catch_up(stand)
            assert news(stand, "storage") == (1, 0)  # once, for three photos
            assert await until_health(stand, "disk: ") == (503, "disk: full (storage)\n")

            ballast.unlink()
            await catch_up(stand)
            await catch_up(stand)
            assert news(stand, "storage") == (1, 1)
            assert await until_health(stand, "ok") == (200, "ok\n")
            await emu.send_photo(lea, imagegen.photo_jpeg(1200, 900, seed=1))
            await stand.reply(lea, has_button("preview:send"))  # still at the photo step
            [draft] = await stand.stored()
            assert (photos / draft.photo_path).is_file()

            fill(photos)  # full again: told again, once
            await emu.send_photo(tom, imagegen.photo_jpeg(1200, 900, seed=2))
            await stand.reply(tom, full)
            assert news(stand, "storage") == (2, 1)


@ON_SQLITE
async def test_the_database_disk_full_then_room_again(db_url: str, tmp_path: Path) -> None:
    source = Path(db_url.removeprefix("sqlite+aiosqlite:///"))
    with small_filesystem(tmp_path / "db", size="32m") as folder:
        shutil.copyfile(source, folder / source.name)
        small_db = f"sqlite+aiosqlite:///{folder / source.name}"
        async with running_stand(small_db, tmp_path, schedule=QUIET) as stand:
            emu = stand.emu
            [queued] = await queued_with_cards(stand, 1)
            lea = emu.create_user("Léa")
            await walk_to_photo(stand, lea)
            ballast = fill(folder)
            full = t("fr", "error.disk_full")
            await emu.send_photo(lea, imagegen.photo_jpeg(1200, 900, seed=1))
            await stand.reply(lea, full)
            assert files_in(stand.settings.storage.path) == set()  # no photo without its row
            with pytest.raises(Exception, match="full"):
                await tick(stand)  # nothing claimed, nothing sent
            assert channel_posts(stand) == []
            await catch_up(stand)
            assert news(stand, "database") == (1, 0)

            ballast.unlink()
            await catch_up(stand)
            assert news(stand, "database") == (1, 1)
            await emu.send_photo(lea, imagegen.photo_jpeg(1200, 900, seed=1))
            await stand.reply(lea, has_button("preview:send"))
            assert await tick(stand) == [queued]
            assert (await rows(stand))[queued].status == S.PUBLISHED
            assert len(channel_posts(stand)) == 1


@ON_SQLITE
async def test_the_site_folder_full_then_room_again(db_url: str, tmp_path: Path) -> None:
    gallery = {"enabled": True, "path": str(tmp_path / "site"), "base_url": BASE_URL}
    with small_filesystem(tmp_path / "site") as site:
        async with running_stand(db_url, tmp_path, schedule=QUIET, gallery=gallery) as stand:
            before = contents(site)
            assert (site / "index.html").is_file()  # built at start
            ballast = fill(site)
            ids = await publish_people(stand)  # the channel goes on without the site
            assert len(channel_posts(stand)) == len(PEOPLE)
            assert contents(site) == before  # every page whole as it was, no temporary
            await catch_up(stand)
            assert news(stand, "site") == (1, 0)  # once, for three publications

            ballast.unlink()
            await catch_up(stand)
            await catch_up(stand)
            assert news(stand, "site") == (1, 1)
            index = (site / "index.html").read_text("utf-8")
            for entry_id in ids:  # brought up to date by itself
                assert (site / f"selfies/{entry_id}/index.html").is_file()
                assert f'href="selfies/{entry_id}/"' in index


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_postgresql_tablespace_full_then_room_again(db_url: str, tmp_path: Path) -> None:
    """The entries' table moved to a tablespace on a small filesystem, then that filled: the
    server refuses the photo step's row (``disk_full``). A database on a server has no
    folder the bot can probe: the moderators are told once for the run."""
    account = pwd.getpwnam(server_user() or pwd.getpwuid(0).pw_name)
    name = make_url(db_url).database
    space = f"small_{name}"
    # In the system's temporary folder: the server's user must reach it (not tmp_path's).
    mount_point = Path(tempfile.mkdtemp(prefix="selfie-tablespace-"))
    owner = (account.pw_uid, account.pw_gid)
    with removed_after(mount_point), small_filesystem(mount_point, owner=owner) as folder:
        await execute(db_url, f"CREATE TABLESPACE {space} LOCATION '{folder}'")
        await execute(db_url, f"ALTER TABLE submissions SET TABLESPACE {space}")
        try:
            async with running_stand(db_url, tmp_path, schedule=QUIET) as stand:
                emu = stand.emu
                lea = emu.create_user("Léa")
                await walk_to_photo(stand, lea)
                ballast = fill(folder)
                await emu.send_photo(lea, imagegen.photo_jpeg(1200, 900, seed=1))
                await stand.reply(lea, t("fr", "error.disk_full"))
                assert files_in(stand.settings.storage.path) == set()
                await catch_up(stand)
                assert news(stand, "database") == (1, 0)

                ballast.unlink()
                await emu.send_photo(lea, imagegen.photo_jpeg(1200, 900, seed=1))
                await stand.reply(lea, has_button("preview:send"))
                assert len(await stand.stored()) == 1
        finally:
            await execute(db_url, "ALTER TABLE submissions SET TABLESPACE pg_default")
            await execute(db_url, f"DROP TABLESPACE {space}")
