"""Engine and session factories, and running the Alembic migrations from Python.

The migrations ship inside this package (``models/migrations``); no ``alembic.ini`` is
needed: :func:`alembic_config` builds the configuration in code.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import URL, Connection, event, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from models.dhash import hamming

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

SQLITE_BUSY_TIMEOUT_MS = 5000
SQLITE_FILE_MODE = 0o600
"""The database holds personal data: the bot's user's alone, whatever the umask. SQLite
makes its journal, WAL and shared-memory files with the database file's mode."""
SQLITE_SIDE_SUFFIXES = ("-journal", "-wal", "-shm")

# The oldest servers the queries run on: PostgreSQL's bit_count (the duplicate search) came
# in 14, SQLite's RETURNING in 3.35.
MIN_VERSIONS = {"postgresql": (14,), "sqlite": (3, 35)}
_PRODUCTS = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
CONNECT_TIMEOUT_S = 15

T = TypeVar("T")


def dialect_name(url: str | URL) -> str:
    """Backend name of a database URL: ``"sqlite"`` or ``"postgresql"``."""
    return make_url(url).get_backend_name()


def _sqlite_file(url: URL) -> Path | None:
    """Path of the database file of a SQLite URL, None for in-memory databases."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    if url.query.get("mode") == "memory":
        return None
    return Path(database)


def _engine_file(engine: AsyncEngine) -> Path | None:
    """The engine's SQLite file; None for a database on a server, or in memory."""
    return _sqlite_file(engine.url) if engine.dialect.name == "sqlite" else None


def sqlite_folder(engine: AsyncEngine) -> Path | None:
    """The folder of the engine's SQLite file; None for a database on a server."""
    path = _engine_file(engine)
    return None if path is None else path.parent


SQLITE_WRITE_CHECK_S = 1.0
"""How long :func:`sqlite_write_problem` waits for the write lock before calling it held."""


def sqlite_write_problem(engine: AsyncEngine) -> str | None:
    """Why the engine's SQLite file cannot be written now (another process holding its write
    lock: a backup or a VACUUM run by hand), or None; None for other databases, where a
    lock is per row. Blocking: call it in a thread. Readers see nothing of such a lock in
    WAL mode, so only taking the lock tells."""
    path = _engine_file(engine)
    if path is None:
        return None
    try:
        address = f"{path.resolve().as_uri()}?mode=rw"  # never creates an empty file
        with closing(
            sqlite3.connect(address, timeout=SQLITE_WRITE_CHECK_S, uri=True)
        ) as connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.rollback()
    except sqlite3.Error as error:
        return str(error)
    return None


def make_private_sqlite(path: Path) -> None:
    """Create the database file 0600 before SQLite does (it would follow the umask), and
    tighten the files an earlier version left readable by others (those the bot owns)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, SQLITE_FILE_MODE)
    try:
        found = os.fstat(descriptor)
        if found.st_uid == os.geteuid() and stat.S_IMODE(found.st_mode) != SQLITE_FILE_MODE:
            os.fchmod(descriptor, SQLITE_FILE_MODE)
    finally:
        os.close(descriptor)
    for suffix in SQLITE_SIDE_SUFFIXES:
        side = Path(f"{path}{suffix}")
        try:
            found = side.stat()
        except FileNotFoundError:
            continue
        if found.st_uid == os.geteuid() and stat.S_IMODE(found.st_mode) != SQLITE_FILE_MODE:
            side.chmod(SQLITE_FILE_MODE)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection SQLite settings (pragmas are not persistent, except journal_mode).

    WAL lets readers work while one writer writes; busy_timeout makes a second writer wait
    instead of failing at once; foreign_keys is off by default in SQLite.
    """
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _hamming_or_null(a: int | None, b: int | None) -> int | None:
    """:func:`models.dhash.hamming` with SQL's NULL semantics."""
    return None if a is None or b is None else hamming(a, b)


def _register_sqlite_functions(dbapi_connection: Any, _record: Any) -> None:
    """SQL functions SQLite lacks, registered per connection like the pragmas.

    ``hamming(a, b)``: what :class:`models.dhash.dhash_distance` renders to on SQLite
    (PostgreSQL computes it with ``bit_count``).
    """
    dbapi_connection.create_function("hamming", 2, _hamming_or_null, deterministic=True)


