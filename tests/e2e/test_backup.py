"""``selfie-bot backup`` while apprentices submit entries, and ``restore`` on a stopped bot:
every entry of the copy comes back with its photo; hostile archives and a running bot are
refused."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tarfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app.cli import main
from bot.config import DatabaseSettings, Settings, StorageSettings, settings_from_dict
from bot.files import LOCK_NAME, AlreadyRunning, running_lock
from bot.ops.backup import (
    MANIFEST,
    SKIPPED,
    BackupProblem,
    Contents,
    Manifest,
    backup,
    check_room,
    head_revision,
    restore,
    room_problem,
    sqlite_path,
)
from bot.photos.encode import THUMB_SIDE, thumbnail
from bot.photos.store import PhotoStore, thumbnail_names
from bot.sandbox.emulator import Emulator, User
from models import Submission
from models.db import make_engine, make_sessionmaker
from tests.support import imagegen
from tests.support.postgres import empty_postgres_database
from tests.support.stand import (
    TOKEN,
    BotProcess,
    Stand,
    has_button,
    process_config,
    running_stand,
    stand_config,
    walk_to_photo,
    write_config,
)

PG_DUMP = shutil.which("pg_dump")
PG_RESTORE = shutil.which("pg_restore")


async def up_to_preview(stand: Stand, user: User, seed: int) -> dict:
    """The flow up to the preview: the draft is stored, its photo on disk."""
    await walk_to_photo(stand, user)
    await stand.emu.send_photo(user, imagegen.photo_jpeg(1280, 960, seed=seed))
    return await stand.reply(user, has_button("preview:"))


async def send(stand: Stand, user: User, preview: dict) -> None:
    await stand.press(user, preview, "preview:send")
    await stand.reply(user, "envoy")


async def submit(stand: Stand, user: User, seed: int) -> None:
    await send(stand, user, await up_to_preview(stand, user, seed))


async def entries(url: str) -> dict[int, str | None]:
    """Every row of ``submissions``: its number and its photo's path."""
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = await session.scalars(select(Submission))
            return {row.id: row.photo_path for row in rows}
    finally:
        await engine.dispose()


def elsewhere(settings: Settings, folder: Path, db_url: str) -> Settings:
    """The same campaign on a fresh folder: the restore's target."""
    url = db_url if db_url.startswith("postgresql") else f"sqlite+aiosqlite:///{folder / 'db'}"
    return settings.model_copy(
        update={
            "storage": StorageSettings(path=folder / "photos"),
            "database": DatabaseSettings(url=url),
        }
    )


async def test_backup_during_a_flow_restores_every_entry_with_its_photo(
    db_url: str, tmp_path: Path
) -> None:
    if db_url.startswith("postgresql") and not (PG_DUMP and PG_RESTORE):
        pytest.skip("pg_dump and pg_restore (PostgreSQL's client tools) are not on PATH")
    archive = tmp_path / "backup.tar.gz"
    async with running_stand(db_url, tmp_path / "live") as stand:
        users = [stand.emu.create_user(f"Apprenti {i}") for i in range(6)]
        for seed, user in enumerate(users[:2]):
            await submit(stand, user, seed)
        # Two apprentices stopped at their preview (drafts with photos), two others
        # submitting while the backup runs.
        previews = [await up_to_preview(stand, user, 10 + i) for i, user in enumerate(users[2:4])]
        others = asyncio.gather(*(submit(stand, u, 20 + i) for i, u in enumerate(users[4:])))
        before = await entries(db_url)
        manifest = await asyncio.to_thread(backup, stand.settings, archive, pg_dump=PG_DUMP)
        after = await entries(db_url)
        for user, preview in zip(users[2:4], previews, strict=True):
            await send(stand, user, preview)
        await others
        assert len(await entries(db_url)) == 6
        settings = stand.settings

    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert len(before) >= 4 and manifest.schema_revision == head_revision()
    assert len(before) <= manifest.counts["submissions"] <= len(after)
    if db_url.startswith("postgresql"):
        await empty_postgres_database(db_url)
    target = elsewhere(settings, tmp_path / "restored", db_url)
    await asyncio.to_thread(restore, target, archive, force=False, pg_restore=PG_RESTORE)

    restored = await entries(target.database.url)
    assert set(before) <= set(restored) <= set(after)
    assert all(restored[number] == path for number, path in before.items() if path)
    photos = [path for path in restored.values() if path]
    assert len(photos) >= 4
    for path in photos:
        assert (target.storage.path / path).is_file()
        assert (target.storage.path / path).read_bytes() == (
            settings.storage.path / path
        ).read_bytes()


