"""Writes refused for lack of room, recognised whatever wraps them (bot.files.no_space), and
the folders found full told once (bot.files.FullFolders). The errors are real: /dev/full
refuses every write with ENOSPC, SQLite's max_page_count makes a database full; the flows
on a real small filesystem are in tests/flows/organiser/test_disk_full.py."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bot.files import FullFolders, no_space


def refused_write(path: str = "/dev/full") -> OSError:
    with pytest.raises(OSError) as caught, open(path, "wb", buffering=0) as device:
        device.write(b"x")
    return caught.value


def full_sqlite(tmp_path: Path) -> BaseException:
    engine = create_engine(f"sqlite:///{tmp_path / 'small.sqlite3'}")
    with pytest.raises(OperationalError) as caught, engine.begin() as connection:
        connection.execute(text("PRAGMA max_page_count = 2"))
        connection.execute(text("CREATE TABLE t (x TEXT)"))
        connection.execute(text("INSERT INTO t VALUES (:x)"), {"x": "x" * 100_000})
    engine.dispose()
    return caught.value


def test_refusals_for_lack_of_room_are_recognised_through_their_wrapping(tmp_path: Path) -> None:
    enospc = refused_write()
    assert no_space(enospc)
    try:
        raise RuntimeError("the pipeline failed") from enospc
    except RuntimeError as wrapped:
        assert no_space(wrapped)
    assert no_space(full_sqlite(tmp_path))  # SQLAlchemy's error, SQLite's SQLITE_FULL inside
    assert no_space(asyncpg.exceptions.DiskFullError("could not extend file"))

    assert not no_space(FileNotFoundError(2, "No such file or directory"))
    assert not no_space(RuntimeError("anything else"))
    with closing(sqlite3.connect(":memory:")) as connection:
        with pytest.raises(sqlite3.OperationalError) as locked:
            connection.execute("SELECT * FROM missing")
    assert not no_space(locked.value)


def test_a_full_folder_is_told_once_then_again_only_after_it_had_room(tmp_path: Path) -> None:
    photos, site = tmp_path / "photos", tmp_path / "site"
    photos.mkdir()
    site.mkdir()
    full = FullFolders({"storage": photos, "database": None, "site": site})
    in_site = OSError(28, "No space left on device", str(site / "index.html"))

    assert full.note(RuntimeError("not about room")) is None
    assert full.note(in_site) == "site"
    assert full.untold == {"site"}
    full.told("site")
    assert full.note(in_site) == "site"
    assert full.untold == set()  # not told again while it stays full
    assert full.note(asyncpg.exceptions.DiskFullError("could not extend file")) == "database"
    assert full.untold == {"database"}

    assert full.with_room_again() == ["site"]  # the folder takes a photo's worth again
    assert full.full == {"database"}  # on a server: no local folder to probe
    assert full.note(in_site) == "site"
    assert "site" in full.untold
