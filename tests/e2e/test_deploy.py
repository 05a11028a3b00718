"""deploy/selfie-bot.service: systemd accepts it, it is hardened, it starts the project's
own command, and the bot works under its MemoryDenyWriteExecute."""

from __future__ import annotations

import configparser
import shlex
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.app.cli import build_parser, cmd_run
from bot.app.webhook import MAX_CONNECTIONS, connection_cap
from bot.config import TOKEN_ENV
from bot.sandbox.emulator import Emulator
from tests.support import ROOT, imagegen
from tests.support.stand import TOKEN, BotProcess, has_button, process_config, write_config

UNIT = ROOT / "deploy" / "selfie-bot.service"
DATA = "/var/lib/selfie-bot"

HARDENING = {
    "User": "selfie-bot",
    "Restart": "on-failure",
    "KillSignal": "SIGTERM",
    "ProtectSystem": "strict",
    "ProtectHome": "true",
    "NoNewPrivileges": "true",
    "PrivateTmp": "true",
    "PrivateDevices": "true",
    "ProtectKernelTunables": "true",
    "ProtectKernelModules": "true",
    "ProtectControlGroups": "true",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "LockPersonality": "true",
    "MemoryDenyWriteExecute": "true",
    "SystemCallFilter": "@system-service",
    "CapabilityBoundingSet": "",
    "StateDirectory": "selfie-bot",
    "ReadWritePaths": DATA,
}

# prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN): the kernel's own MemoryDenyWriteExecute
# (Linux 6.3+), inherited by the image workers; then the real command.
UNDER_MDWE = """
import ctypes, sys
if ctypes.CDLL(None, use_errno=True).prctl(65, 1, 0, 0, 0) != 0:
    sys.exit("PR_SET_MDWE refused")
from bot.app.cli import main
sys.exit(main(sys.argv[1:]))
"""


def service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    assert set(parser.sections()) == {"Unit", "Service", "Install"}
    return parser["Service"]


def test_the_unit_is_hardened() -> None:
    options = service()
    for key, value in HARDENING.items():
        assert options.get(key) == value, key
    assert int(options["TimeoutStopSec"]) >= 10
    # Room for the webhook's connections beside the bot's own files (bot/app/webhook.py).
    assert connection_cap(int(options["LimitNOFILE"])) == MAX_CONNECTIONS
    assert options["WorkingDirectory"] == DATA


def test_it_starts_the_projects_run_command_with_the_token_from_a_file() -> None:
    command = shlex.split(service()["ExecStart"])
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert Path(command[0]).name in scripts
    assert build_parser().parse_args(command[1:]).handler is cmd_run
    environment = service()["EnvironmentFile"]
    assert environment.startswith("/etc/") and TOKEN_ENV not in service()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert environment in readme and f"{TOKEN_ENV}=" in readme


def analyzable_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this environment's console script: ``verify``
    checks that the command exists."""
    script = Path(sys.executable).parent / "selfie-bot"
    if not script.is_file():
        pytest.skip(f"no selfie-bot console script beside {sys.executable}: pip install .")
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    text = UNIT.read_text(encoding="utf-8").replace(
        "/opt/selfie-bot/.venv/bin/selfie-bot", str(script)
    )
    copy = tmp_path / UNIT.name
    copy.write_text(text, encoding="utf-8")
    return copy


def test_systemd_analyze_verify_finds_nothing_to_say(tmp_path: Path) -> None:
    unit = analyzable_copy(tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, cwd=tmp_path
    )
    # verify exits 0 on unknown keys and bad values, only warning: no line at all is the test.
    assert (result.returncode, result.stderr) == (0, "")


def test_systemd_rates_its_exposure_low(tmp_path: Path) -> None:
    unit = analyzable_copy(tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--threshold=20", str(unit)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-600:] + result.stderr
    assert "Overall exposure level" in result.stdout


def mdwe_available() -> bool:
    probe = [
        sys.executable,
        "-c",
        "import ctypes,sys; sys.exit(ctypes.CDLL(None).prctl(65,1,0,0,0))",
    ]
    return subprocess.run(probe, capture_output=True).returncode == 0


async def test_a_photo_goes_through_the_bot_under_memory_deny_write_execute(
    tmp_path: Path,
) -> None:
    if not mdwe_available():
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3+) to stand for systemd's filter")
    async with Emulator(token=TOKEN, bot_username="fiers_bot") as emu:
        raw = process_config(emu, tmp_path)
        bot = BotProcess(write_config(tmp_path / "config.toml", raw), ("-c", UNDER_MDWE))
        await bot.start()
        try:
            lea = emu.create_user("Léa")
            await emu.send_text(lea, "/start")
            for step in ("consent:yes", "age:adult", "name:first", "trade:0:0", "centre:0"):
                question = await emu.wait_for(lea, has_button(step.split(":")[0] + ":"))
                await emu.press_button(lea, question, step)
            await emu.press_button(lea, await emu.wait_for(lea, has_button("quote:")), "quote:skip")
            await emu.wait_for(lea, "📸")
            await emu.send_photo(lea, imagegen.photo_jpeg(1600, 1200, seed=3))
            await emu.wait_for(lea, has_button("preview:"), timeout=30)
        finally:
            assert await bot.stop(signal.SIGTERM) == 0
    assert "Traceback" not in bot.log