def make_engine(url: str | URL, **kwargs: Any) -> AsyncEngine:
    """Create the async engine; for a SQLite file, create its folder and set the pragmas.

    The SQLite driver is left in its default transaction mode on purpose: it begins a
    transaction at the first write, not at the first read, so a conditional UPDATE after a
    SELECT waits for a concurrent writer (busy_timeout) and then sees its result, instead
    of failing with "database is locked". That is what makes the one-winner transitions of
    :mod:`models.lifecycle` behave the same on SQLite as on PostgreSQL.
    """
    # A failed statement's parameters (names, quotes, saved conversations) would otherwise be
    # written into its error, which is logged with its traceback.
    kwargs = {"hide_parameters": True, **kwargs}
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(parsed, **kwargs)
    path = _sqlite_file(parsed)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        make_private_sqlite(path)
    engine = create_async_engine(parsed, **kwargs)
    event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
    event.listen(engine.sync_engine, "connect", _register_sqlite_functions)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Session factory; objects stay readable after commit (no implicit reload in async)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | URL | None = None) -> Config:
    """Alembic configuration pointing at the packaged migrations (no alembic.ini needed).

    With ``url`` set, ``alembic.command`` functions can also be used directly, e.g.
    ``command.revision(alembic_config(url), message="…", autogenerate=True)``.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        rendered = url if isinstance(url, str) else url.render_as_string(hide_password=False)
        # ConfigParser interpolation: a literal % must be doubled.
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


async def _with_connection(
    url_or_engine: str | URL | AsyncEngine, fn: Callable[[Connection], T]
) -> T:
    """Run ``fn`` on a sync connection and commit; dispose the engine if we created it."""
    own = not isinstance(url_or_engine, AsyncEngine)
    engine = url_or_engine if isinstance(url_or_engine, AsyncEngine) else make_engine(url_or_engine)
    try:
        async with engine.connect() as connection:
            result = await connection.run_sync(fn)
            await connection.commit()
            if connection.dialect.name == "sqlite":
                # migrations/env.py turns foreign keys off while migrating; this pooled
                # connection must not go back to the pool that way. Outside a transaction
                # now, so the pragma takes effect.
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                await connection.commit()
            return result
    finally:
        if own:
            await engine.dispose()


def _run_command(name: str, revision: str) -> Callable[[Connection], None]:
    """An Alembic command bound to the caller's connection (``env.py`` picks it up)."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        getattr(command, name)(config, revision)

    return run


async def upgrade(url_or_engine: str | URL | AsyncEngine, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (default: the latest)."""
    await _with_connection(url_or_engine, _run_command("upgrade", revision))


async def downgrade(url_or_engine: str | URL | AsyncEngine, revision: str) -> None:
    """Migrate the database down to ``revision``.

    ``"base"`` leaves a blank database: Alembic's own bookkeeping table goes too.
    """
    migrate = _run_command("downgrade", revision)

    def run(connection: Connection) -> None:
        migrate(connection)
        if revision == "base":
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")

    await _with_connection(url_or_engine, run)


async def current_revision(url_or_engine: str | URL | AsyncEngine) -> str | None:
    """Revision the database is at; None for a database never migrated."""

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    return await _with_connection(url_or_engine, read)


class DatabaseProblem(Exception):
    """What keeps the bot from using its database, in one line for the operator."""


def version_problem(dialect: str, version: tuple[int, ...]) -> str | None:
    """Why a server of this version cannot be used, or None when it can."""
    minimum = MIN_VERSIONS[dialect]
    if version[: len(minimum)] >= minimum:
        return None
    product, needed = _PRODUCTS[dialect], ".".join(map(str, minimum))
    return (
        f"{product} {'.'.join(map(str, version))} is too old: selfie-bot needs {product} "
        f"{needed} or newer; upgrade the server or point database.url at a newer one"
    )


async def check_database(url: str | URL) -> str:
    """Connect once and check the server's version: ``"PostgreSQL 16.4"``, say.

    Raises :class:`DatabaseProblem` naming ``database.url`` (never with its password).
    """
    parsed = make_url(url)
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database}"
    if parsed.get_backend_name() == "sqlite":
        where = parsed.database or ":memory:"
    engine = make_engine(parsed)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S), engine.connect() as connection:
            dialect = connection.dialect
            version = tuple(int(part) for part in dialect.server_version_info or ())
    except (OSError, TimeoutError, SQLAlchemyError) as error:
        raise DatabaseProblem(
            f"database.url: cannot connect to {where} ({_reason(error)}); check that the "
            "server is running and that host, port, user, password and database are right"
        ) from None
    finally:
        await engine.dispose()
    problem = version_problem(dialect.name, version)
    if problem is not None:
        raise DatabaseProblem(f"database.url: {problem}")
    return f"{_PRODUCTS[dialect.name]} {'.'.join(map(str, version))}"


def _reason(error: BaseException) -> str:
    """The driver's own words, on one line, without SQLAlchemy's wrapping."""
    if isinstance(error, TimeoutError):
        return f"no answer in {CONNECT_TIMEOUT_S} s"
    cause = error.orig if isinstance(error, DBAPIError) else error
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror.lower()
    text = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
    return text.removeprefix(f"{type(cause)}: ")


__all__ = [
    "MIGRATIONS_DIR",
    "DatabaseProblem",
    "alembic_config",
    "check_database",
    "current_revision",
    "dialect_name",
    "downgrade",
    "make_engine",
    "make_sessionmaker",
    "upgrade",
    "version_problem",
]
