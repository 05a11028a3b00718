"""The campaign's site in a real browser (issue 26): axe-core finds no violation on any page
kind with the campaign's own colours and logo, the widget fits its documented frame, the
profile photo does not move the page while it loads, and WebP is what the browser takes.

Headless Chromium from Debian's ``chromium`` package driven by Playwright, the site as the
Gallery writes it and a plain web server serves it (``tests.support.sitehttp``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.browser import ARGS, CHROMIUM, DESKTOP, PHONE
from tests.support.data import AddSubmission
from tests.support.gallery import LEGAL, make_site
from tests.support.sitehttp import serve_site

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

COLOURS = {"accent": "#5b1a6e", "highlight": "#1d5c2a", "on_highlight": "#ffffff"}
PEOPLE = [
    ("Léa", "Pâtissière", "cfa-auxerre", "CFA d'Auxerre"),
    ("Tom", "Coiffeur", None, "Lycée Jean Moulin"),
    ("Inès", "Pâtissière", None, "Lycée Jean Moulin"),
    ("Hugo", "Menuisier", "cfa-auxerre", "CFA d'Auxerre"),
    ("Sam", "Coiffeur", None, "Lycée Jean Moulin"),
    ("Zoé", "Fleuriste", "cfa-auxerre", "CFA d'Auxerre"),
]

# The layout shifts of the page so far (those a person did not cause), summed as the
# Cumulative Layout Shift is.
LAYOUT_SHIFT = """() => new Promise((resolve) => {
  let total = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) total += entry.value;
  }).observe({type: "layout-shift", buffered: true});
  setTimeout(() => resolve(total), 500);
})"""


async def violations(page: Any) -> list[str]:
    """Every axe-core violation (WCAG 2 A and AA, best practices) on the page as it is."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    return [
        f"{v['impact']} {v['id']}: {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"])
        for v in results.response["violations"]
    ]


async def test_every_page_kind_passes_axe_the_widget_fits_and_nothing_moves(
    chromium_available: None,
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    from playwright.async_api import async_playwright

    Image.new("RGB", (320, 80), "#5b1a6e").save(tmp_path / "logo.png")
    root = tmp_path / "site"
    async with serve_site(root) as base_url:
        site = await make_site(
            tmp_path, session_factory, add_submission, path=str(root), base_url=base_url,
            bot_username="fiers_bot", legal=LEGAL, colours=COLOURS, logo="logo.png",
        )  # fmt: skip
        ids = []
        for name, trade, code, centre in PEOPLE:
            entry = await site.publish(
                display_name=name, trade=trade, centre_code=code, centre_name=centre,
                quote=f"J'aime mon métier, signé {name}",
            )  # fmt: skip
            ids.append(entry.id)
        await site.gallery.build()
        pages = [
            "",
            "trades/patissiere/",
            "centres/cfa-auxerre/",
            f"selfies/{ids[0]}/",
            "mentions-legales/",
            "accessibilite/",
            "confidentialite/",
            "no-such-page/",
            "widget.html",
        ]
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=ARGS, headless=True
            )
            try:
                for viewport in (PHONE, DESKTOP):
                    page = await browser.new_page(viewport=viewport)
                    for path in pages:
                        await page.goto(base_url + path, wait_until="load")
                        found = await violations(page)
                        assert not found, (path, viewport, found)
                    await page.close()

                # The widget in the frame the README gives: no scrolling.
                page = await browser.new_page(viewport={"width": 320, "height": 600})
                await page.goto(base_url + "widget.html", wait_until="load")
                height = await page.evaluate("document.documentElement.scrollHeight")
                assert height <= 600, height
                await page.close()

                # A profile on a phone: the photo's box is kept while it loads, and the
                # browser takes the WebP.
                page = await browser.new_page(viewport=PHONE, device_scale_factor=2)
                await page.goto(f"{base_url}selfies/{ids[0]}/", wait_until="load")
                shift = await page.evaluate(LAYOUT_SHIFT)
                assert shift < 0.01, shift
                source = await page.locator("img.photo").evaluate("(img) => img.currentSrc")
                assert source.endswith(f"photos/{ids[0]}.webp"), source
                await page.close()
            finally:
                await browser.close()
