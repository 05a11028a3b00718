"""Migrations: empty → head → base → head, and the migrated schema equals the models."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, bindparam, inspect, make_url, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from models.base import UTCDateTime, import_all_models
from models.db import (
    alembic_config,
    current_revision,
    dialect_name,
    downgrade,
    make_engine,
    upgrade,
)

METADATA = import_all_models()
APP_TABLES = set(METADATA.tables)
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


def _schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, METADATA)


def test_all_tables_are_known() -> None:
    assert {"apprentices", "submissions", "moderation_audit", "settings"} <= APP_TABLES


async def test_upgrade_downgrade_upgrade(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        assert await current_revision(engine) is None
        assert await _tables(engine) == set()

        await upgrade(engine)
        assert await current_revision(engine) == HEAD
        assert await _tables(engine) == APP_TABLES | {"alembic_version"}

        await downgrade(engine, "base")
        assert await current_revision(engine) is None
        assert await _tables(engine) == set()

        await upgrade(engine, "head")
        assert await current_revision(engine) == HEAD
        assert await _tables(engine) == APP_TABLES | {"alembic_version"}
    finally:
        await engine.dispose()


async def test_upgrade_is_idempotent_and_accepts_a_url(empty_db_url: str) -> None:
    await upgrade(empty_db_url)
    await upgrade(empty_db_url)
    assert await current_revision(empty_db_url) == HEAD


async def test_migrated_schema_matches_models(engine: AsyncEngine) -> None:
    """Types, nullability, indexes, foreign keys: migration and models say the same."""
    async with engine.connect() as connection:
        differences = await connection.run_sync(_schema_differences)
    assert differences == []


async def test_comparison_does_detect_a_drift(engine: AsyncEngine) -> None:
    """Guard for the test above: a real difference must show up."""
    async with engine.begin() as connection:
        await connection.exec_driver_sql("DROP INDEX ix_submissions_dhash")
    async with engine.connect() as connection:
        differences = await connection.run_sync(_schema_differences)
    assert [d[0] for d in differences] == ["add_index"]


async def test_alembic_commands_work_without_a_given_connection(empty_db_url: str) -> None:
    """The env.py path that opens its own async engine (``alembic.command`` + URL)."""
    config = alembic_config(empty_db_url)
    # env.py runs its own event loop there, so call it from a thread, as a CLI would be.
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await current_revision(empty_db_url) == HEAD


def test_offline_sql_generation() -> None:
    buffer = io.StringIO()
    config = alembic_config("postgresql+asyncpg://nobody@localhost/none")
    config.output_buffer = buffer
    command.upgrade(config, "head", sql=True)
    sql = buffer.getvalue()
    assert "CREATE TABLE submissions" in sql
    assert "ck_submissions_status" in sql


def test_dialect_name() -> None:
    assert dialect_name("sqlite+aiosqlite:///data/x.sqlite3") == "sqlite"
    assert dialect_name("postgresql+asyncpg://u@h/db") == "postgresql"
    assert dialect_name(make_url("sqlite+aiosqlite://")) == "sqlite"


async def test_sqlite_file_and_parent_folders_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "selfie-bot.sqlite3"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        assert path.parent.is_dir()
        await upgrade(engine)
        assert path.is_file()
    finally:
        await engine.dispose()


async def test_sqlite_relative_path_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    await upgrade("sqlite+aiosqlite:///data/selfie-bot.sqlite3")
    assert (tmp_path / "data" / "selfie-bot.sqlite3").is_file()


async def test_sqlite_pragmas_hold_after_migrating(tmp_path: Path) -> None:
    """env.py switches foreign keys off to migrate; pooled connections must get them back."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}", pool_size=1)
    try:
        await upgrade(engine)
        async with engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert (await pragma("PRAGMA journal_mode")).scalar() == "wal"
            assert (await pragma("PRAGMA busy_timeout")).scalar() == 5000
            assert (await pragma("PRAGMA foreign_keys")).scalar() == 1
    finally:
        await engine.dispose()


def _submissions_schema(connection: Connection) -> dict[str, Any]:
    """What 0003 touches: columns, indexes and constraints of ``submissions``."""
    inspector = inspect(connection)
    return {
        "columns": sorted(c["name"] for c in inspector.get_columns("submissions")),
        "indexes": sorted(
            (i["name"], tuple(i["column_names"])) for i in inspector.get_indexes("submissions")
        ),
        "checks": sorted(c["name"] for c in inspector.get_check_constraints("submissions")),
        "foreign_keys": sorted(f["name"] for f in inspector.get_foreign_keys("submissions")),
    }


async def test_0003_downgrade_gives_back_the_0002_schema(engine: AsyncEngine) -> None:
    """Batch mode re-creates the table on SQLite: nothing else may be lost on the way."""
    await downgrade(engine, "base")
    await upgrade(engine, "0002")
    async with engine.connect() as connection:
        before = await connection.run_sync(_submissions_schema)
    await upgrade(engine)
    await downgrade(engine, "0002")
    async with engine.connect() as connection:
        after = await connection.run_sync(_submissions_schema)
    assert after == before
    assert "decision_seconds" not in after["columns"]
    assert len(after["checks"]) == 3


