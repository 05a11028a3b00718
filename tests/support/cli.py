"""``selfie-bot`` run as an operator runs it: a subprocess of this Python."""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        cwd=ROOT,
    )
