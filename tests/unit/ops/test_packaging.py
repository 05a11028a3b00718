"""constraints.txt pins what pyproject.toml declares, so scripts/test installs one known set."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def pinned() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    pins = [line.split("==") for line in lines if line and not line.startswith("#")]
    return {canonicalize_name(name): version for name, version in pins}


def declared() -> list[Requirement]:
    extras = PROJECT["project"]["optional-dependencies"]
    lists = [
        PROJECT["project"]["dependencies"],
        *extras.values(),
        PROJECT["build-system"]["requires"],
    ]
    requirements = [Requirement(text) for texts in lists for text in texts]
    return [r for r in requirements if canonicalize_name(r.name) != "selfie-bot"]


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    pins = pinned()
    for requirement in declared():
        version = pins.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not in constraints.txt: scripts/lock"
        assert requirement.specifier.contains(version), f"{requirement} but {version} pinned"
    assert "pip" in pins


def test_the_webhook_server_is_pinned_and_an_spdx_license() -> None:
    # PTB's webhooks extra brings tornado: telegram.mode = "webhook" runs its server.
    [ptb] = [r for r in declared() if r.name == "python-telegram-bot"]
    assert "webhooks" in ptb.extras
    assert "tornado" in pinned()
    assert PROJECT["project"]["license"] == "MIT"
