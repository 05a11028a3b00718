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

``restore`` takes nothing else (:func:`checked_contents`, from the tar headers and the
first bytes of each member, before anything is written): the manifest, the one database
member the manifest names, and under ``photos/`` the photo store's own files
(``<ab>/<ab…32 hex>.jpg`` and its ``.t.webp``/``.t.jpg`` thumbnails, in their folders),
each of its format and within its stated size (:data:`MAX_PHOTO_BYTES`…); the whole fits
in the free space (with a margin) and unpacks to at most :data:`MAX_RATIO` times the
archive's size on disk. The files it restores are the bot's alone (0600, folders 0700).

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
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import make_url

from bot import __version__
from bot.config import Settings
from bot.files import (
    LOCK_NAME,
    PRIVATE_FILE,
    PRIVATE_FOLDER,
    TEMPORARY_SUFFIX,
    AlreadyRunning,
    running_lock,
    write_atomically,
)
from bot.photos.store import (
    STORED_FOLDER,
    STORED_NAME,
    THUMB_SUFFIXES,
    PhotoStore,
    is_photo,
)
from models.db import SQLITE_SIDE_SUFFIXES

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PGDUMP_MEMBER = "database.pgdump"
PHOTOS = "photos"
COUNTED_TABLES = ("apprentices", "submissions")
SKIPPED = "other files skipped"
"""The manifest's count of the storage folder's files that are not the photo store's (or
not a photo store file's format or size), left out of the archive: a restore refuses them."""


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
                # Without the free pages the live file keeps (and what deleted rows left
                # in them): the copy holds the rows only, and compresses as they do.
                copy.execute("VACUUM")
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


# --------------------------------------------------------------------------- what a backup holds

MAX_PHOTO_BYTES = 32_000_000
"""A stored photo: the pipeline's JPEG is at most 4096 px a side at quality 95
(``[images]`` bounds), under 20 MB even for pure noise, about 0.5 MB by default."""
MAX_THUMBNAIL_BYTES = 2_000_000
"""A thumbnail: 400 px a side (:data:`~bot.photos.encode.THUMB_SIDE`), under 0.2 MB."""
MAX_SCREEN_BYTES = 8_000_000
"""A profile page's WebP: 1000 px a side (:data:`~bot.photos.encode.SCREEN_SIDE`), under
1 MB even for pure noise."""
MAX_MANIFEST_BYTES = 64_000
"""The manifest: a few hundred bytes of JSON."""
MAX_MEMBERS = 800_000
"""200,000 photos with their three copies for the site: far beyond a campaign."""
MAX_RATIO = 20
"""What the tar inside may unpack to, times the archive's size on disk: a backup of JPEGs
(and a pg_dump, compressed itself) barely compresses, a vacuumed SQLite copy a few to one."""
RATIO_FLOOR = 64_000_000
"""Unpacking to less is never refused for the ratio: a small campaign's archive, mostly
its database, or a manifest alone."""
SPACE_MARGIN = 0.1
MIN_SPACE_MARGIN = 32_000_000
"""Left free on each filesystem after a restore: a tenth of what it writes, at least this."""
BLOCK = 4096
"""What a file or a folder takes on disk is counted in blocks of this size."""
HEAD = 16
"""The first bytes of a member that tell its format."""


def _is_jpeg(head: bytes) -> bool:
    return head.startswith(b"\xff\xd8\xff")


def _is_webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


@dataclass(frozen=True)
class Kind:
    """What a member may be: its description, its largest size (None: the free space and
    the ratio bound it), how its first :data:`HEAD` bytes look."""

    what: str
    limit: int | None
    looks_right: Callable[[bytes], bool] = field(repr=False)


