"""Backups taken while the bot runs (``selfie-bot backup``) and their restore on a stopped
bot (``selfie-bot restore``).

An archive is one tar file (gzip-compressed when its name ends in ``.gz`` or ``.tgz``):

- ``database.sqlite3``: a copy made with SQLite's online backup API, consistent even while
  the bot writes; or ``database.pgdump`` for PostgreSQL, ``pg_dump``'s custom format, when
  ``pg_dump`` is on PATH (otherwise the archive holds the photos only and the operator
  dumps the database with ``pg_dump`` first);
- ``photos/``: the storage folder (photos and their thumbnails);
- ``manifest.json``: format, bot version, date, database kind, Alembic revision, counts.

The database is copied first and the photos after, so every row of the copy finds its
photo (photos are written before their row); photos stored meanwhile are in the archive
without a row, and the bot's orphan sweep deletes them once restored. An entry erased
during the backup may keep its row without its photo: a backup holds personal data as
it was when taken.

``selfie-bot run`` holds :data:`~bot.files.LOCK_NAME` in the storage folder
(:func:`bot.files.running_lock`, ``fcntl.flock``) for its whole life, and ``restore`` takes
it too: a restore never runs beside the bot, nor two bots on one folder.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from contextlib import ExitStack, closing
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import make_url

from bot import __version__
from bot.config import Settings
from bot.files import (
    LOCK_NAME,
    PRIVATE_FILE,
    TEMPORARY_SUFFIX,
    AlreadyRunning,
    running_lock,
    write_atomically,
)

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PGDUMP_MEMBER = "database.pgdump"
PHOTOS = "photos"
COUNTED_TABLES = ("apprentices", "submissions")
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


class BackupProblem(Exception):
    """The backup or the restore cannot be made; one line for the operator."""


@dataclass(frozen=True)
class Manifest:
    format: int
    version: str
    created_at: str
    database: str
    database_member: str | None
    schema_revision: str | None
    counts: dict[str, int]

    def describe(self) -> str:
        counts = ", ".join(f"{count} {name}" for name, count in self.counts.items())
        return f"{self.database} database at revision {self.schema_revision or 'none'}: {counts}"


# --------------------------------------------------------------------------- databases


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupProblem("database.url: an in-memory SQLite database cannot be backed up")
    return Path(parsed.database)


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live database (the online backup API), as one plain file."""
    if not source.is_file():
        raise BackupProblem(f"database.url: {source} does not exist")
    try:
        with closing(sqlite3.connect(source, timeout=30)) as live:
            with closing(sqlite3.connect(target)) as copy:
                live.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as error:
        raise BackupProblem(f"database.url: cannot copy {source} ({error})") from None


def sqlite_facts(path: Path) -> tuple[str | None, dict[str, int]]:
    """The Alembic revision and the rows of :data:`COUNTED_TABLES` of a database file."""
    with closing(sqlite3.connect(path)) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        revision = None
        if "alembic_version" in tables:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
        counts = {
            name: int(connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
            for name in COUNTED_TABLES
            if name in tables
        }
    return revision, counts


def sqlite_has_tables(path: Path) -> bool:
    if not path.is_file():
        return False
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0


def libpq_environment(url: str) -> dict[str, str]:
    """``pg_dump``/``pg_restore``'s connection from the bot's URL, password included, in
    their environment (never on a command line others can read)."""
    parsed = make_url(url)
    values = {
        "PGHOST": parsed.host,
        "PGPORT": str(parsed.port) if parsed.port else None,
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
    }
    return {**os.environ, **{key: value for key, value in values.items() if value}}


async def postgres_facts(url: str) -> tuple[str | None, dict[str, int]]:
    """The Alembic revision, the rows of :data:`COUNTED_TABLES`, read just before the dump."""
    from sqlalchemy import text

    from models.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
            tables = set(names)
            revision = None
            if "alembic_version" in tables:
                revision = await connection.scalar(text("SELECT version_num FROM alembic_version"))
            counts = {}
            for name in COUNTED_TABLES:
                if name in tables:
                    counts[name] = int(
                        await connection.scalar(text(f"SELECT count(*) FROM {name}"))
                    )
    finally:
        await engine.dispose()
    return revision, counts


def run_tool(command: list[str], url: str) -> None:
    """Run ``pg_dump``/``pg_restore``; its own first error line when it fails."""
    result = subprocess.run(command, env=libpq_environment(url), capture_output=True, text=True)
    if result.returncode != 0:
        reason = next((line for line in result.stderr.splitlines() if line.strip()), "failed")
        raise BackupProblem(f"{Path(command[0]).name}: {reason}")


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    from models.db import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


# --------------------------------------------------------------------------- backup


def stored_files(storage: Path) -> list[Path]:
    """The storage folder's files to archive: not the lock, not a half-written ``.tmp``."""
    found = []
    for folder, _dirs, files in os.walk(storage):
        for name in files:
            if name != LOCK_NAME and not name.endswith(TEMPORARY_SUFFIX):
                found.append(Path(folder, name))
    return sorted(found)


def add_photos(archive: tarfile.TarFile, storage: Path) -> int:
    """Add the stored files one by one, each read from its own open file (a file removed
    meanwhile is skipped; none is rewritten in place); how many photos."""
    photos = 0
    for path in stored_files(storage):
        try:
            file = path.open("rb")
        except FileNotFoundError:
            continue
        with file:
            name = f"{PHOTOS}/{path.relative_to(storage).as_posix()}"
            info = archive.gettarinfo(arcname=name, fileobj=file)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, file)
        photos += path.name.endswith(".jpg") and not path.name.endswith(".t.jpg")
    return photos