@pytest.mark.postgres
async def test_without_pg_dump_the_photos_alone_come_back(
    postgres_database_url: str, tmp_path: Path
) -> None:
    await empty_postgres_database(postgres_database_url)
    async with running_stand(postgres_database_url, tmp_path / "live") as stand:
        await submit(stand, stand.emu.create_user("Léa"), 1)
        [entry] = await stand.stored()
        manifest = await asyncio.to_thread(backup, stand.settings, tmp_path / "photos.tar")
    assert manifest.database_member is None and manifest.counts["submissions"] == 1
    target = elsewhere(stand.settings, tmp_path / "restored", postgres_database_url)
    lines = await asyncio.to_thread(restore, target, tmp_path / "photos.tar", force=True)
    assert "holds no database" in lines[-1]
    assert entry.photo_path and (target.storage.path / entry.photo_path).is_file()


def test_the_archive_cannot_go_into_the_folder_it_archives(tmp_path: Path) -> None:
    settings = settings_from_dict(
        stand_config(
            api_url="http://127.0.0.1:1",
            db_url=f"sqlite+aiosqlite:///{tmp_path / 'db'}",
            data_dir=tmp_path,
            group_id=-100,
            moderators=[1],
        ),
        base_dir=tmp_path,
    )
    settings.storage.path.mkdir()
    with pytest.raises(BackupProblem, match="outside the storage folder"):
        backup(settings, settings.storage.path / "backup.tar")


async def test_a_second_lock_is_refused(tmp_path: Path) -> None:
    with running_lock(tmp_path / "photos"):
        with pytest.raises(AlreadyRunning, match="stop it first"):
            with running_lock(tmp_path / "photos"):
                pass
    with running_lock(tmp_path / "photos"):  # free again once released
        pass


async def test_restore_refused_while_running_then_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with Emulator(token=TOKEN, bot_username="fiers_bot") as emu:
        raw = process_config(emu, tmp_path)
        config = write_config(tmp_path / "config.toml", raw)
        bot = BotProcess(config)
        await bot.start()
        try:
            archive = tmp_path / "backup.tar"
            assert (
                await asyncio.to_thread(
                    main, ["backup", "--config", str(config), "--out", str(archive)]
                )
                == 0
            )
            assert stat.S_IMODE(archive.stat().st_mode) == 0o600
            restored = ["restore", str(archive), "--config", str(config), "--force"]
            assert await asyncio.to_thread(main, restored) == 2
            refusal = capsys.readouterr().err
            assert "is running" in refusal and str(bot.process and bot.process.pid) in refusal
            second = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--config", str(config),
                stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            _, error = await second.communicate()
            assert second.returncode == 2 and b"is running" in error
        finally:
            assert await bot.stop(signal.SIGTERM) == 0

    assert main(["restore", str(archive), "--config", str(config)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["restore", str(archive), "--config", str(config), "--force"]) == 0
    assert "restored sqlite database" in capsys.readouterr().out


def hostile_archive(path: Path, member: tarfile.TarInfo, data: bytes = b"x") -> Path:
    manifest = {
        "format": 1,
        "version": "0",
        "created_at": "2026-01-01T00:00:00+00:00",
        "database": "sqlite",
        "database_member": None,
        "schema_revision": None,
        "counts": {},
    }
    with tarfile.open(path, "w") as archive:
        text = json.dumps(manifest).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(text)
        archive.addfile(info, io.BytesIO(text))
        member.size = len(data) if member.isfile() else 0
        archive.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return path


def symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info


@pytest.mark.parametrize(
    "member",
    [
        tarfile.TarInfo("photos/../../evil.jpg"),
        tarfile.TarInfo("../evil.jpg"),
        tarfile.TarInfo("/tmp/evil.jpg"),
        symlink("photos/ab/link.jpg", "/etc/passwd"),
        symlink("photos/ab/up.jpg", "../../../evil.jpg"),
        tarfile.TarInfo("config.toml"),
    ],
    ids=["dotdot-inside", "dotdot", "absolute", "link-absolute", "link-up", "unknown"],
)
def test_a_hostile_archive_is_refused(tmp_path: Path, member: tarfile.TarInfo) -> None:
    archive = hostile_archive(tmp_path / "hostile.tar", member)
    raw = stand_config(
        api_url="http://127.0.0.1:1",
        db_url=f"sqlite+aiosqlite:///{tmp_path / 'target' / 'db'}",
        data_dir=tmp_path / "target",
        group_id=-100,
        moderators=[1],
    )
    settings = settings_from_dict(raw, base_dir=tmp_path)
    with pytest.raises(BackupProblem, match="refused"):
        restore(settings, archive, force=True)
    assert not (tmp_path / "evil.jpg").exists() and not (tmp_path / "target").exists()


# --------------------------------------------------------------------------- limits (issue 28)

JPEG = imagegen.photo_jpeg(640, 480, seed=3)
THUMBS = thumbnail(JPEG, THUMB_SIDE)
NAME = "ab" + "0123456789abcdef" * 2
PHOTO_NAME = f"photos/ab/{NAME[:32]}.jpg"
WEBP_NAME = f"photos/ab/{NAME[:32]}.t.webp"
THUMB_JPEG_NAME = f"photos/ab/{NAME[:32]}.t.jpg"


class Zeros(io.RawIOBase):
    """``size`` bytes: ``head`` then zeros, made as they are read (never held whole)."""

    def __init__(self, size: int, head: bytes = b"") -> None:
        self.left, self.head = size, head

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.left)
        view = memoryview(buffer)[:count]
        view[:] = bytes(count)
        if self.head:
            taken = self.head[:count]
            view[: len(taken)] = taken
            self.head = self.head[len(taken) :]
        self.left -= count
        return count


