"""File writes shared by all folders: a file replaced whole or not at all, with the bot's
own permissions for files holding personal data, the storage folder's run lock, and the
folders found full (:class:`FullFolders`).

Personal data is the bot's alone whatever the umask it is started with: its files are made
:data:`PRIVATE_FILE` and its folders :data:`PRIVATE_FOLDER` by the bot itself, not left to
the umask or to the systemd unit (``selfie-bot run`` by hand, a container, a restore).

:func:`write_atomically` writes to a temporary file in the target's own folder and renames
it over the target (``os.replace``): a reader gets the old file or the new one, never half
of one, and a failure removes the temporary (a crash may leave it; each folder's own sweep
knows it by its suffix). Used by the photo store, the public site, the register's export,
the backup and the restore.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

PRIVATE_FILE = 0o600
"""Readable by the bot's user only: files holding personal data (an export, a backup, a
restored database, the run lock)."""
PRIVATE_FOLDER = 0o700
"""Open to the bot's user only: the folders of personal data (the photos, SQLite's)."""
PUBLIC_FILE = 0o644
"""Readable by the web server too: the public site's files."""
TEMPORARY_SUFFIX = ".tmp"

LOCK_NAME = ".selfie-bot.lock"

ROOM = 1024 * 1024
"""Bytes a full folder must take again before it counts as having room: a photo's worth."""
FOLDERS = ("storage", "database", "site")
"""The folders :class:`FullFolders` knows by name: the photos, SQLite's, the public site's."""
PG_DISK_FULL = "53100"
"""PostgreSQL's SQLSTATE for a write refused for lack of room (``disk_full``)."""

Writer = Callable[[IO[bytes]], object]
"""Writes a file's content into the open (binary) file it is given."""


class AlreadyRunning(Exception):
    """Another process holds the storage folder's lock: the bot, or a restore."""


def write_atomically(
    path: Path,
    content: bytes | Writer,
    *,
    mode: int = PRIVATE_FILE,
    sync: bool = False,
    suffix: str = TEMPORARY_SUFFIX,
) -> None:
    """Replace ``path`` by ``content`` in one step, or leave it as it was.

    ``content``: the bytes, or a :data:`Writer` that writes them into the open file (a
    large file made as it goes: a ZIP, a tar). ``mode``: the file's permissions whatever
    the umask (:data:`PRIVATE_FILE`, :data:`PUBLIC_FILE`). ``sync``:
    on disk (``fsync``) before the rename, for a file the operator relies on. ``suffix``:
    the temporary's, named ``.<name>.<random><suffix>`` beside ``path``, whose folder must
    exist.
    """
    descriptor, temporary = _create_temporary(path, suffix)
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "wb") as file:
            if isinstance(content, bytes):
                file.write(content)
            else:
                content(file)
            if sync:
                file.flush()
                os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _create_temporary(path: Path, suffix: str) -> tuple[int, str]:
    """A new file beside ``path``, open for writing: its descriptor and name. Made 0600
    (its mode is changed once open), so no one else can open it meanwhile."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    while True:
        temporary = os.path.join(path.parent, f".{path.name}.{os.urandom(6).hex()}{suffix}")
        try:
            return os.open(temporary, flags, PRIVATE_FILE), temporary
        except FileExistsError:  # taken by a left-over temporary: draw another name
            continue


@contextmanager
def running_lock(storage: Path) -> Iterator[None]:
    """Hold the storage folder's lock (:data:`LOCK_NAME`) until the block ends (the kernel
    frees it if the process dies); :class:`AlreadyRunning` when another process holds it.
    ``selfie-bot run`` holds it for its whole life and ``restore`` takes it too."""
    private_folder(storage)
    descriptor = os.open(storage / LOCK_NAME, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(descriptor, 32).decode(errors="replace").strip() or "?"
            raise AlreadyRunning(
                f"selfie-bot is running on {storage} (process {holder}): stop it first "
                "(systemctl stop selfie-bot)"
            ) from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(descriptor)


def private_folder(path: Path) -> None:
    """Make ``path`` a :data:`PRIVATE_FOLDER`, or tighten it to one if it is there: only for
    a folder the bot owns whole (the photos' storage and its subfolders). Missing parents
    are made as the umask says: they may hold the public site too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir(PRIVATE_FOLDER, exist_ok=True)
    os.chmod(path, PRIVATE_FOLDER)


def no_space(error: BaseException | None) -> bool:
    """Whether ``error``, or what caused it, is a write refused for lack of room: the
    filesystem's ENOSPC or EDQUOT, SQLite's "database or disk is full", PostgreSQL's
    ``disk_full`` (SQLAlchemy and the drivers wrap them; the chain is followed)."""
    return _lack_of_room(error) is not None


def _lack_of_room(error: BaseException | None) -> BaseException | None:
    """The error of ``error``'s chain that says there is no room, or None."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return error
        if isinstance(error, sqlite3.Error) and error.sqlite_errorcode == sqlite3.SQLITE_FULL:
            return error
        if PG_DISK_FULL in (getattr(error, "sqlstate", None), getattr(error, "pgcode", None)):
            return error
        error = getattr(error, "orig", None) or error.__cause__ or error.__context__
    return None


def has_room(folder: Path) -> bool:
    """Whether :data:`ROOM` bytes can be written in ``folder`` now (then removed)."""
    try:
        with tempfile.TemporaryFile(dir=folder) as probe:
            probe.write(b"\0" * ROOM)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError:
        return False
    return True


class FullFolders:
    """The bot's folders found full, so that the moderators are told once per folder (not
    per photo), and again only after it had room again.

    ``folders``: the local folders by name (``"storage"``, ``"database"``, ``"site"``);
    a database on a server has none, and a full one is told once per run.
    """

    def __init__(self, folders: Mapping[str, Path | None]) -> None:
        self.folders = dict(folders)
        self.full: set[str] = set()
        self.untold: set[str] = set()

    def note(self, error: BaseException) -> str | None:
        """Record a failed write if it was for lack of room; the folder's name, or None."""
        cause = _lack_of_room(error)
        if cause is None:
            return None
        name = self._folder_of(cause)
        if name not in self.full:
            self.full.add(name)
            self.untold.add(name)
        return name

    def told(self, name: str) -> None:
        self.untold.discard(name)

    def with_room_again(self) -> list[str]:
        """The full folders that have room again (each probed with :func:`has_room`),
        no longer full from now on."""
        back = [
            name
            for name in sorted(self.full)
            if (path := self.folders.get(name)) is not None and has_room(path)
        ]
        self.full.difference_update(back)
        self.untold.difference_update(back)
        return back

    def _folder_of(self, cause: BaseException) -> str:
        """The folder the refused write was in: by the error's file name, else the database
        for a database's error, else the first local folder without room."""
        if not isinstance(cause, OSError):
            return "database"
        for name, path in self.folders.items():
            if path is not None and _names_a_file_in(cause, path):
                return name
        for name, path in self.folders.items():
            if path is not None and not has_room(path):
                return name
        return "storage"


def _names_a_file_in(error: OSError, folder: Path) -> bool:
    names = [Path(os.fsdecode(n)).resolve() for n in (error.filename, error.filename2) if n]
    return any(name.is_relative_to(folder.resolve()) for name in names)
