"""One Chromium per module for the browser tests that drive it synchronously; each test
opens its own context (viewport, time zone, touch), so nothing of one page reaches another.

Not one per worker: Playwright's sync API keeps its event loop marked as running while it
is open, and the asynchronous tests a worker runs next could not start theirs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import ARGS, CHROMIUM, _browser_missing


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _browser_missing()
    if missing:
        if os.environ.get("SELFIE_BOT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"SELFIE_BOT_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def chromium_available() -> None:
    """For the tests that start Chromium themselves (with the async API, beside the bot)."""
    missing = _browser_missing()
    if missing:
        if os.environ.get("SELFIE_BOT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"SELFIE_BOT_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
