"""Migrations: empty → head → base → head, and the migrated schema equals the models."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from models.base import import_all_models
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


async def test_upgrade_downgrade_upgrade(db_url: str) -> None:
    engine = make_engine(db_url)
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


async def test_upgrade_is_idempotent_and_accepts_a_url(db_url: str) -> None:
    await upgrade(db_url)
    await upgrade(db_url)
    assert await current_revision(db_url) == HEAD


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


async def test_alembic_commands_work_without_a_given_connection(db_url: str) -> None:
    """The env.py path that opens its own async engine (``alembic.command`` + URL)."""
    config = alembic_config(db_url)
    # env.py runs its own event loop there, so call it from a thread, as a CLI would be.
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await current_revision(db_url) == HEAD


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
