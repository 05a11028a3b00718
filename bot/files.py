"""File writes shared by all folders: a file replaced whole or not at all, with the bot's
own permissions for files holding personal data, and the storage folder's run lock.

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
PUBLIC_FILE = 0o644
"""Readable by the web server too: the public site's files."""
AS_UMASK = None
"""No mode of its own: as ``open`` makes a file (0666 less the process's umask)."""
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
    mode: int | None = PRIVATE_FILE,
    sync: bool = False,
    suffix: str = TEMPORARY_SUFFIX,
) -> None:
    """Replace ``path`` by ``content`` in one step, or leave it as it was.

    ``content``: the bytes, or a :data:`Writer` that writes them into the open file (a
    large file made as it goes: a ZIP, a tar). ``mode``: the file's permissions whatever
    the umask (:data:`PRIVATE_FILE`, :data:`PUBLIC_FILE`), or :data:`AS_UMASK`. ``sync``:
    on disk (``fsync``) before the rename, for a file the operator relies on. ``suffix``:
    the temporary's, named ``.<name>.<random><suffix>`` beside ``path``, whose folder must
    exist.
    """
    descriptor, temporary = _create_temporary(path, suffix, mode)
    try:
        if mode is not None:
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


def _create_temporary(path: Path, suffix: str, mode: int | None) -> tuple[int, str]:
    """A new file beside ``path``, open for writing: its descriptor and name. Made 0600
    when the write gives it a mode (changed once open), else as the umask makes it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    while True:
        temporary = os.path.join(path.parent, f".{path.name}.{os.urandom(6).hex()}{suffix}")
        try:
            return os.open(temporary, flags, 0o666 if mode is None else 0o600), temporary
        except FileExistsError:  # taken by a left-over temporary: draw another name
            continue


@contextmanager
def running_lock(storage: Path) -> Iterator[None]:
    """Hold the storage folder's lock (:data:`LOCK_NAME`) until the block ends (the kernel
    frees it if the process dies); :class:`AlreadyRunning` when another process holds it.
    ``selfie-bot run`` holds it for its whole life and ``restore`` takes it too."""
    storage.mkdir(parents=True, exist_ok=True)
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
