"""The sandbox (``python -m bot.sandbox``) as a real subprocess, and HTTP calls to its page."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.support import ROOT

URL_LINE = re.compile(r"(http://127\.0\.0\.1:\d+)/")


class SandboxProcess:
    """``python -m bot [ARGS]`` in a folder, its output collected line by line."""

    def __init__(self, cwd: Path, *args: str) -> None:
        unset = ("SELFIE_BOT_TOKEN", "SELFIE_BOT_CONFIG")
        env = {k: v for k, v in os.environ.items() if k not in unset}
        env["PYTHONPATH"] = str(ROOT)
        self.lines: list[str] = []
        self.url: str | None = None
        self._ready = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            match = URL_LINE.search(line)
            if match and line.startswith("Sandbox ready"):
                self.url = match.group(1)
                self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float = 30.0) -> str:
        self._ready.wait(timeout)
        if self.url is None:
            self.stop()
            raise AssertionError(f"no sandbox URL within {timeout}s:\n{self.log}")
        return self.url

    def stop(self, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError("the sandbox did not stop on Ctrl-C:\n" + self.log) from None

    @property
    def log(self) -> str:
        return "\n".join(self.lines)


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read()
        if response.headers.get_content_type() == "application/json":
            return json.loads(body)
        return body.decode()


def post(url: str, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read())


def wait_for_button(
    url: str,
    chat: str,
    prefix: str,
    apprentice: int,
    timeout: float = 15,
    containing: str = "",
):
    """The newest message of ``chat`` offering a button whose data starts with ``prefix``
    (and whose text or caption holds ``containing``: in the group, another test's card may
    be there too)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = get(f"{url}/sandbox/api/view?apprentice={apprentice}")
        for message in reversed(view["chats"][chat]):
            if containing not in message.get("caption", message.get("text", "")):
                continue
            rows = message.get("reply_markup", {}).get("inline_keyboard", [])
            for button in (b for row in rows for b in row):
                if button.get("callback_data", "").startswith(prefix):
                    return message, button["callback_data"]
        time.sleep(0.1)
    raise AssertionError(f"no {prefix} button in {chat}: {view['chats'][chat][-3:]}")
