"""Configuration loading and validation: every problem is reported by its key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.config import (
    WEBHOOK_SECRET_ENV,
    ConfigError,
    Settings,
    load_settings,
    settings_from_dict,
)
from tests.support import ROOT

EXAMPLE = ROOT / "config.example.toml"


def minimal() -> dict:
    return {
        "telegram": {"token": "123456:ABC-def_ghi"},
        "campaign": {"channel": "@fiersdetreapprentis"},
        "moderation": {"chat_id": -1001, "moderators": [42]},
    }


def problems_of(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        settings_from_dict(raw, base_dir=Path("/srv/bot"))
    return caught.value.problems


def test_example_documents_every_key_and_validates(tmp_path: Path) -> None:
    settings = load_settings(EXAMPLE, environ={"SELFIE_BOT_TOKEN": "1:x"})
    assert settings.campaign.centres and settings.campaign.trades
    text = EXAMPLE.read_text(encoding="utf-8")
    # Every key of every section (and of the sections within) is documented there, so new
    # keys cannot go unexplained.
    sections = [(name, field.annotation) for name, field in Settings.model_fields.items()]
    while sections:
        section, model = sections.pop()
        assert f"[{section}]" in text, section
        assert isinstance(model, type) and issubclass(model, BaseModel)
        for key, field in model.model_fields.items():
            inner = field.annotation
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                sections.append((f"{section}.{key}", inner))
                continue
            assert f"{key} =" in text or f"[[{section}.{key}]]" in text, f"{section}.{key}"


def test_unknown_key_is_named_with_a_suggestion() -> None:
    raw = minimal()
    raw["campaign"]["chanel"] = "@typo"
    assert problems_of(raw) == ["campaign.chanel: unknown key; did you mean 'channel'?"]


def test_unknown_section_and_nested_key() -> None:
    raw = minimal()
    raw["databse"] = {"url": "sqlite+aiosqlite:///x.db"}
    raw["campaign"]["centres"] = [{"code": "cfa", "nom": "CFA"}]
    problems = problems_of(raw)
    assert "databse: unknown key; did you mean 'database'?" in problems
    assert "campaign.centres.0.nom: unknown key" in problems
    assert "campaign.centres.0.name: missing (required)" in problems


def test_every_problem_reported_at_once() -> None:
    raw = minimal()
    raw["moderation"] = {"chat_id": "abc", "moderators": []}
    raw["schedule"] = {"cron": "every day", "timezone": "Europe/Dijon"}
    raw["database"] = {"url": "mysql://x"}
    problems = problems_of(raw)
    keys = [problem.split(":")[0] for problem in problems]
    assert keys == [
        "moderation.chat_id",
        "moderation.moderators",
        "schedule.timezone",
        "schedule.cron",
        "database.url",
    ]


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("telegram", "token", "not a token"),
        ("telegram", "api_url", "ftp://x"),
        ("campaign", "channel", "fiers"),
        ("campaign", "offers_url", "www.example.org"),
        ("campaign", "hashtags", ["no-hash"]),
        ("campaign", "centres", [{"code": "cfa dijon!", "name": "CFA"}]),
        ("campaign", "centres", [{"code": "a", "name": "CFA A"}, {"code": "a", "name": "CFA B"}]),
    ],
)
def test_bad_values_are_refused(section: str, key: str, value: object) -> None:
    raw = minimal()
    raw[section][key] = value
    problems = problems_of(raw)
    assert problems and all(p.startswith(f"{section}.{key}") for p in problems), problems


def test_environment_token_wins_over_the_file() -> None:
    settings = settings_from_dict(
        minimal(), base_dir=Path("/srv"), environ={"SELFIE_BOT_TOKEN": "999:from-env"}
    )
    assert settings.token == "999:from-env"
    assert settings_from_dict(minimal(), base_dir=Path("/srv")).token == "123456:ABC-def_ghi"


def test_relative_paths_follow_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "bot.toml"
    path.parent.mkdir()
    raw = minimal()
    raw["database"] = {"url": "sqlite+aiosqlite:///data/bot.sqlite3"}
    raw["storage"] = {"path": "photos"}
    path.write_text(_toml(raw), encoding="utf-8")
    settings = load_settings(path, environ={})
    assert settings.database.url == f"sqlite+aiosqlite:///{tmp_path}/conf/data/bot.sqlite3"
    assert settings.storage.path == tmp_path / "conf" / "photos"


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.toml", environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[telegram\ntoken=", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken, environ={})


def _toml(raw: dict) -> str:
    """A tiny TOML writer for the flat tables these tests use."""
    lines = []
    for section, values in raw.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            rendered = f'"{value}"' if isinstance(value, str) else repr(value)
            lines.append(f"{key} = {rendered}")
    text = "\n".join(lines) + "\n"
    assert tomllib.loads(text) == raw
    return text


def test_webhook_mode_needs_an_https_url_and_a_secret() -> None:
    raw = minimal()
    raw["telegram"]["mode"] = "webhook"
    assert [p.split(":")[:2] for p in problems_of(raw)] == [["telegram", " webhook_url"]]
    raw["telegram"]["webhook_url"] = "https://bot.example.org/telegram"
    [problem] = problems_of(raw)
    assert problem.startswith("telegram: secret_token: required") and WEBHOOK_SECRET_ENV in problem
    raw["telegram"]["webhook_url"] = "http://bot.example.org/telegram"
    raw["telegram"]["secret_token"] = "not a secret!"
    assert [p.split(":")[0] for p in problems_of(raw)] == [
        "telegram.webhook_url",
        "telegram.secret_token",
    ]
    raw["telegram"]["webhook_url"] = "https://bot.example.org:9443/telegram"
    raw["telegram"]["secret_token"] = "s3cret"
    assert "ports 443, 80, 88, 8443" in problems_of(raw)[0]


def test_webhook_secret_from_the_environment_and_never_shown() -> None:
    raw = minimal()
    raw["telegram"].update(mode="webhook", webhook_url="https://bot.example.org/tg/hook")
    settings = settings_from_dict(
        raw, base_dir=Path("/srv"), environ={WEBHOOK_SECRET_ENV: "from-env_42"}
    )
    assert settings.telegram.secret_token == "from-env_42"
    assert settings.telegram.webhook_path == "/tg/hook"
    assert "from-env_42" not in repr(settings) and "from-env_42" not in str(settings)
    # Polling needs neither; loopback may be plain HTTP (a local Bot API server).
    assert settings_from_dict(minimal(), base_dir=Path("/srv")).telegram.mode == "polling"
    raw["telegram"]["webhook_url"] = "http://127.0.0.1:8080/hook"
    assert settings_from_dict(raw, base_dir=Path("/srv"), environ={WEBHOOK_SECRET_ENV: "x"})
