"""Processed photos on disk. Originals never reach this folder."""

from __future__ import annotations

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

    def delete(self, relative: str | None) -> None:
        if relative:
            (self.root / relative).unlink(missing_ok=True)
