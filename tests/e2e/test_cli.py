"""The command line as an operator types it, in a subprocess: ``check-config``, ``run``
without a token, ``--help``, the ``db`` commands."""

from __future__ import annotations

from pathlib import Path

from bot.config import WEBHOOK_SECRET_ENV
from tests.support import ROOT
from tests.support.cli import run_cli

EXAMPLE = ROOT / "config.example.toml"


def test_check_config_command(tmp_path: Path) -> None:
    good = run_cli("check-config", "--config", str(EXAMPLE), env={"SELFIE_BOT_TOKEN": "1:abc"})
    assert (good.returncode, good.stdout) == (0, "ok\n")

    typo = tmp_path / "typo.toml"
    typo.write_text(EXAMPLE.read_text(encoding="utf-8").replace("\ncron =", "\ncrom ="))
    bad = run_cli("check-config", "--config", str(typo), env={"SELFIE_BOT_TOKEN": "1:abc"})
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == ["schedule.crom: unknown key; did you mean 'cron'?"]

    no_token = run_cli("check-config", "--config", str(EXAMPLE))
    assert no_token.returncode == 2
    assert no_token.stderr.startswith("telegram.token: empty")


def test_run_without_token_explains_botfather(tmp_path: Path) -> None:
    result = run_cli("run", "--config", str(EXAMPLE))
    assert result.returncode == 2
    assert "@BotFather" in result.stderr and "SELFIE_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_texts() -> None:
    top = run_cli("--help")
    assert top.returncode == 0
    for command in ("run", "check-config", "db"):
        assert command in top.stdout
    run = run_cli("run", "--help")
    assert run.returncode == 0 and "--config" in run.stdout


def test_db_commands_create_upgrade_and_downgrade(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace(
            "sqlite+aiosqlite:///data/selfie-bot.sqlite3", "sqlite+aiosqlite:///db/nested/x.db"
        ),
        encoding="utf-8",
    )
    current = run_cli("db", "current", "--config", str(config))
    assert (current.returncode, current.stdout) == (0, "empty database\n")
    upgraded = run_cli("db", "upgrade", "--config", str(config))
    assert upgraded.returncode == 0, upgraded.stderr
    head = upgraded.stdout.strip()
    assert head and (tmp_path / "db" / "nested" / "x.db").is_file()
    down = run_cli("db", "downgrade", "base", "--config", str(config))
    assert (down.returncode, down.stdout) == (0, "empty database\n")
    again = run_cli("db", "upgrade", "--config", str(config))
    assert again.stdout.strip() == head


def test_check_config_covers_webhook_mode(tmp_path: Path) -> None:
    webhook = tmp_path / "webhook.toml"
    webhook.write_text(
        EXAMPLE.read_text(encoding="utf-8")
        .replace('mode = "polling"', 'mode = "webhook"')
        .replace('webhook_url = ""', 'webhook_url = "https://bot.example.org/telegram"')
    )
    env = {"SELFIE_BOT_TOKEN": "1:abc"}
    missing = run_cli("check-config", "--config", str(webhook), env=env)
    assert missing.returncode == 2
    assert missing.stderr.startswith("telegram: secret_token: required")
    secret = "0123456789abcdef_from-env"
    good = run_cli(
        "check-config", "--config", str(webhook), env={**env, WEBHOOK_SECRET_ENV: secret}
    )
    assert (good.returncode, good.stdout) == (0, "ok\n")
    assert secret not in good.stdout + good.stderr