PHOTO = Kind("a photo (JPEG)", MAX_PHOTO_BYTES, _is_jpeg)
THUMBNAILS = {
    THUMB_SUFFIXES[0]: Kind("a WebP thumbnail", MAX_THUMBNAIL_BYTES, _is_webp),
    THUMB_SUFFIXES[1]: Kind("a JPEG thumbnail", MAX_THUMBNAIL_BYTES, _is_jpeg),
    THUMB_SUFFIXES[2]: Kind("a profile page's WebP", MAX_SCREEN_BYTES, _is_webp),
}
SQLITE_COPY = Kind("a SQLite database", None, lambda head: head == b"SQLite format 3\0")
PG_DUMP_FILE = Kind("a pg_dump custom-format file", None, lambda head: head[:5] == b"PGDMP")
MANIFEST_FILE = Kind("the manifest (JSON)", MAX_MANIFEST_BYTES, lambda h: h.lstrip()[:1] == b"{")
DATABASE_KINDS = {SQLITE_MEMBER: SQLITE_COPY, PGDUMP_MEMBER: PG_DUMP_FILE}


def stored_kind(relative: str) -> Kind | None:
    """What a file of the storage folder (its path there, ``/``-separated) is: a photo or a
    thumbnail named as the photo store names them; None for anything else."""
    match = STORED_NAME.fullmatch(relative)
    if match is None:
        return None
    return THUMBNAILS.get(match["suffix"], PHOTO)


def member_kind(name: str) -> Kind | None:
    """What a file member of an archive is; None for a name no backup writes."""
    if name == MANIFEST:
        return MANIFEST_FILE
    if name in DATABASE_KINDS:
        return DATABASE_KINDS[name]
    folder, _, relative = name.partition("/")
    return stored_kind(relative) if folder == PHOTOS else None


def is_folder_member(name: str) -> bool:
    """A folder member a restore accepts: ``photos`` and its two-hex-digit folders."""
    folder, _, relative = name.partition("/")
    return folder == PHOTOS and (not relative or STORED_FOLDER.fullmatch(relative) is not None)


def size_problem(kind: Kind, size: int) -> str | None:
    if kind.limit is not None and size > kind.limit:
        return f"is {amount(size)}, over the {amount(kind.limit)} allowed for {kind.what}"
    return None


def format_problem(kind: Kind, head: bytes) -> str | None:
    return None if kind.looks_right(head) else f"is not {kind.what}"


def amount(size: float) -> str:
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    if size >= 1_000:
        return f"{size / 1_000:.1f} kB"
    return f"{int(size)} bytes"


def on_disk(size: int) -> int:
    """What a file of ``size`` bytes takes on disk, counted in :data:`BLOCK`."""
    return -(-size // BLOCK) * BLOCK


def unpacked_limit(archive_size: int) -> int:
    """How much the tar inside an archive of ``archive_size`` bytes may unpack to."""
    return max(MAX_RATIO * archive_size, RATIO_FLOOR)


def room_problem(needed: int, free: int, where: Path) -> str | None:
    """Whether writing ``needed`` bytes where ``free`` are left keeps the margin."""
    margin = max(int(needed * SPACE_MARGIN), MIN_SPACE_MARGIN)
    if needed + margin <= free:
        return None
    return (
        f"restore: refused, the archive needs {amount(needed)} in {where} and a margin of "
        f"{amount(margin)}, and {amount(free)} is free there"
    )


# --------------------------------------------------------------------------- backup


def stored_files(storage: Path) -> list[Path]:
    """The storage folder's files to archive: not the lock, not a half-written ``.tmp``."""
    found = []
    for folder, _dirs, files in os.walk(storage):
        for name in files:
            if name != LOCK_NAME and not name.endswith(TEMPORARY_SUFFIX):
                found.append(Path(folder, name))
    return sorted(found)


def add_photos(archive: tarfile.TarFile, storage: Path) -> tuple[int, int]:
    """Add the stored files one by one, each read from its own open file (a file removed
    meanwhile is skipped; none is rewritten in place); how many photos, and how many files
    were left out: not the photo store's, or not of a stored file's format or size (what
    :func:`checked_contents` would refuse)."""
    photos = skipped = 0
    for path in stored_files(storage):
        relative = path.relative_to(storage).as_posix()
        kind = stored_kind(relative)
        if kind is None:
            skipped += 1
            continue
        try:
            file = path.open("rb")
        except FileNotFoundError:
            continue
        with file:
            info = archive.gettarinfo(arcname=f"{PHOTOS}/{relative}", fileobj=file)
            head = file.read(HEAD)
            file.seek(0)
            if not info.isreg() or size_problem(kind, info.size) or format_problem(kind, head):
                skipped += 1
                continue
            archive.addfile(_anonymous(info), file)
        photos += is_photo(relative)
    return photos, skipped


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
                photos, skipped = add_photos(archive, settings.storage.path)
                counts = {**manifest.counts, "photos": photos}
                if skipped:
                    counts[SKIPPED] = skipped
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


class Unreadable(Exception):
    """The archive's bytes cannot be read (corrupt, truncated)."""


class Refused(Exception):
    """A tar header no backup writes, refused before tarfile processes it."""


READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)
"""What reading a damaged tar or gzip stream raises (``gzip.BadGzipFile`` is an OSError)."""

