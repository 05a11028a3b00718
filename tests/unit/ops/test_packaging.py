"""The hashed locks pin what pyproject.toml declares, so scripts/test (and a production
install) gets one known set of files: requirements/test.txt for everything, and
requirements/production.txt for the bot, at the same versions."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\]+)")


def pinned(lock: str) -> dict[str, tuple[str, int]]:
    """Each package of a lock: its version and the number of file hashes it allows."""
    pins: dict[str, tuple[str, int]] = {}
    name = ""
    for line in Path(ROOT, "requirements", lock).read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            name = canonicalize_name(match.group(1))
            pins[name] = (match.group(2), 0)
        elif line.strip().startswith("--hash=sha256:") and name:
            version, hashes = pins[name]
            pins[name] = (version, hashes + 1)
    return pins


def declared(*extras: str) -> list[Requirement]:
    optional = PROJECT["project"]["optional-dependencies"]
    lists = [
        PROJECT["project"]["dependencies"],
        *(optional[extra] for extra in extras),
        PROJECT["build-system"]["requires"],
    ]
    requirements = [Requirement(text) for texts in lists for text in texts]
    return [r for r in requirements if canonicalize_name(r.name) != "selfie-bot"]


def assert_pinned_within_ranges(lock: str, requirements: list[Requirement]) -> None:
    pins = pinned(lock)
    for requirement in requirements:
        version, _ = pins.get(canonicalize_name(requirement.name), (None, 0))
        assert version is not None, f"{requirement.name} is not in {lock}: scripts/lock"
        assert requirement.specifier.contains(version), f"{requirement} but {version} pinned"
    assert {"pip", "setuptools", "wheel"} <= pins.keys()  # they install and build the project
    assert [name for name, (_, hashes) in pins.items() if not hashes] == []


def test_every_declared_dependency_is_pinned_by_hash_within_its_range() -> None:
    assert_pinned_within_ranges("test.txt", declared(*PROJECT["project"]["optional-dependencies"]))


def test_the_production_lock_is_the_bot_at_the_tested_versions() -> None:
    assert_pinned_within_ranges("production.txt", declared("postgres"))
    tested = pinned("test.txt")
    production = pinned("production.txt")
    assert {name: pin for name, pin in production.items() if tested.get(name) != pin} == {}
    assert not {"pytest", "ruff", "mypy", "playwright"} & production.keys()


def test_the_webhook_server_is_aiohttp_and_the_license_spdx() -> None:
    # telegram.mode = "webhook" runs the bot's own aiohttp server: PTB's tornado one is
    # not installed.
    [ptb] = [r for r in declared() if r.name == "python-telegram-bot"]
    assert "webhooks" not in ptb.extras
    assert "aiohttp" in pinned("production.txt") and "tornado" not in pinned("test.txt")
    assert PROJECT["project"]["license"] == "MIT"
