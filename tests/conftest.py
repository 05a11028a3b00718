"""Shared fixtures: a fresh database per test, on SQLite AND on a real PostgreSQL server.

Where PostgreSQL comes from, in order:

1. ``SELFIE_BOT_TEST_POSTGRES_URL``, e.g. ``postgresql+asyncpg://user@127.0.0.1:5432/postgres``
   (any existing database of the server; the user needs CREATEDB: the session creates its
   own database, emptied before each test; PostgreSQL >= 13 for ``DROP … WITH (FORCE)``);
2. otherwise a throwaway server started once per test session from local binaries
   (``initdb``/``pg_ctl`` found on PATH, via ``pg_config --bindir``, or in Debian's
   ``/usr/lib/postgresql/<version>/bin``), stopped and deleted at the end;
3. otherwise the PostgreSQL variants are skipped, unless ``SELFIE_BOT_REQUIRE_POSTGRES=1``
   (set in CI): then they fail, so that a missing server can never go unnoticed.

Run only one backend with ``-k sqlite`` / ``-k postgresql`` (or ``-m "not postgres"``).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from bot.sandbox import Emulator
from bot.sandbox.testing import ApiClient, running_emulator_in
from models import AgeBand, Apprentice, Submission, SubmissionStatus, dhash_to_db
from models.base import utcnow
from models.db import make_engine, make_sessionmaker, upgrade
from tests.stand import STAND_MODE

POSTGRES_URL_ENV = "SELFIE_BOT_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "SELFIE_BOT_REQUIRE_POSTGRES"
HOW_TO_PROVIDE = (
    f"set {POSTGRES_URL_ENV}=postgresql+asyncpg://user@host:port/db, or install the "
    "PostgreSQL server binaries (Debian: apt-get install postgresql)"
)


# --------------------------------------------------------------------------- PostgreSQL


def _find_postgres_bindir() -> Path | None:
    """Folder holding ``initdb`` and ``pg_ctl``, newest version first; None if absent."""
    candidates: list[Path] = []
    if found := shutil.which("pg_ctl"):
        candidates.append(Path(found).resolve().parent)  # follow symlinks to the real bindir
    if pg_config := shutil.which("pg_config"):
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    debian = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(
        debian, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True
    )
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


def _server_user() -> str | None:
    """PostgreSQL refuses to run as root: pick an unprivileged account to run it as."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root and neither 'postgres' nor 'nobody' user exists")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class _ThrowawayPostgres:
    """A PostgreSQL cluster in a temp dir, on loopback, trust auth, tuned for speed."""

    bindir: Path
    root: Path
    user: str | None
    port: int = 0

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        # cwd: the server user must be able to read its working directory.
        return subprocess.run(command, capture_output=True, text=True, cwd=self.root)

    def start(self) -> None:
        if self.user is not None:
            account = pwd.getpwnam(self.user)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        init = self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        for _attempt in range(3):  # the free port may be taken between probe and bind
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200"
            )
            started = self._run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                "-o", options, "-w", "-t", "60", "start",
            )  # fmt: skip
            if started.returncode == 0:
                return
        log = (self.root / "server.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"pg_ctl start failed:\n{started.stderr}\n{log}")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def _postgres_unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
        pytest.fail(f"{reason} and {REQUIRE_POSTGRES_ENV}=1: {HOW_TO_PROVIDE}", pytrace=False)
    pytest.skip(f"{reason}: {HOW_TO_PROVIDE}")


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database, for creating test databases.

    Started lazily, once per session: a run that selects only SQLite tests starts nothing.
    """
    if configured := os.environ.get(POSTGRES_URL_ENV):
        yield configured
        return
    bindir = _find_postgres_bindir()
    if bindir is None:
        _postgres_unavailable("no PostgreSQL server binaries (initdb, pg_ctl) found")
        return
    server = _ThrowawayPostgres(
        bindir=bindir,
        root=Path(tempfile.mkdtemp(prefix="selfie-bot-pg-")),
        user=_server_user(),
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


async def _execute(url: str, *statements: str) -> None:
    """Run statements in autocommit mode on a short-lived connection."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()


def _run_in_own_loop(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine from sync code that may itself be called inside a running loop."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        executor.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session")
def postgres_database_url(postgres_server_url: str) -> Iterator[str]:
    """URL of a database created for this test session (dropped at the end).

    Tests do not get a database each (CREATE DATABASE costs ~0.3 s): ``db_url`` empties
    this one before every test instead, which takes milliseconds.
    """
    name = f"selfie_test_{uuid.uuid4().hex[:16]}"
    _run_in_own_loop(_execute(postgres_server_url, f'CREATE DATABASE "{name}"'))
    yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    # FORCE: connections leaked by a test must not prevent the clean-up.
    _run_in_own_loop(_execute(postgres_server_url, f'DROP DATABASE "{name}" WITH (FORCE)'))


async def _empty_postgres_database(url: str) -> None:
    """Make the database as new: no leftover connection, table, type or sequence."""
    await _execute(
        url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()",
        "DROP SCHEMA public CASCADE",
        "CREATE SCHEMA public",
    )


# --------------------------------------------------------------------------- databases


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """URL of a fresh, EMPTY database (no tables): a new SQLite file, or the session's
    PostgreSQL database emptied.

    The SQLite file sits in a folder that does not exist yet (``make_engine`` creates it).
    """
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'selfie-bot.sqlite3'}"
        return
    url: str = request.getfixturevalue("postgres_database_url")
    await _empty_postgres_database(url)
    yield url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """Engine on the fresh database, migrated to the latest revision."""
    engine = make_engine(db_url)
    await upgrade(engine)
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


class AddSubmission(Protocol):
    async def __call__(self, status: SubmissionStatus = ..., **fields: Any) -> Submission: ...


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
