"""File writes shared by all folders: a file replaced whole or not at all, with the bot's
own permissions for files holding personal data, and the storage folder's run lock.

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

import fcntl
import os
from collections.abc import Callable, Iterator
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