def sqlite_copy() -> bytes:
    """A database file as SQLite writes one."""
    with closing(sqlite3.connect(":memory:")) as connection:
        connection.execute("CREATE TABLE submissions (id INTEGER PRIMARY KEY)")
        connection.commit()
        return connection.serialize()


Content = bytes | Zeros


def a_backup(
    path: Path,
    members: list[tuple[str, Content]] | None = None,
    *,
    database: Content | None = None,
    manifest: dict[str, Any] | None = None,
    level: int | None = None,
) -> Path:
    """An archive as ``backup`` writes one (the SQLite copy, a photo and its thumbnails,
    the manifest), its members replaced by ``members`` when given; gzip at ``level``."""
    if members is None:
        members = [(PHOTO_NAME, JPEG), (WEBP_NAME, THUMBS.webp), (THUMB_JPEG_NAME, THUMBS.jpeg)]
    values = {
        "format": 1,
        "version": "0",
        "created_at": "2026-01-01T00:00:00+00:00",
        "database": "sqlite",
        "database_member": "database.sqlite3",
        "schema_revision": None,
        "counts": {"photos": 1},
        **(manifest or {}),
    }
    database_bytes = database if database is not None else sqlite_copy()
    entries = [("database.sqlite3", database_bytes), *members]
    entries.append((MANIFEST, json.dumps(values).encode()))
    mode = "w" if level is None else "w:gz"
    options = {} if level is None else {"compresslevel": level}
    with tarfile.open(path, mode, **options) as archive:  # type: ignore[call-overload]
        for name, content in entries:
            info = tarfile.TarInfo(name)
            if isinstance(content, Zeros):
                info.size = content.left
                archive.addfile(info, content)
            else:
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return path


def target_settings(folder: Path) -> Settings:
    raw = stand_config(
        api_url="http://127.0.0.1:1",
        db_url=f"sqlite+aiosqlite:///{folder / 'data' / 'db.sqlite3'}",
        data_dir=folder,
        group_id=-100,
        moderators=[1],
    )
    return settings_from_dict(raw, base_dir=folder)


def test_the_archive_as_backup_writes_it_is_restored(tmp_path: Path) -> None:
    """The base of the refusals below: accepted as it is."""
    settings = target_settings(tmp_path / "target")
    restore(settings, a_backup(tmp_path / "good.tar"), force=False)
    assert (settings.storage.path / PHOTO_NAME.removeprefix("photos/")).read_bytes() == JPEG


