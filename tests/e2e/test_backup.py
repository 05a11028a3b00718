"""``selfie-bot backup`` while apprentices submit entries, and ``restore`` on a stopped bot:
every entry of the copy comes back with its photo; hostile archives and a running bot are
refused."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import signal
import stat
import sys
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app.cli import main
from bot.config import DatabaseSettings, Settings, StorageSettings, settings_from_dict
from bot.files import AlreadyRunning, running_lock
from bot.ops.backup import MANIFEST, BackupProblem, backup, head_revision, restore
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
