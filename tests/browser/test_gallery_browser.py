"""The public site in a real browser, as the running bot writes it and a plain web server
serves it: the index, a trade's page, a profile and its OpenGraph image, axe-core's rules,
then ``/supprimer``: the profile answers 404 and its files are gone.

Headless Chromium from Debian's ``chromium`` package driven by Playwright (async API: the
bot runs in the same event loop), as in ``tests/browser/test_sandbox_browser.py``: without a
browser the test is skipped with the reason, unless ``SELFIE_BOT_REQUIRE_BROWSER=1`` (CI).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.i18n import plain, tn
from tests.support.browser import ARGS, CHROMIUM, DESKTOP, PHONE, serious_violations
from tests.support.publishing import PEOPLE, QUIET, publish_people
from tests.support.sitehttp import serve_site
from tests.support.stand import has_button, running_stand


async def all_thumbnails_loaded(page: Any) -> list[str]:
    """Scroll each lazy thumbnail into view; the alt texts of those that loaded."""
    images = page.locator(".grid .card img")
    for i in range(await images.count()):
        await images.nth(i).scroll_into_view_if_needed()
    await page.wait_for_function(
        "() => [...document.querySelectorAll('.grid img')]"
        ".every((img) => img.complete && img.naturalWidth > 0)"
    )
    return list(await images.evaluate_all("(images) => images.map((img) => img.alt)"))


async def test_the_site_in_a_browser_then_an_erasure(
    chromium_available: None, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    root = tmp_path / "site"
    database = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'selfie-bot.sqlite3'}"
    async with (
        serve_site(root) as base_url,
        running_stand(
            database,
            tmp_path,
            schedule=QUIET,
            gallery={"enabled": True, "path": str(root), "base_url": base_url},
        ) as stand,
    ):
        lea_id, tom_id, ines_id = await publish_people(stand)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=ARGS, headless=True
            )
            try:
                page = await browser.new_page(viewport=PHONE)
                page.set_default_timeout(20_000)

                # The index: newest first, every thumbnail loads, the count.
                response = await page.goto(base_url)
                assert response is not None and response.status == 200
                alts = await all_thumbnails_loaded(page)
                assert alts == [
                    plain("fr", "gallery.alt", name=name, trade=trade, centre=centre)
                    for name, trade, _, centre in reversed(PEOPLE)
                ]
                count = page.locator("p.count")
                assert await count.inner_text() == tn("fr", "gallery.count", 3)
                assert not await serious_violations(page), await serious_violations(page)
                await page.set_viewport_size(DESKTOP)
                assert not await serious_violations(page), await serious_violations(page)
                await page.set_viewport_size(PHONE)

                # In place (JavaScript): the select hides the other trades' cards.
                await page.select_option("#filter-trade", label="Pâtissier·ère (1)")
                visible = page.locator(".grid .card:visible .name")
                assert await visible.all_inner_texts() == ["Léa"]
                await page.select_option("#filter-trade", value="")
                assert len(await visible.all_inner_texts()) == 3

                # Without it: the trade's own static page.
                await page.get_by_text(plain("fr", "gallery.trades"), exact=True).click()
                await page.get_by_role("link", name="Coiffeur·se", exact=True).click()
                await page.wait_for_url(f"{base_url}trades/coiffeur-se/")
                names = await page.locator(".grid .card .name").all_inner_texts()
                assert names == ["Inès", "Tom"]
                assert await count.inner_text() == tn("fr", "gallery.count", 2)
                # Its address until December 2026 leads there too.
                await page.goto(f"{base_url}trades/coiffeurse/")
                await page.wait_for_url(f"{base_url}trades/coiffeur-se/")
                assert await page.locator(".grid .card .name").all_inner_texts() == names

                # A profile, and the image it shares.
                await page.get_by_role("link", name="Inès").click()
                profile_url = f"{base_url}selfies/{ines_id}/"
                await page.wait_for_url(profile_url)
                assert await page.locator("h1").inner_text() == "Inès"
                assert await page.locator("img.photo").evaluate("(img) => img.naturalWidth") > 0
                og_image = await page.locator('meta[property="og:image"]').get_attribute("content")
                assert og_image == f"{base_url}photos/{ines_id}.jpg"
                image = await page.request.get(og_image)
                assert image.status == 200, image.status
                assert image.headers["content-type"] == "image/jpeg"
                assert (await image.body())[:3] == b"\xff\xd8\xff"
                assert not await serious_violations(page), await serious_violations(page)

                # Inès erases everything: the profile is gone, from the folder too.
                ines = stand.emu.world.users[max(stand.emu.world.users)]
                assert ines.first_name == "Inès"
                await stand.emu.send_text(ines, "/supprimer")
                await stand.press(ines, await stand.reply(ines, has_button("erase:")), "erase:yes")
                await stand.reply(ines, tn("fr", "erase.done", 1))
                response = await page.goto(profile_url)
                assert response is not None and response.status == 404
                assert await page.locator("h1").count() == 1  # the site's own 404 page
                for name in (
                    f"selfies/{ines_id}/index.html",
                    f"photos/{ines_id}.jpg",
                    f"photos/{ines_id}.webp",
                    f"thumbs/{ines_id}.webp",
                    f"thumbs/{ines_id}.jpg",
                ):
                    assert not (root / name).exists(), name
                assert not (root / f"selfies/{ines_id}").exists()
                response = await page.goto(base_url)
                assert response is not None and response.status == 200
                links = await page.locator(".grid .card a").evaluate_all(
                    "(links) => links.map((a) => a.getAttribute('href'))"
                )
                assert links == [f"selfies/{tom_id}/", f"selfies/{lea_id}/"]
                assert await count.inner_text() == tn("fr", "gallery.count", 2)
            finally:
                await browser.close()