@pytest.mark.parametrize(
    ("members", "database", "refusal"),
    [
        (
            [(PHOTO_NAME, Zeros(300_000_000, b"\xff\xd8\xff"))],
            None,
            r"over 20 times its 1\.\d MB on disk",
        ),
        ([], Zeros(300_000_000, b"SQLite format 3\0"), r"over 20 times its 1\.\d MB on disk"),
    ],
    ids=["photo", "database"],
)
def test_a_small_gzip_declaring_300_mb_is_refused_before_anything_is_written(
    tmp_path: Path, members: list[tuple[str, Content]], database: Content | None, refusal: str
) -> None:
    """The probe of issue 28: 1.37 MB of gzip unpacking to 300 MB of zeros."""
    archive = a_backup(tmp_path / "bomb.tar.gz", members, database=database, level=1)
    assert archive.stat().st_size < 2_000_000
    settings = target_settings(tmp_path / "target")
    started = time.monotonic()
    with pytest.raises(BackupProblem, match=refusal) as refused:
        restore(settings, archive, force=True)
    assert time.monotonic() - started < 2  # refused at its header, never decompressed
    assert "\n" not in str(refused.value) and "takes the archive to 300.0 MB" in str(refused.value)
    assert not (tmp_path / "target").exists()


@pytest.mark.parametrize(
    ("member", "refusal"),
    [
        ((PHOTO_NAME, Zeros(32_000_001, b"\xff\xd8\xff")), "over the 32.0 MB allowed for a photo"),
        ((WEBP_NAME, Zeros(2_000_001, b"RIFF\0\0\0\0WEBP")), "2.0 MB allowed for a WebP thumb"),
        ((THUMB_JPEG_NAME, Zeros(2_000_001, b"\xff\xd8\xff")), "allowed for a JPEG thumbnail"),
        ((MANIFEST, b"{" + b" " * 64_000 + b"}"), "64.0 kB allowed for the manifest"),
    ],
    ids=["photo", "webp-thumbnail", "jpeg-thumbnail", "manifest"],
)
def test_a_member_over_its_limit_is_refused(
    tmp_path: Path, member: tuple[str, Content], refusal: str
) -> None:
    archive = a_backup(tmp_path / "big.tar", [member])
    with pytest.raises(BackupProblem, match=f"member {member[0]!r} is .* {refusal}"):
        restore(target_settings(tmp_path / "target"), archive, force=True)
    assert not (tmp_path / "target").exists()


def test_a_member_named_like_the_lock_is_refused_and_the_lock_kept(tmp_path: Path) -> None:
    settings = target_settings(tmp_path / "target")
    restore(settings, a_backup(tmp_path / "good.tar"), force=False)
    lock = settings.storage.path / LOCK_NAME
    before = lock.stat(), lock.read_bytes()
    stored = sorted(settings.storage.path.rglob("*"))
    archive = a_backup(tmp_path / "lock.tar", [(f"photos/{LOCK_NAME}", b"1\n"), (PHOTO_NAME, JPEG)])
    with pytest.raises(BackupProblem, match=r"'photos/\.selfie-bot\.lock' is not a file a backup"):
        restore(settings, archive, force=True)
    assert (lock.stat().st_ino, lock.stat().st_mtime_ns, lock.read_bytes()) == (
        before[0].st_ino,
        before[0].st_mtime_ns,
        before[1],
    )
    assert sorted(settings.storage.path.rglob("*")) == stored
    with running_lock(settings.storage.path):  # a lock still, and free
        pass


