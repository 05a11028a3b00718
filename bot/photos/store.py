"""Processed photos on disk, each with the public site's two thumbnails beside it.
Originals never reach this folder.

A photo ``ab/<id>.jpg`` has its thumbnails at ``ab/<id>.t.webp`` and ``ab/<id>.t.jpg``
(see :func:`thumbnail_names`), made by the image pipeline with the photo; photos stored
before the pipeline made them have none (the site's build makes them). Every file is
written to a temporary name and renamed (:func:`bot.files.write_atomically`), never
rewritten in place. Every file is the bot's alone (0600, folders 0700), published or not:
the public site has its own copies (:mod:`bot.site.files`).
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from bot.files import (
    PRIVATE_FILE,
    PRIVATE_FOLDER,
    TEMPORARY_SUFFIX,
    private_folder,
    write_atomically,
)

if TYPE_CHECKING:  # Pillow stays out of the modules that only read files
    from bot.photos.encode import Thumbnail

PHOTO_SUFFIX = ".jpg"
THUMB_SUFFIXES = (".t.webp", ".t.jpg", ".s.webp")
"""The site's copies' suffixes in place of the photo's ``.jpg``: the thumbnail in WebP and
in JPEG, then the profile page's WebP (:class:`~bot.photos.encode.Thumbnail`)."""


STORED_NAME = re.compile(
    rf"(?P<folder>[0-9a-f]{{2}})/(?P=folder)[0-9a-f]{{30}}"
    rf"(?P<suffix>{'|'.join(re.escape(s) for s in (*THUMB_SUFFIXES, PHOTO_SUFFIX))})"
)
"""The path of every file :meth:`PhotoStore.save` writes: a uuid4's hex digits in the
folder of its first two, then the photo's or a thumbnail's suffix."""
STORED_FOLDER = re.compile("[0-9a-f]{2}")
"""A folder of the store (the first two hex digits of its files' names)."""


def thumbnail_names(relative: str) -> tuple[str, str, str]:
    """The paths of a photo's copies for the site (:data:`THUMB_SUFFIXES`), whether they
    exist or not."""
    base = relative.removesuffix(PHOTO_SUFFIX)
    webp, jpeg, screen = THUMB_SUFFIXES
    return base + webp, base + jpeg, base + screen


def photo_of_thumbnail(relative: str) -> str | None:
    """The photo a thumbnail's path belongs to; None for any other path."""
    for suffix in THUMB_SUFFIXES:
        if relative.endswith(suffix):
            return relative.removesuffix(suffix) + PHOTO_SUFFIX
    return None


def is_photo(relative: str) -> bool:
    return relative.endswith(PHOTO_SUFFIX) and photo_of_thumbnail(relative) is None


class PhotoStore:
    """Files named by random ids in two-level folders, so a name reveals nothing."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, jpeg: bytes, thumbs: Thumbnail | None = None) -> str:
        """Store a processed photo and its thumbnails; its relative path.

        The thumbnails are written first and the photo last, each by a rename: a photo
        on disk has its thumbnails (when given). A failure removes what was written; a
        crash may leave thumbnails without their photo, which the orphan sweep deletes.
        """
        name = uuid.uuid4().hex
        relative = f"{name[:2]}/{name}{PHOTO_SUFFIX}"
        files = [(relative, jpeg)]
        if thumbs is not None:
            copies = (thumbs.webp, thumbs.jpeg, thumbs.screen)
            files[:0] = zip(thumbnail_names(relative), copies, strict=True)
        private_folder(self.root)
        private_folder((self.root / relative).parent)
        written: list[Path] = []
        try:
            for path, content in files:
                target = self.root / path
                write_atomically(target, content)
                written.append(target)
        except BaseException:
            for target in written:
                target.unlink(missing_ok=True)
            raise
        return relative

    def make_private(self) -> int:
        """Tighten what an earlier version left readable by others (it made files as the
        umask said, and the site hard-linked them): each folder to 0700, each file to
        0600; a file the site still links is first replaced by a private copy (same
        content and time), so the site keeps its own. The number of files tightened."""
        if not self.root.is_dir():
            return 0
        private_folder(self.root)
        tightened = 0
        for folder, _folders, names in os.walk(self.root):
            os.chmod(folder, PRIVATE_FOLDER)
            for name in names:
                path = Path(folder, name)
                found = path.lstat()
                if not stat.S_ISREG(found.st_mode) or stat.S_IMODE(found.st_mode) == PRIVATE_FILE:
                    continue
                if found.st_nlink > 1:
                    write_atomically(path, path.read_bytes())
                    os.utime(path, ns=(found.st_atime_ns, found.st_mtime_ns))
                else:
                    os.chmod(path, PRIVATE_FILE)
                tightened += 1
        return tightened

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

    def thumbnails(self, relative: str) -> tuple[Path, ...] | None:
        """The files of a photo's copies for the site (:func:`thumbnail_names`) when all
        are stored (a photo stored before the profile's WebP was made has two)."""
        paths = tuple(self.root / name for name in thumbnail_names(relative))
        return paths if all(path.is_file() for path in paths) else None

    def delete(self, relative: str | None) -> bool:
        """Delete a stored file, and a photo's thumbnails with it; whether there was one
        (the photo, for a photo)."""
        if not relative:
            return False
        if is_photo(relative):
            for name in thumbnail_names(relative):
                (self.root / name).unlink(missing_ok=True)
        try:
            (self.root / relative).unlink()
        except FileNotFoundError:
            return False
        return True

    def stored(self, before: float) -> list[str]:
        """Stored files (photos, thumbnails and left-over temporary ones) last written
        before ``before`` (a Unix time): the candidates of the orphan sweep."""
        found = []
        for path in self.root.glob("*/*") if self.root.is_dir() else ():
            try:
                written = path.stat().st_mtime
            except FileNotFoundError:  # deleted meanwhile
                continue
            if path.suffix in (".jpg", ".webp", TEMPORARY_SUFFIX) and written < before:
                found.append(path.relative_to(self.root).as_posix())
        return found