async def test_0003_back_fills_decision_seconds(engine: AsyncEngine) -> None:
    await downgrade(engine, "base")
    await upgrade(engine, "0002")
    submitted = datetime(2026, 11, 20, 8, 30, 15, 250_000, tzinfo=UTC)
    rows = {
        1: (submitted, submitted + timedelta(hours=2, seconds=90.5), "refused"),
        2: (submitted, submitted + timedelta(days=3), "published"),
        3: (submitted, None, "pending"),
        4: (None, None, "draft"),
    }
    timestamp = UTCDateTime()
    insert = text(
        "INSERT INTO submissions (id, apprentice_id, status, trade, centre_name, language,"
        " age_band, consent_at, created_at, updated_at, submitted_at, decided_at)"
        " VALUES (:id, 1, :status, 'boulanger', 'CFA', 'fr', 'adult', :at, :at, :at,"
        " :submitted, :decided)"
    ).bindparams(
        bindparam("at", type_=timestamp),
        bindparam("submitted", type_=timestamp),
        bindparam("decided", type_=timestamp),
    )
    async with engine.begin() as connection:
        await connection.exec_driver_sql(
            "INSERT INTO apprentices (id, first_name, language, created_at, updated_at)"
            " VALUES (1, 'Léa', 'fr', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )
        for id_, (submitted_at, decided_at, status) in rows.items():
            await connection.execute(
                insert,
                {
                    "id": id_,
                    "status": status,
                    "at": submitted,
                    "submitted": submitted_at,
                    "decided": decided_at,
                },
            )
    await upgrade(engine)
    async with engine.connect() as connection:
        result = await connection.execute(
            text("SELECT id, decision_seconds FROM submissions ORDER BY id")
        )
        seconds = {id_: value for id_, value in result}
    assert seconds[1] == pytest.approx(2 * 3600 + 90.5, abs=0.002)
    assert seconds[2] == pytest.approx(3 * 86400, abs=0.002)
    assert seconds[3] is None and seconds[4] is None


def _column_names(connection: Connection) -> dict[str, set[str]]:
    inspector = inspect(connection)
    return {
        table: {column["name"] for column in inspector.get_columns(table)}
        for table in ("apprentices", "submissions")
    }


async def test_0005_maps_withdrawn_entries_to_refused_and_back(engine: AsyncEngine) -> None:
    """The removed status: its rows become refused (reason "withdrawn"), the CHECK refuses
    it from then on, the other rows are untouched, and the downgrade gives back 0004."""
    await downgrade(engine, "base")
    await upgrade(engine, "0004")
    async with engine.connect() as connection:
        schema_0004 = await connection.run_sync(_submissions_schema)
    at = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    insert = text(
        "INSERT INTO submissions (id, apprentice_id, status, trade, centre_name, language,"
        " age_band, consent_at, created_at, updated_at, approved_at, withdrawn_at)"
        " VALUES (:id, 1, :status, 'boulanger', 'CFA', 'fr', 'adult', :at, :at, :at, :at, :at)"
    ).bindparams(bindparam("at", type_=UTCDateTime()))
    async with engine.begin() as connection:
        await connection.exec_driver_sql(
            "INSERT INTO apprentices (id, first_name, language, created_at, updated_at,"
            " ban_reason) VALUES (1, 'Léa', 'fr', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'x')"
        )
        for id_, status in enumerate(("withdrawn", "approved", "published"), start=1):
            await connection.execute(insert, {"id": id_, "status": status, "at": at})

    await upgrade(engine, "0005")
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT id, status, refusal_reason, approved_at FROM submissions ORDER BY id")
        )
        statuses = [(*row[:3], row[3] is None) for row in rows]
        columns = await connection.run_sync(_column_names)
    assert statuses == [
        (1, "refused", "withdrawn", True),
        (2, "approved", None, False),
        (3, "published", None, False),
    ]
    assert "ban_reason" not in columns["apprentices"]
    assert "withdrawn_at" not in columns["submissions"]
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.exec_driver_sql("UPDATE submissions SET status = 'withdrawn'")

    await downgrade(engine, "0004")
    async with engine.connect() as connection:
        assert await connection.run_sync(_submissions_schema) == schema_0004
    async with engine.begin() as connection:
        await connection.exec_driver_sql("UPDATE submissions SET status = 'withdrawn' WHERE id = 2")


async def test_0006_keeps_entries_and_never_reuses_a_number(engine: AsyncEngine) -> None:
    """SQLite rebuilds ``submissions`` with AUTOINCREMENT: rows, indexes and CHECKs stay,
    and the number of the last entry, once deleted, is not given again (PostgreSQL's
    sequences never did). The downgrade gives back 0005's schema."""
    await downgrade(engine, "base")
    await upgrade(engine, "0005")
    async with engine.connect() as connection:
        schema_0005 = await connection.run_sync(_submissions_schema)
    at = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    insert = text(
        "INSERT INTO submissions (apprentice_id, status, trade, centre_name, language,"
        " age_band, consent_at, created_at, updated_at)"
        " VALUES (1, 'pending', 'boulanger', 'CFA', 'fr', 'adult', :at, :at, :at)"
    ).bindparams(bindparam("at", type_=UTCDateTime()))
    async with engine.begin() as connection:
        await connection.exec_driver_sql(
            "INSERT INTO apprentices (id, first_name, language, created_at, updated_at)"
            " VALUES (1, 'Léa', 'fr', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )
        for _ in range(2):
            await connection.execute(insert, {"at": at})

    await upgrade(engine, "0006")
    async with engine.begin() as connection:
        rows = await connection.execute(
            text("SELECT id, status, consent_version, purged_at FROM submissions ORDER BY id")
        )
        assert [tuple(row) for row in rows] == [
            (1, "pending", None, None),
            (2, "pending", None, None),
        ]
        await connection.exec_driver_sql("DELETE FROM submissions WHERE id = 2")
        await connection.execute(insert, {"at": at})
        assert await connection.scalar(text("SELECT max(id) FROM submissions")) == 3
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.exec_driver_sql("UPDATE submissions SET status = 'withdrawn'")

    await downgrade(engine, "0005")
    async with engine.connect() as connection:
        assert await connection.run_sync(_submissions_schema) == schema_0005
