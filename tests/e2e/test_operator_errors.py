"""What the operator sees when the database is not usable: one line naming ``database.url``
and the fix, exit status 2, from the real command; and ``check-config --connect``."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import make_url

from models.db import DatabaseProblem, check_database, version_problem
from tests.support.cli import ROOT, run_cli

TOKEN = {"SELFIE_BOT_TOKEN": "123456:ABC-def_ghi"}
# The real command, in a Python where asyncpg cannot be imported (as without the extra).
WITHOUT_ASYNCPG = (
    "import sys; sys.modules['asyncpg'] = None; from bot.app.cli import main; sys.exit(main())"
)


def config(tmp_path: Path, url: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(
        '[campaign]\nchannel = "@fiersdetreapprentis"\n'
        "[moderation]\nchat_id = -1001\nmoderators = [42]\n"
        f'[database]\nurl = "{url}"\n',
        encoding="utf-8",
    )
    return str(path)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("command", [["run"], ["check-config", "--connect"], ["db", "current"]])
def test_unreachable_postgresql_is_one_line(tmp_path: Path, command: list[str]) -> None:
    url = f"postgresql+asyncpg://selfie:s3cret@127.0.0.1:{closed_port()}/selfie"
    done = run_cli(*command, "--config", config(tmp_path, url), env=TOKEN)
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("database.url: cannot connect to 127.0.0.1:")
    assert "connection refused" in line and "server is running" in line
    assert "s3cret" not in done.stderr + done.stdout
    assert done.stdout == ""


@pytest.mark.parametrize("command", [["run"], ["check-config"]])
def test_missing_asyncpg_is_one_line(tmp_path: Path, command: list[str]) -> None:
    path = config(tmp_path, "postgresql+asyncpg://selfie@127.0.0.1/selfie")
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_ASYNCPG, *command, "--config", path],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **TOKEN},
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "database.url: its driver, asyncpg, is not installed: pip install "
        "'selfie-bot[postgres]' (from a clone: pip install '.[postgres]')"
    ]


def test_unsupported_driver_is_one_line(tmp_path: Path) -> None:
    done = run_cli("run", "--config", config(tmp_path, "postgresql+psycopg://x@h/db"), env=TOKEN)
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("database.url: use sqlite+aiosqlite:///PATH or postgresql+asyncpg://")


def test_version_gate() -> None:
    assert version_problem("postgresql", (13, 15)) == (
        "PostgreSQL 13.15 is too old: selfie-bot needs PostgreSQL 14 or newer; upgrade the "
        "server or point database.url at a newer one"
    )
    assert version_problem("postgresql", (14, 0)) is None
    assert version_problem("postgresql", (17, 2)) is None
    assert version_problem("sqlite", (3, 34, 1)) is not None
    assert version_problem("sqlite", (3, 35, 0)) is None


@pytest.mark.postgres
async def test_check_database_on_the_real_server(postgres_database_url: str) -> None:
    answer = await check_database(postgres_database_url)
    assert answer.startswith("PostgreSQL ")
    major = int(answer.removeprefix("PostgreSQL ").split(".")[0])
    assert major >= 14
    unknown = make_url(postgres_database_url).set(database="no_such_database")
    with pytest.raises(
        DatabaseProblem, match=r"database\.url: cannot connect to .*/no_such_database \("
    ):
        await check_database(unknown)


@pytest.mark.postgres
def test_check_config_connect_names_the_server(tmp_path: Path, postgres_database_url: str) -> None:
    done = run_cli(
        "check-config", "--connect", "--config", config(tmp_path, postgres_database_url), env=TOKEN
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok (database: PostgreSQL ")


def test_check_config_connect_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'bot.sqlite3'}"
    done = run_cli("check-config", "--connect", "--config", config(tmp_path, url), env=TOKEN)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok (database: SQLite 3.")
