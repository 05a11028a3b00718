"""The site's folder on disk: atomic writes of changed files only, photos and thumbnails,
removal of what no longer belongs.

A file is written to a temporary name in its own folder and then renamed over the old one
(``os.replace``), so a visitor gets the old file or the new one, never half of one, and a
crash mid-build leaves the previous site whole (a left-over temporary file is removed by
the next build). A file whose content is unchanged is not touched.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.files import PUBLIC_FILE, write_atomically
from bot.photos.encode import THUMB_SIDE, thumbnail
from bot.photos.store import PhotoStore, thumbnail_names
from bot.site.pages import Profile
from bot.site.render import copy_files, photo_file

MARKER = ".selfie-bot-site"
"""Written in a folder the bot made: only such a folder is ever emptied of stray files."""


class GalleryFolderProblem(Exception):
    """The folder cannot be used for the site; the message is one line for the operator."""


def claim_and_lock(root: Path) -> int:
    """Make sure the folder is the site's (new, empty, or marked by an earlier build) and
    take its lock: the bot and a ``gallery build`` run at the same time take turns, so
    neither writes back what the other just removed. Blocks until the lock is free; the
    descriptor to close to release it."""
    marker = root / MARKER
    root.mkdir(parents=True, exist_ok=True)
    if not marker.is_file() and any(root.iterdir()):
        raise GalleryFolderProblem(
            f"gallery.path: {root} is not empty and was not made by selfie-bot (no "
            f"{MARKER} in it); the site's build removes every file it did not write, so "
            "give it a new or empty folder"
        )
    descriptor = os.open(marker, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


@dataclass(frozen=True)
class PhotoJob:
    """The photo files of one profile to make; plain paths, so a worker process takes it."""

    source: Path
    """The processed JPEG (never the upload)."""
    copy: Path
    thumbs: tuple[Path, ...]
    """The site's copies: thumbnail in WebP and JPEG, the profile's WebP."""
    stored_thumbs: tuple[Path, ...] = ()
    """The same copies as the image pipeline stored them beside the source
    (:func:`~bot.photos.store.thumbnail_names`): photos stored before it made them
    have none or some."""


def make_photo(job: PhotoJob) -> int:
    """Copy the processed photo and its stored copies into the site, making the copies
    when some were not stored; the number of files written. A photo gone
    meanwhile (erased) is skipped: the removal that follows takes its page."""
    try:
        place_file(job.source, job.copy)
    except FileNotFoundError:
        return 0
    try:
        if job.stored_thumbs:
            for stored, path in zip(job.stored_thumbs, job.thumbs, strict=True):
                place_file(stored, path)
            return 1 + len(job.thumbs)
    except FileNotFoundError:  # an old photo, or erased meanwhile: made from the copy
        pass
    try:
        jpeg = job.copy.read_bytes()
    except FileNotFoundError:
        return 1
    small = thumbnail(jpeg, THUMB_SIDE)
    for path, content in zip(job.thumbs, (small.webp, small.jpeg, small.screen), strict=True):
        write_public(path, content)
    return 1 + len(job.thumbs)


def place_file(source: Path, path: Path) -> None:
    """Put a copy of ``source`` at ``path`` in one step, readable by the web server (0644):
    the stored file stays the bot's alone (0600), so it is copied, never linked.
    ``FileNotFoundError`` when ``source`` is gone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(source, "rb") as stored:
        write_atomically(path, lambda file: shutil.copyfileobj(stored, file), mode=PUBLIC_FILE)


def write_public(path: Path, content: bytes) -> None:
    """Replace ``path`` by ``content`` in one step, readable by the web server (0644), its
    folders made as needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, content, mode=PUBLIC_FILE)


class SiteFolder:
    """The site's folder, counting what it writes and removes."""

    def __init__(self, root: Path, photos: PhotoStore) -> None:
        self.root = root
        self.photos = photos
        self.written = 0
        self.removed = 0

    def write(self, relative: str, content: bytes) -> None:
        """Write a file unless it already holds ``content``."""
        path = self.root / relative
        try:
            if path.stat().st_size == len(content) and path.read_bytes() == content:
                return
        except FileNotFoundError:
            pass
        write_public(path, content)
        self.written += 1

    def page(self, relative: str, digest: str, render: Callable[[], bytes]) -> None:
        """Write an HTML page stamped with the digest of what it is made of, rendering it
        only when the page on disk bears another stamp (a rebuild with nothing changed
        reads a few bytes per page and renders nothing)."""
        stamp = f"<!-- {digest} -->\n".encode()
        try:
            with open(os.path.join(self.root, relative), "rb") as file:
                file.seek(-len(stamp), os.SEEK_END)
                if file.read() == stamp:
                    return
        except OSError:  # missing, or shorter than a stamp
            pass
        self.write(relative, render() + stamp)

    def photo_job(self, profile: Profile) -> PhotoJob | None:
        """What making the profile's photo files takes, or None when they are up to date:
        the copy is as large as the processed JPEG and newer, and the thumbnails are there
        (made again whenever the copy is)."""
        # Plain strings and os calls: a rebuild checks every profile's files, and building
        # path objects for each cost more than the checks themselves.
        site, store = os.fspath(self.root), os.fspath(self.photos.root)
        copy_name, thumbs = photo_file(profile.id), copy_files(profile.id)
        try:
            source = os.stat(f"{store}/{profile.photo_path}")
            copy = os.stat(f"{site}/{copy_name}")
        except FileNotFoundError:
            fresh = False
        else:
            fresh = copy.st_size == source.st_size and copy.st_mtime_ns >= source.st_mtime_ns
        if fresh and all(os.path.isfile(f"{site}/{name}") for name in thumbs):
            return None
        return PhotoJob(
            self.photos.root / profile.photo_path,
            self.root / copy_name,
            tuple(self.root / name for name in thumbs),
            tuple(self.photos.root / name for name in thumbnail_names(profile.photo_path)),
        )

    def remove(self, relative: str) -> None:
        """Delete a file, and its folders left empty."""
        path = self.root / relative
        try:
            path.unlink()
        except FileNotFoundError:
            return
        self.removed += 1
        self._prune(path.parent)

    def remove_all_but(self, keep: Iterable[str]) -> None:
        """Delete every file not in ``keep`` (left-over temporary files included), and the
        folders left empty. One walk of the folder, names compared as strings: a folder is
        known empty when all it held was removed, without listing it again."""
        wanted = {*keep, MARKER}
        root = os.fspath(self.root)
        emptied: set[str] = set()
        for folder, subfolders, files in os.walk(root, topdown=False):
            prefix = "" if folder == root else folder[len(root) + 1 :] + "/"
            left = len(files)
            for name in files:
                if prefix + name not in wanted:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(folder, name))
                    self.removed += 1
                    left -= 1
            left += sum(1 for sub in subfolders if os.path.join(folder, sub) not in emptied)
            if folder != root and left == 0:
                with contextlib.suppress(OSError):  # not empty after all (written meanwhile)
                    os.rmdir(folder)
                    emptied.add(folder)

    def _prune(self, folder: Path) -> None:
        while folder != self.root and folder.is_relative_to(self.root):
            try:
                folder.rmdir()
            except OSError:  # not empty
                return
            folder = folder.parent