@pytest.mark.parametrize(
    ("members", "refusal"),
    [
        ([(f"photos/cd/{NAME}.jpg", JPEG)], "not a file a backup writes"),  # not its folder
        ([(f"photos/ab/{NAME.upper()}.jpg", JPEG)], "not a file a backup writes"),
        ([(f"photos/ab/{NAME}.png", JPEG)], "not a file a backup writes"),
        ([(f"photos/ab/{NAME}.jpg.tmp", JPEG)], "not a file a backup writes"),
        ([(f"photos/ab/{NAME[:31]}.jpg", JPEG)], "not a file a backup writes"),
        ([(f"photos/{NAME}.jpg", JPEG)], "not a file a backup writes"),  # no folder
        ([(f"photos/ab/cd/{NAME}.jpg", JPEG)], "not a file a backup writes"),  # deeper
        ([("photos/ab/.hidden", b"x")], "not a file a backup writes"),
        ([("photos/ab/../ab/x.jpg", JPEG)], "not a file a backup writes"),
        ([("photos/xyz", b"")], "not a file a backup writes"),
        ([(PHOTO_NAME, JPEG), (PHOTO_NAME, JPEG)], "appears twice"),
        ([(PHOTO_NAME, b"GIF89a" + JPEG)], "is not a photo \\(JPEG\\)"),
        ([(PHOTO_NAME, b"")], "is not a photo \\(JPEG\\)"),
        ([(WEBP_NAME, THUMBS.jpeg)], "is not a WebP thumbnail"),
        ([(THUMB_JPEG_NAME, THUMBS.webp)], "is not a JPEG thumbnail"),
        ([("database.pgdump", b"PGDMP")], "the manifest names the database member"),
    ],
    ids=[
        "wrong-folder",
        "uppercase",
        "png",
        "temporary",
        "short-name",
        "no-folder",
        "deeper",
        "dotfile",
        "dotdot",
        "folder-as-file",
        "twice",
        "gif-as-jpeg",
        "empty",
        "jpeg-as-webp",
        "webp-as-jpeg",
        "second-database",
    ],
)
def test_a_member_no_backup_writes_is_refused(
    tmp_path: Path, members: list[tuple[str, Content]], refusal: str
) -> None:
    archive = a_backup(tmp_path / "odd.tar", members)
    with pytest.raises(BackupProblem, match=refusal):
        restore(target_settings(tmp_path / "target"), archive, force=True)
    assert not (tmp_path / "target").exists()


@pytest.mark.parametrize(
    ("database", "manifest", "refusal"),
    [
        (b"PGDMP" + bytes(100), None, "'database.sqlite3' is not a SQLite database"),
        (None, {"database_member": None}, "no valid manifest.json"),
        (None, {"counts": {"photos": "many"}}, "no valid manifest.json"),
        (None, {"version": "1\n2"}, "no valid manifest.json"),
    ],
    ids=["not-sqlite", "sqlite-without-its-member", "counts", "control-characters"],
)
def test_a_wrong_database_or_manifest_is_refused(
    tmp_path: Path, database: bytes | None, manifest: dict[str, Any] | None, refusal: str
) -> None:
    archive = a_backup(tmp_path / "odd.tar", database=database, manifest=manifest)
    with pytest.raises(BackupProblem, match=refusal):
        restore(target_settings(tmp_path / "target"), archive, force=True)
    assert not (tmp_path / "target").exists()


def test_an_oversized_tar_extension_header_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "pax.tar"
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(PHOTO_NAME)
        info.size = len(JPEG)
        info.pax_headers = {"comment": "x" * 100_000}
        tar.addfile(info, io.BytesIO(JPEG))
    with pytest.raises(
        BackupProblem, match=r"tar extension header of 100\.0 kB, over the 64\.0 kB"
    ):
        restore(target_settings(tmp_path / "target"), archive, force=True)
    assert not (tmp_path / "target").exists()


def test_a_cut_archive_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    whole = a_backup(tmp_path / "whole.tar", level=6).read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    with pytest.raises(BackupProblem, match="cannot read the archive"):
        restore(target_settings(tmp_path / "target"), cut, force=True)
    assert not (tmp_path / "target").exists()


def test_a_member_writes_no_more_than_its_header_says(tmp_path: Path) -> None:
    """tarfile reads a member up to its header's size and no further (its _FileInFile):
    bytes hidden in the block padding after the photo are never written."""
    archive = a_backup(tmp_path / "padded.tar")
    with tarfile.open(archive) as tar:
        photo = tar.getmember(PHOTO_NAME)
    data = bytearray(archive.read_bytes())
    end = photo.offset_data + photo.size
    padding = -photo.size % tarfile.BLOCKSIZE
    assert padding > 0 and data[end : end + padding] == bytes(padding)
    data[end : end + padding] = b"\xff" * padding
    archive.write_bytes(bytes(data))
    settings = target_settings(tmp_path / "target")
    restore(settings, archive, force=True)
    assert (settings.storage.path / PHOTO_NAME.removeprefix("photos/")).read_bytes() == JPEG