MAX_EXTENSION_BYTES = 64_000
"""A pax or GNU long-name header: tarfile reads one whole into memory before the member it
describes is seen; a backup's are a few dozen bytes (a photo's mtime with its fraction)."""
_EXTENSIONS = (
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
)


class BoundedTarInfo(tarfile.TarInfo):
    """A member as tarfile reads it, with the extensions a backup never writes refused
    before tarfile acts on them: an oversized pax or GNU long-name header, a GNU sparse
    file (whose map tarfile would read without bound)."""

    def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise Refused(f"member {self.name!r} is a sparse file")
        if self.type in _EXTENSIONS and self.size > MAX_EXTENSION_BYTES:
            raise Refused(
                f"a tar extension header of {amount(self.size)}, over the "
                f"{amount(MAX_EXTENSION_BYTES)} allowed"
            )
        return super()._proc_member(tarfile_)  # type: ignore[misc]

    def _proc_gnusparse_00(self, *_args: object) -> None:
        raise Refused(f"member {self.name!r} is a sparse file")

    _proc_gnusparse_01 = _proc_gnusparse_10 = _proc_gnusparse_00


@dataclass
class Contents:
    """An archive checked from its headers and its members' first bytes: the members to
    unpack, in order; its manifest; the bytes it writes in the storage folder (photos,
    folders, the database's staging copy) and, for SQLite, beside the database."""

    members: list[tarfile.TarInfo]
    manifest: Manifest
    storage_bytes: int
    database_bytes: int


def open_archive(path: Path) -> tuple[IO[bytes], tarfile.TarFile]:
    """The archive's open file and its tar, gzip-compressed or not (what backup writes)."""
    try:
        file = path.open("rb")
    except OSError as error:
        raise BackupProblem(f"{path}: cannot read the archive ({error.strerror})") from None
    try:
        gzipped = file.read(2) == b"\x1f\x8b"
        file.seek(0)
        if gzipped:
            return file, tarfile.open(fileobj=file, mode="r:gz", tarinfo=BoundedTarInfo)
        return file, tarfile.open(fileobj=file, mode="r:", tarinfo=BoundedTarInfo)
    except Refused as refused:
        file.close()
        raise BackupProblem(f"{path}: refused, {refused}") from None
    except READ_ERRORS as error:
        file.close()
        raise BackupProblem(f"{path}: cannot read the archive ({error})") from None


