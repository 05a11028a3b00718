"""A real small filesystem for the disk-full tests (issue 27): a tmpfs mounted on a folder
of the test, filled to the last byte by a ballast file that the test then removes."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHUNK = 64 * 1024


@contextmanager
def small_filesystem(
    path: Path, size: str = "16m", owner: tuple[int, int] | None = None
) -> Iterator[Path]:
    """A tmpfs of ``size`` on ``path`` while the block runs (unmounted after, whatever is
    left in it), ``owner`` (uid, gid) owning it if given. Skips when this process may not
    mount (mount(8) needs root)."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size},mode=0700"
    if owner is not None:
        options += f",uid={owner[0]},gid={owner[1]}"
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"a small filesystem needs the right to mount one: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=True)


def fill(folder: Path) -> Path:
    """Write a ballast file in ``folder`` until its filesystem has no byte left; its path."""
    ballast = folder / "ballast"
    block = b"\0" * CHUNK
    descriptor = os.open(ballast, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (CHUNK, 4096, 512, 1):
            try:
                while True:
                    os.write(descriptor, block[:size])
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
    finally:
        os.close(descriptor)
    return ballast


def files_in(folder: Path) -> set[Path]:
    """Every file under ``folder``, the ballast aside."""
    return {p for p in folder.rglob("*") if p.is_file() and p.name != "ballast"}
