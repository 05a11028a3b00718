"""``selfie-bot sandbox --data DIR`` empties DIR at each start, so only a folder it made."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.sandbox import demo
from tests.support.sandbox import ROOT, SandboxProcess, get, post, wait_for_button


def test_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    data = tmp_path / "data"  # as the bot's own data folder looks
    (data / "photos" / "2026").mkdir(parents=True)
    (data / demo.DATABASE_FILE).write_bytes(b"the campaign's entries")
    (data / "photos" / "2026" / "1.jpg").write_bytes(b"a selfie")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "sandbox", "--data", "data", "--port", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=30,
    )
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"sandbox: {data} was not made by the sandbox")
    assert "give --data a new or empty folder" in line
    assert (data / demo.DATABASE_FILE).read_bytes() == b"the campaign's entries"
    assert (data / "photos" / "2026" / "1.jpg").read_bytes() == b"a selfie"
    assert not (data / demo.MARKER).exists()


def run_until_the_bot_answers(folder: Path) -> None:
    """Start the sandbox, have Léa send /start, wait for the bot's answer, stop."""
    process = SandboxProcess(folder, "sandbox", "--data", "trial", "--port", "0")
    try:
        url = process.wait_ready()
        lea = get(f"{url}/sandbox/api/view")["apprentices"][0]["id"]
        post(f"{url}/sandbox/api/send", {"user": lea, "chat": "private", "text": "/start"})
        wait_for_button(url, "private", "consent:yes", lea)
    finally:
        assert process.stop() == 0, process.log


def test_empties_only_the_folder_it_made(tmp_path: Path) -> None:
    data = tmp_path / "trial"
    run_until_the_bot_answers(tmp_path)
    assert (data / demo.MARKER).is_file() and (data / demo.DATABASE_FILE).is_file()
    leftover = data / "photos" / "leftover.jpg"
    leftover.parent.mkdir(exist_ok=True)
    leftover.write_bytes(b"from the last run")

    run_until_the_bot_answers(tmp_path)
    assert not leftover.exists()