def add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


def dump_database(settings: Settings, folder: Path, pg_dump: str | None) -> Manifest:
    """Copy the database into ``folder``; the manifest so far (no photo count yet)."""
    url = settings.database.url
    source = sqlite_path(url)
    if source is not None:
        copy_sqlite(source, folder / SQLITE_MEMBER)
        revision, counts = sqlite_facts(folder / SQLITE_MEMBER)
        kind, member = "sqlite", SQLITE_MEMBER
    else:
        revision, counts = asyncio.run(postgres_facts(url))
        kind, member = "postgresql", None
        if pg_dump is not None:
            dump = folder / PGDUMP_MEMBER
            run_tool(
                [pg_dump, "--format=custom", "--no-owner", "--no-privileges", "-f", str(dump)], url
            )
            member = PGDUMP_MEMBER
    created = datetime.now(UTC).isoformat(timespec="seconds")
    return Manifest(FORMAT, __version__, created, kind, member, revision, counts)


def backup(settings: Settings, out: Path, *, pg_dump: str | None = None) -> Manifest:
    """Write the archive ``out`` (mode 0600, whole or not at all): the database first, the
    photos after. ``pg_dump``: its path, for PostgreSQL (None: the photos only)."""
    out = out.resolve()
    compressed = out.name.endswith((".gz", ".tgz"))
    if not out.parent.is_dir():
        raise BackupProblem(f"backup: {out.parent} is not a folder")
    if out.is_relative_to(settings.storage.path.resolve()):
        raise BackupProblem("backup: --out must be outside the storage folder it archives")
    # Beside the archive, readable by its owner only: the copy is personal data too.
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as work:
        folder = Path(work)
        manifest = dump_database(settings, folder, pg_dump)
        written: list[Manifest] = []

        def write(file: IO[bytes]) -> None:
            with new_archive(file, compressed) as archive:
                if manifest.database_member is not None:
                    path = folder / manifest.database_member
                    archive.add(path, manifest.database_member, filter=_anonymous)
                photos = add_photos(archive, settings.storage.path)
                counts = {**manifest.counts, "photos": photos}
                written.append(Manifest(**{**asdict(manifest), "counts": counts}))
                add_bytes(archive, MANIFEST, json.dumps(asdict(written[0]), indent=2).encode())

        try:
            write_atomically(out, write, mode=PRIVATE_FILE, sync=True, suffix=".part")
        except OSError as error:
            raise BackupProblem(f"backup: cannot write {out} ({error.strerror or error})") from None
    return written[0]


def new_archive(file: IO[bytes], compressed: bool) -> tarfile.TarFile:
    if compressed:
        return tarfile.open(fileobj=file, mode="w:gz")
    return tarfile.open(fileobj=file, mode="w")


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    return info


# --------------------------------------------------------------------------- restore


def checked_members(archive: tarfile.TarFile, archive_path: Path) -> list[tarfile.TarInfo]:
    """Every member, refused unless it is one of ours: a regular file or folder at a
    known place, nothing absolute, no ``..``, no link (tarfile's ``data`` filter too)."""
    members = archive.getmembers()
    for member in members:
        top = member.name.split("/", 1)[0]
        known = member.name in (MANIFEST, SQLITE_MEMBER, PGDUMP_MEMBER) or top == PHOTOS
        try:
            tarfile.data_filter(member, str(archive_path.parent))
        except tarfile.FilterError as error:
            raise BackupProblem(f"{archive_path}: refused, unsafe member ({error})") from None
        if not known or not (member.isfile() or member.isdir()) or ".." in member.name.split("/"):
            raise BackupProblem(f"{archive_path}: refused, unexpected member {member.name!r}")
    return members


