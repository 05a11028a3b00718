"""Processed photos on disk. Originals never reach this folder."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path


class PhotoStore:
    """Files named by random ids in two-level folders, so a name reveals nothing."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, jpeg: bytes) -> str:
        name = uuid.uuid4().hex
        relative = f"{name[:2]}/{name}.jpg"
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(".tmp")
        temporary.write_bytes(jpeg)
        os.replace(temporary, target)
        return relative

    def read(self, relative: str) -> bytes:
        return (self.root / relative).read_bytes()

    async def sendable(self, file_id: str | None, relative: str | None) -> str | bytes:
        """What to give ``send_photo``: Telegram's copy when it has one, else the file,
        read off the event loop (``OSError`` when it is missing)."""
        if file_id:
            return file_id
        return await asyncio.to_thread(self.read, relative or "")

    def exists(self, relative: str) -> bool:
        return (self.root / relative).is_file()

    def delete(self, relative: str | None) -> bool:
        """Delete a stored file; whether there was one."""
        if not relative:
            return False
        try:
            (self.root / relative).unlink()
        except FileNotFoundError:
            return False
        return True

    def stored(self, before: float) -> list[str]:
        """Stored files (and left-over temporary ones) last written before ``before`` (a
        Unix time): the candidates of the orphan sweep."""
        found = []
        for path in self.root.glob("*/*") if self.root.is_dir() else ():
            try:
                written = path.stat().st_mtime
            except FileNotFoundError:  # deleted meanwhile
                continue
            if path.suffix in (".jpg", ".tmp") and written < before:
                found.append(path.relative_to(self.root).as_posix())
        return found