def _members(archive: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """The members one header at a time: each is checked before the stream goes past its
    data (a refused member is never decompressed)."""
    while True:
        try:
            member = archive.next()
        except READ_ERRORS as error:
            raise Unreadable(str(error)) from None
        if member is None:
            return
        yield member


def _read(archive: tarfile.TarFile, member: tarfile.TarInfo, size: int) -> bytes:
    """A member's first ``size`` bytes, once its last byte is known to be there (a cut
    stream ends tarfile's list of members without an error): reading the stream on to it
    is what the next header's read does anyway."""
    try:
        file = archive.extractfile(member)
        assert file is not None
        with file:
            data = file.read(size)
            if member.size > size:
                file.seek(member.size - 1)
                file.read(1)  # tarfile raises ReadError on a short read
    except READ_ERRORS as error:
        raise Unreadable(str(error)) from None
    if len(data) != min(size, member.size):
        raise Unreadable("unexpected end of data")
    return data


def checked_contents(archive: tarfile.TarFile, archive_path: Path, archive_size: int) -> Contents:
    """Every member, refused unless a backup writes it (see the module's docstring), with
    one line naming the member and the limit, from its header and its first bytes before
    the stream goes past it; nothing is written."""
    seen: set[str] = set()
    members: list[tarfile.TarInfo] = []
    manifest_data = b""
    limit = unpacked_limit(archive_size)
    storage_bytes = database_bytes = 0
    try:
        for member in _members(archive):
            refused = f"{archive_path}: refused, member {member.name!r}"
            if member.name in seen:
                raise BackupProblem(f"{refused} appears twice")
            if len(seen) >= MAX_MEMBERS:
                raise BackupProblem(f"{archive_path}: refused, over {MAX_MEMBERS} members")
            seen.add(member.name)
            end = member.offset_data + member.size
            if end > limit:
                raise BackupProblem(
                    f"{refused} takes the archive to {amount(end)} unpacked, over {MAX_RATIO} "
                    f"times its {amount(archive_size)} on disk (at most {amount(limit)})"
                )
            if member.type == tarfile.DIRTYPE and is_folder_member(member.name):
                members.append(member)
                storage_bytes += BLOCK
                continue
            kind = member_kind(member.name)
            if kind is None or member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
                raise BackupProblem(f"{refused} is not a file a backup writes")
            problem = size_problem(kind, member.size)
            if problem is None:
                data = _read(archive, member, member.size if kind is MANIFEST_FILE else HEAD)
                problem = format_problem(kind, data[:HEAD])
            if problem is not None:
                raise BackupProblem(f"{refused} {problem}")
            if kind is MANIFEST_FILE:
                manifest_data = data
                continue
            members.append(member)
            storage_bytes += on_disk(member.size)
            if kind is SQLITE_COPY:
                database_bytes = on_disk(member.size)
    except Refused as error:
        raise BackupProblem(f"{archive_path}: refused, {error}") from None
    except Unreadable as error:
        raise BackupProblem(f"{archive_path}: cannot read the archive ({error})") from None
    manifest = read_manifest(manifest_data, archive_path)
    databases = [member.name for member in members if member.name in DATABASE_KINDS]
    expected = [manifest.database_member] if manifest.database_member else []
    if databases != expected:
        raise BackupProblem(
            f"{archive_path}: refused, the manifest names the database member "
            f"{manifest.database_member!r} and the archive holds {databases or 'none'}"
        )
    return Contents(members, manifest, storage_bytes, database_bytes)


def read_manifest(data: bytes, archive_path: Path) -> Manifest:
    invalid = BackupProblem(f"{archive_path}: not a selfie-bot backup (no valid {MANIFEST})")
    try:
        values: dict[str, Any] = json.loads(data)
        manifest = Manifest(**values)
    except (ValueError, TypeError):
        raise invalid from None
    if manifest.format != FORMAT:
        raise BackupProblem(f"{archive_path}: backup format {manifest.format} is not supported")
    kinds = {"sqlite": (SQLITE_MEMBER,), "postgresql": (PGDUMP_MEMBER, None)}
    texts = (manifest.version, manifest.created_at, manifest.schema_revision or "")
    if (
        manifest.database_member not in kinds.get(manifest.database, ())
        or not all(isinstance(text, str) and text.isprintable() for text in texts)
        or not isinstance(manifest.counts, dict)
        or not all(
            isinstance(name, str) and name.isprintable() and type(count) is int
            for name, count in manifest.counts.items()
        )
    ):
        raise invalid
    return manifest


def free_space(path: Path) -> tuple[Path, int, int]:
    """The nearest existing folder of ``path``, its filesystem and the bytes free there
    for the bot's user."""
    while not path.exists():
        path = path.parent
    found = os.statvfs(path)
    return path, os.stat(path).st_dev, found.f_bavail * found.f_frsize


def check_room(contents: Contents, storage: Path, database: Path | None) -> None:
    """The archive fits where it unpacks, with the margin: the storage folder (photos and
    the staging copy of the database) and the SQLite database's folder (its new copy
    beside the old one), together when they share a filesystem."""
    needs = [(storage, contents.storage_bytes)]
    if database is not None:
        needs.append((database.parent, contents.database_bytes))
    filesystems: dict[int, tuple[Path, int, int]] = {}
    for path, needed in needs:
        where, device, free = free_space(path)
        if device in filesystems:
            where, total, free = filesystems[device]
            needed += total
        filesystems[device] = (where, needed, free)
    for where, needed, free in filesystems.values():
        problem = room_problem(needed, free, where)
        if problem is not None:
            raise BackupProblem(problem)


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


def private_member(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo:
    """tarfile's ``data`` filter, then the bot's own modes: files 0600, folders 0700
    (tarfile sets them on what it extracts, whatever the umask), owned by the restore's
    user."""
    member = tarfile.data_filter(member, path)
    mode = PRIVATE_FOLDER if member.isdir() else PRIVATE_FILE
    return member.replace(mode=mode, uid=-1, gid=-1, uname="", gname="", deep=False)


def unpack(archive: tarfile.TarFile, contents: Contents, staging: Path, archive_path: Path) -> None:
    """Extract the checked members into ``staging`` (a folder of the storage's, 0700).
    tarfile writes a member no further than its header's size, and each was read to its
    last byte by the checks."""
    try:
        archive.extractall(staging, members=contents.members, filter=private_member)
    except READ_ERRORS as error:
        raise BackupProblem(f"{archive_path}: cannot read the archive ({error})") from None


def restore_sqlite(copy: Path, target: Path) -> None:
    """Put the copy in place by a rename, its old journal files gone first."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in SQLITE_SIDE_SUFFIXES:
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
    """Restore the archive on a stopped bot; what was done and what remains, in lines.
    Every check is made before anything is written (the archive's members, their sizes,
    the free space): a refused restore leaves the storage folder and the database as
    they were."""
    storage = settings.storage.path
    database = sqlite_path(settings.database.url)
    kind = "sqlite" if database is not None else "postgresql"
    file, archive = open_archive(archive_path)
    with file, archive:
        contents = checked_contents(archive, archive_path, os.fstat(file.fileno()).st_size)
        manifest = contents.manifest
        if manifest.database != kind:
            raise BackupProblem(
                f"{archive_path}: a {manifest.database} backup, and database.url is {kind}"
            )
        if manifest.database_member == PGDUMP_MEMBER and pg_restore is None:
            raise BackupProblem("restore: pg_restore not found on PATH (PostgreSQL's client tools)")
        check_room(contents, storage, database)
        with ExitStack() as locked:
            try:
                locked.enter_context(running_lock(storage))
            except AlreadyRunning as running:  # the bot, or another restore
                raise BackupProblem(str(running)) from None
            if not force:
                refuse_existing_data(settings, database)
            with tempfile.TemporaryDirectory(dir=storage, prefix=".restore-") as work:
                staging = Path(work)
                unpack(archive, contents, staging, archive_path)
                lines = [f"restored {manifest.describe()} (backup of {manifest.created_at})"]
                lines += restore_database(settings, manifest, staging, database, pg_restore)
                restore_photos(staging, storage)
            PhotoStore(storage).make_private()  # folders the archive did not list
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
