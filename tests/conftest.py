"""Shared fixtures: a fresh database per test, on SQLite AND on a real PostgreSQL server;
the emulator; the modes a stand runs in.

Every fixture here is its worker's own when the suite runs in parallel (pytest-xdist):
each worker is a pytest session of its own, with its own temporary folders, its own
throwaway PostgreSQL server and its own template database; emulators and bots listen on
ports the system picks.

Where PostgreSQL comes from, in order:

1. ``SELFIE_BOT_TEST_POSTGRES_URL``, e.g. ``postgresql+asyncpg://user@127.0.0.1:5432/postgres``
   (any existing database of the server; the user needs CREATEDB: each worker creates its
   own database, emptied before each test; PostgreSQL >= 13 for ``DROP … WITH (FORCE)``);
2. otherwise a throwaway server started once per worker from local binaries
   (``initdb``/``pg_ctl`` found on PATH, via ``pg_config --bindir``, or in Debian's
   ``/usr/lib/postgresql/<version>/bin``), stopped and deleted at the end;
3. otherwise the PostgreSQL variants are skipped, unless ``SELFIE_BOT_REQUIRE_POSTGRES=1``
   (set in CI): then they fail, so that a missing server can never go unnoticed.

Run only one backend with ``-k sqlite`` / ``-k postgresql`` (or ``-m "not postgres"``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.sandbox.emulator import Emulator
from bot.sandbox.emulator.testing import ApiClient, running_emulator_in
from models import AgeBand, Apprentice, Submission, SubmissionStatus, dhash_to_db
from models.base import utcnow
from models.db import make_engine, make_sessionmaker, upgrade
from tests.support.data import AddSubmission
from tests.support.postgres import (
    ThrowawayPostgres,
    empty_postgres_database,
    execute,
    find_postgres_bindir,
    run_in_own_loop,
    server_user,
)
from tests.support.stand import STAND_MODE

POSTGRES_URL_ENV = "SELFIE_BOT_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "SELFIE_BOT_REQUIRE_POSTGRES"
HOW_TO_PROVIDE = (
    f"set {POSTGRES_URL_ENV}=postgresql+asyncpg://user@host:port/db, or install the "
    "PostgreSQL server binaries (Debian: apt-get install postgresql)"
)
SQLITE_FILE = Path("data") / "selfie-bot.sqlite3"
"""Where a test's SQLite database lives, under its ``tmp_path``."""


# --------------------------------------------------------------------------- PostgreSQL


def _postgres_unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
        pytest.fail(f"{reason} and {REQUIRE_POSTGRES_ENV}=1: {HOW_TO_PROVIDE}", pytrace=False)
    pytest.skip(f"{reason}: {HOW_TO_PROVIDE}")


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database, for creating test databases.

    Started lazily, once per worker: a run that selects only SQLite tests starts nothing.
    """
    if configured := os.environ.get(POSTGRES_URL_ENV):
        yield configured
        return
    bindir = find_postgres_bindir()
    if bindir is None:
        _postgres_unavailable("no PostgreSQL server binaries (initdb, pg_ctl) found")
        return
    server = ThrowawayPostgres(
        bindir=bindir,
        root=Path(tempfile.mkdtemp(prefix="selfie-bot-pg-")),
        user=server_user(),
    )
    try:
        server.start()
    except Exception as error:
        server.stop()
        pytest.fail(f"could not start a throwaway PostgreSQL from {bindir}: {error}")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_database_url(postgres_server_url: str) -> Iterator[str]:
    """URL of a database created for this worker (dropped at the end).

    Tests do not get a database each (CREATE DATABASE costs ~0.2 s, more than migrating):
    ``db_url`` and ``empty_db_url`` empty this one before every test instead, in
    milliseconds.
    """
    name = f"selfie_test_{uuid.uuid4().hex[:16]}"
    run_in_own_loop(execute(postgres_server_url, f'CREATE DATABASE "{name}"'))
    yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    # FORCE: connections leaked by a test must not prevent the clean-up.
    run_in_own_loop(execute(postgres_server_url, f'DROP DATABASE "{name}" WITH (FORCE)'))


# --------------------------------------------------------------------------- databases


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to the latest revision, once per worker: a test's
    database is a copy of it (a copy takes a millisecond, migrating SQLite 0.3 s)."""
    path = tmp_path_factory.mktemp("template") / SQLITE_FILE.name

    async def migrate() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(engine)
            async with engine.connect() as connection:  # everything in the main file
                await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            await engine.dispose()

    run_in_own_loop(migrate())
    return path


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
async def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """URL of a fresh, EMPTY database (no tables), for the tests of migrations: a new
    SQLite file in a folder that does not exist yet (``make_engine`` creates it), or the
    worker's PostgreSQL database emptied."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / SQLITE_FILE}"
        return
    url: str = request.getfixturevalue("postgres_database_url")
    await empty_postgres_database(url)
    yield url


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """URL of a fresh database at the latest revision, as the bot leaves it at its first
    start: a copy of the worker's SQLite template, or its PostgreSQL database emptied and
    migrated."""
    if request.param == "sqlite":
        target = tmp_path / SQLITE_FILE
        target.parent.mkdir()
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    url: str = request.getfixturevalue("postgres_database_url")
    await empty_postgres_database(url)
    await upgrade(url)
    yield url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """Engine on the test's fresh, migrated database."""
    engine = make_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The application's session factory, bound to the migrated test database."""
    return make_sessionmaker(engine)