def read_manifest(archive: tarfile.TarFile, archive_path: Path) -> Manifest:
    try:
        file = archive.extractfile(MANIFEST)
        assert file is not None
        data: dict[str, Any] = json.loads(file.read())
        manifest = Manifest(**data)
    except (KeyError, AssertionError, ValueError, TypeError):
        raise BackupProblem(
            f"{archive_path}: not a selfie-bot backup (no valid {MANIFEST})"
        ) from None
    if manifest.format != FORMAT:
        raise BackupProblem(f"{archive_path}: backup format {manifest.format} is not supported")
    return manifest


def open_archive(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:*")
    except (OSError, tarfile.TarError) as error:
        raise BackupProblem(f"{path}: cannot read the archive ({error})") from None


def has_photos(storage: Path) -> bool:
    return storage.is_dir() and any(entry.name != LOCK_NAME for entry in storage.iterdir())


async def postgres_has_tables(url: str) -> bool:
    revision, counts = await postgres_facts(url)
    return revision is not None or bool(counts)


def refuse_existing_data(settings: Settings, database: Path | None) -> None:
    """Restore replaces: without ``--force``, refuse when anything is there."""
    url = settings.database.url
    storage = settings.storage.path
    if database is not None and sqlite_has_tables(database):
        held = str(database)
    elif database is None and asyncio.run(postgres_has_tables(url)):
        held = "the PostgreSQL database"
    elif has_photos(storage):
        held = str(storage)
    else:
        return
    raise BackupProblem(
        f"restore: {held} already holds data, which the restore would replace: add --force "
        "(take a backup of it first)"
    )


def restore_sqlite(copy: Path, target: Path) -> None:
    """Put the copy in place by a rename, its old journal files gone first."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in SQLITE_SIDE_FILES:
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with copy.open("rb") as source:
        write_atomically(target, lambda file: shutil.copyfileobj(source, file), mode=PRIVATE_FILE)


def restore_photos(staging: Path, storage: Path) -> None:
    """Empty the storage folder (its lock and the staging folder aside) and move the
    archive's photos in: both are in the storage folder, so each move is a rename."""
    for entry in storage.iterdir():
        if entry.name in (LOCK_NAME, staging.name):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    photos = staging / PHOTOS
    for entry in photos.iterdir() if photos.is_dir() else ():
        os.replace(entry, storage / entry.name)


def restore(
    settings: Settings, archive_path: Path, *, force: bool, pg_restore: str | None = None
) -> list[str]:
    """Restore the archive on a stopped bot; what was done and what remains, in lines."""
    storage = settings.storage.path
    database = sqlite_path(settings.database.url)
    kind = "sqlite" if database is not None else "postgresql"
    with open_archive(archive_path) as archive:
        members = checked_members(archive, archive_path)
        manifest = read_manifest(archive, archive_path)
        if manifest.database != kind:
            raise BackupProblem(
                f"{archive_path}: a {manifest.database} backup, and database.url is {kind}"
            )
        if manifest.database_member == PGDUMP_MEMBER and pg_restore is None:
            raise BackupProblem("restore: pg_restore not found on PATH (PostgreSQL's client tools)")
        with ExitStack() as locked:
            try:
                locked.enter_context(running_lock(storage))
            except AlreadyRunning as running:  # the bot, or another restore
                raise BackupProblem(str(running)) from None
            if not force:
                refuse_existing_data(settings, database)
            with tempfile.TemporaryDirectory(dir=storage, prefix=".restore-") as work:
                staging = Path(work)
                archive.extractall(staging, members=members, filter="data")
                lines = [f"restored {manifest.describe()} (backup of {manifest.created_at})"]
                lines += restore_database(settings, manifest, staging, database, pg_restore)
                restore_photos(staging, storage)
    head = head_revision()
    if manifest.schema_revision != head:
        lines.append(
            f"the backup's schema is at revision {manifest.schema_revision or 'none'}, this "
            f"selfie-bot's at {head}: run selfie-bot db upgrade before starting the bot"
        )
    return lines


def restore_database(
    settings: Settings,
    manifest: Manifest,
    staging: Path,
    database: Path | None,
    pg_restore: str | None,
) -> list[str]:
    if manifest.database_member == SQLITE_MEMBER and database is not None:
        restore_sqlite(staging / SQLITE_MEMBER, database)
        return []
    if manifest.database_member == PGDUMP_MEMBER and pg_restore is not None:
        command = [pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges"]
        command += ["--single-transaction", "-d", make_url(settings.database.url).database or ""]
        run_tool([*command, str(staging / PGDUMP_MEMBER)], settings.database.url)
        return []
    return [
        "the archive holds no database (pg_dump was not found when it was made): restore "
        "the database from your own pg_dump with pg_restore"
    ]
