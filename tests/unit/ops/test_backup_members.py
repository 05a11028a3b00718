"""What a restore accepts is what the photo store and ``backup`` write: the store's own
names and formats, within the stated sizes, and the unpacking bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ops.backup import (
    MAX_PHOTO_BYTES,
    MAX_RATIO,
    PHOTO,
    RATIO_FLOOR,
    SQLITE_COPY,
    THUMBNAILS,
    format_problem,
    is_folder_member,
    member_kind,
    size_problem,
    stored_files,
    stored_kind,
    unpacked_limit,
)
from bot.photos.encode import THUMB_SIDE, thumbnail
from bot.photos.store import PhotoStore
from tests.support import imagegen


def test_every_file_the_photo_store_writes_is_accepted(tmp_path: Path) -> None:
    store = PhotoStore(tmp_path)
    jpeg = imagegen.photo_jpeg(800, 600, seed=5)
    for _ in range(20):
        store.save(jpeg, thumbnail(jpeg, THUMB_SIDE))
    store.save(jpeg)  # an older photo, without thumbnails
    files = stored_files(tmp_path)
    assert len(files) == 20 * 4 + 1
    for path in files:
        relative = path.relative_to(tmp_path).as_posix()
        kind = stored_kind(relative)
        assert kind is not None, relative
        assert member_kind(f"photos/{relative}") is kind
        assert is_folder_member(f"photos/{relative.split('/')[0]}")
        assert size_problem(kind, path.stat().st_size) is None
        assert format_problem(kind, path.read_bytes()[:16]) is None


@pytest.mark.parametrize(
    "name",
    [
        "photos/.selfie-bot.lock",
        "photos/ab/.selfie-bot.lock",
        "photos/ab/ab0123456789abcdef0123456789abcd.jpeg",
        "photos/ab/ab0123456789abcdef0123456789abcd.webp",
        "photos/ab/ab0123456789abcdef0123456789abcd.t.png",
        "photos/ab/ab0123456789abcdef0123456789abcd.jpg/x",
        "photos/ab/ab0123456789abcdef0123456789abcg.jpg",
        "photos/ab/ab0123456789abcdef0123456789abc.jpg",
        "photos/ab/ab0123456789abcdef0123456789abcde.jpg",
        "photos/ab/ab0123456789abcdef0123456789abcd.jpg\n",
        "photos/ab//ab0123456789abcdef0123456789abcd.jpg",
        "./photos/ab/ab0123456789abcdef0123456789abcd.jpg",
        "Photos/ab/ab0123456789abcdef0123456789abcd.jpg",
        "database.sqlite3-wal",
        "manifest.json.bak",
        "photos",
    ],
)
def test_a_name_the_store_never_writes_is_no_member(name: str) -> None:
    assert member_kind(name) is None


def test_folders() -> None:
    assert is_folder_member("photos") and is_folder_member("photos/0f")
    for name in ("photos/0F", "photos/abc", "photos/a", "photos/ab/cd", "other", "photos/.."):
        assert not is_folder_member(name), name


def test_sizes_and_formats() -> None:
    assert size_problem(PHOTO, MAX_PHOTO_BYTES) is None
    assert size_problem(PHOTO, MAX_PHOTO_BYTES + 1) == (
        "is 32.0 MB, over the 32.0 MB allowed for a photo (JPEG)"
    )
    assert size_problem(SQLITE_COPY, 10**12) is None  # bounded by the free space instead
    webp, jpeg = THUMBNAILS[".t.webp"], THUMBNAILS[".t.jpg"]
    assert format_problem(webp, b"RIFF\x10\0\0\0WEBPVP8 ") is None
    assert format_problem(webp, b"RIFF\x10\0\0\0WAVEfmt ") == "is not a WebP thumbnail"
    assert format_problem(jpeg, b"\xff\xd8\xff\xe0") is None
    assert format_problem(SQLITE_COPY, b"SQLite format 3\0") is None
    assert format_problem(SQLITE_COPY, b"SQLite format 3 ") == "is not a SQLite database"


def test_the_unpacking_bound_has_a_floor() -> None:
    assert unpacked_limit(200) == RATIO_FLOOR  # a manifest alone, gzip-compressed
    assert unpacked_limit(100_000_000) == MAX_RATIO * 100_000_000