@pytest.fixture
async def session(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One session for the test; nothing is committed unless the test commits."""
    async with session_factory() as session:
        yield session


# --------------------------------------------------------------------------- data


@pytest.fixture
def add_submission(session_factory: async_sessionmaker[AsyncSession]) -> AddSubmission:
    """Factory: ``await add_submission(status, **fields)`` commits a complete submission.

    Creates its apprentice on first use (``apprentice_id`` defaults to 1001). The status is
    set directly, as a test set-up shortcut; application code changes it only through
    :mod:`models.lifecycle`.
    """

    async def add(status: SubmissionStatus = SubmissionStatus.PENDING, **fields: Any) -> Submission:
        now = utcnow()
        values: dict[str, Any] = {
            "apprentice_id": 1001,
            "display_name": "Léa",
            "trade": "coiffeuse",
            "centre_code": "cfa-dijon",
            "centre_name": "CFA de Dijon",
            "quote": "J'adore mon métier",
            "language": "fr",
            "age_band": AgeBand.ADULT,
            "consent_at": now,
            "photo_path": "photos/1.jpg",
            "photo_file_id": "AgACAgQAAxk",
            "source_file_unique_id": "AQADx",
            "width": 1080,
            "height": 1350,
            "dhash": dhash_to_db(0xF0E1D2C3B4A59687),
            "sharpness": 123.4,
            "submitted_at": None if status is SubmissionStatus.DRAFT else now,
            **fields,
        }
        async with session_factory() as session:
            if await session.get(Apprentice, values["apprentice_id"]) is None:
                session.add(Apprentice(id=values["apprentice_id"], first_name="Léa"))
            submission = Submission(status=status, **values)
            session.add(submission)
            await session.commit()
        return submission

    return add


# --------------------------------------------------------------------------- emulator


@pytest.fixture
async def emu(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    """A bare emulator on loopback, validating calls against the official spec; a module or
    test parametrized ``("emu", SPEC_MODES, indirect=True)`` gets both modes."""
    async with running_emulator_in(getattr(request, "param", "spec"), flood_limits=False) as emu:
        yield emu


@pytest.fixture
async def api(emu: Emulator) -> AsyncIterator[ApiClient]:
    """A raw HTTP client of ``emu``."""
    async with ApiClient(emu) as client:
        yield client


@pytest.fixture(params=["polling", "webhook"])
def mode(request: pytest.FixtureRequest) -> str:
    """How the stand's bot gets its updates: a test taking it runs in both modes."""
    return str(request.param)


@pytest.fixture
def both_modes(mode: str) -> Iterator[str]:
    """Every stand of the test in ``mode``: a module marked with
    ``pytest.mark.usefixtures("both_modes")`` runs all its tests in polling and webhook mode."""
    token = STAND_MODE.set(mode)
    try:
        yield mode
    finally:
        STAND_MODE.reset(token)
