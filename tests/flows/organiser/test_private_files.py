"""Personal data is the bot's alone whatever the umask it is started with (issue 28): the
SQLite file (and its WAL), the storage folder, the photos and their thumbnails.

The bot runs under umask 000, the least protective, so that every mode asserted here is one
the bot set itself.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from models.db import make_engine
from tests.support import imagegen
from tests.support.stand import has_button, running_stand, walk_to_photo


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    yield
    os.umask(previous)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
async def test_a_submission_leaves_only_private_files(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path) as stand:
        user = stand.emu.create_user("Zoé", language_code="fr")
        await walk_to_photo(stand, user)
        await stand.emu.send_photo(user, imagegen.photo_jpeg(1280, 960, seed=3))
        await stand.press(user, await stand.reply(user, has_button("preview:")), "preview:send")
        await stand.reply(user, "envoy")
        [entry] = await stand.stored()
        storage = stand.app.services.photos.root
        url = make_url(db_url)
        database = Path(url.database or "") if url.get_backend_name() == "sqlite" else None

        files = [path for path in storage.rglob("*") if path.is_file()]
        folders = [storage, *(path for path in storage.rglob("*") if path.is_dir())]
        if database is not None:  # the test's copy was made 0644: tightened at the start
            files += [p for p in database.parent.iterdir() if p.name.startswith(database.name)]
        file_modes = {p.name: oct(mode_of(p)) for p in files}
        folder_modes = {str(p): oct(mode_of(p)) for p in folders}

    assert entry.photo_path and (storage / entry.photo_path) in files
    assert len([p for p in files if p.suffix in (".jpg", ".webp")]) == 4  # photo, its copies
    assert file_modes == dict.fromkeys(file_modes, "0o600")
    assert folder_modes == dict.fromkeys(folder_modes, "0o700")


@pytest.mark.usefixtures("open_umask")
async def test_a_new_sqlite_database_and_its_wal_are_private(tmp_path: Path) -> None:
    database = tmp_path / "new" / "bot.sqlite3"
    engine = make_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE t (x TEXT)")
            await connection.exec_driver_sql("INSERT INTO t VALUES ('Zoé')")
            made = sorted(p.name for p in database.parent.iterdir())
            modes = {p.name: oct(mode_of(p)) for p in database.parent.iterdir()}
    finally:
        await engine.dispose()

    assert "bot.sqlite3-wal" in made
    assert modes == {name: "0o600" for name in made}