def test_backup_leaves_out_what_restore_would_refuse(tmp_path: Path) -> None:
    live = target_settings(tmp_path / "live")
    store = PhotoStore(live.storage.path)
    relative = store.save(JPEG, THUMBS)
    (live.storage.path / "notes.txt").write_text("not a photo")
    (live.storage.path / "ab").mkdir(exist_ok=True)
    (live.storage.path / "ab" / ("ab" * 16 + ".jpg")).write_bytes(b"not a JPEG")
    database = sqlite_path(live.database.url)
    assert database is not None
    database.parent.mkdir(parents=True)
    database.write_bytes(sqlite_copy())
    manifest = backup(live, tmp_path / "backup.tar.gz")
    assert manifest.counts["photos"] == 1 and manifest.counts[SKIPPED] == 2
    target = target_settings(tmp_path / "target")
    restore(target, tmp_path / "backup.tar.gz", force=False)
    restored = sorted(
        p.relative_to(target.storage.path).as_posix() for p in target.storage.path.rglob("*.*")
    )
    assert restored == sorted([LOCK_NAME, relative, *thumbnail_names(relative)])


def test_restored_files_are_the_bots_alone_whatever_the_umask(tmp_path: Path) -> None:
    """The restore command as the operator runs it, under umask 022: photos, thumbnails and
    the database 0600, the folders it makes 0700."""
    live = target_settings(tmp_path / "live")
    relative = PhotoStore(live.storage.path).save(JPEG, THUMBS)
    database = sqlite_path(live.database.url)
    assert database is not None
    database.parent.mkdir(parents=True)
    database.write_bytes(sqlite_copy())
    archive = tmp_path / "backup.tar.gz"
    backup(live, archive)
    target = tmp_path / "target"
    target.mkdir()
    config = write_config(
        target / "config.toml",
        stand_config(
            api_url="http://127.0.0.1:1",
            db_url=f"sqlite+aiosqlite:///{target / 'data' / 'db.sqlite3'}",
            data_dir=target,
            group_id=-100,
            moderators=[1],
        ),
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "restore", str(archive), "--config", str(config)],
        preexec_fn=lambda: os.umask(0o022),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "restored sqlite database" in result.stdout

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    storage = target / "photos"
    files = [relative, *thumbnail_names(relative)]
    assert {name: mode(storage / name) for name in files} == dict.fromkeys(files, 0o600)
    assert mode(storage) == mode(storage / relative[:2]) == 0o700
    # The database's folder is made as the umask says (it may hold the public site too).
    assert mode(target / "data" / "db.sqlite3") == 0o600
    assert (storage / relative).read_bytes() == JPEG


def test_the_free_space_is_checked_with_a_margin() -> None:
    """The composition passes statvfs's free bytes; the refusal itself, given them."""
    assert room_problem(100_000_000, 200_000_000, Path("/srv")) is None
    assert room_problem(100_000_000, 120_000_000, Path("/srv")) == (
        "restore: refused, the archive needs 100.0 MB in /srv and a margin of 32.0 MB, and "
        "120.0 MB is free there"
    )
    assert room_problem(1_000_000_000, 1_090_000_000, Path("/srv")) is not None  # a tenth
    assert room_problem(1_000_000_000, 1_100_000_000, Path("/srv")) is None


def test_an_archive_bigger_than_the_free_space_is_refused(tmp_path: Path) -> None:
    """The real statvfs: an exabyte is more than any test machine has free."""
    manifest = Manifest(1, "0", "2026-01-01T00:00:00+00:00", "sqlite", None, None, {})
    huge = Contents([], manifest, storage_bytes=10**18, database_bytes=0)
    with pytest.raises(BackupProblem, match=f"needs 1000000000000.0 MB in {tmp_path}"):
        check_room(huge, tmp_path / "target" / "photos", tmp_path / "target" / "db.sqlite3")
    check_room(Contents([], manifest, 4096, 4096), tmp_path / "photos", tmp_path / "db")
