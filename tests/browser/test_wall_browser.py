"""The live walls in a real browser, served as a plain web server serves the site's folder:
a publication of the running bot shows on an open wall and an erasure leaves it, without
a reload; the cycle through the latest entries, the next photo fetched before its turn; the
QR code read from the screen holds the right deep link; every screen from 720p to 4K,
standing or lying, shows it whole; F for full screen, reduced motion, the empty wall;
axe-core's rules; the server stopped a while and started again.

Headless Chromium from Debian's ``chromium`` package driven by Playwright (async API), as
in ``tests/browser/test_gallery_browser.py``: without a browser the test is skipped with
the reason, unless ``SELFIE_BOT_REQUIRE_BROWSER=1`` (CI). A wall reads its JSON every
:data:`bot.site.wall.POLL_SECONDS`: the waits below are deadlines, never sleeps.
"""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaign.consent import consent_version
from bot.config import WallSettings
from bot.i18n import plain, tn
from bot.site.gallery import Gallery
from bot.site.wall import POLL_SECONDS
from tests.support import imagegen
from tests.support.browser import ARGS, CHROMIUM, violations
from tests.support.data import AddSubmission
from tests.support.gallery import Site, make_site
from tests.support.publishing import (
    QUIET,
    add_entries,
    entry_values,
    publish_people,
    started_apprentice,
    tick,
)
from tests.support.sitehttp import serve_site
from tests.support.stand import has_button, running_stand

LIVE = 30_000
"""What the issue promises, in ms: a change shows on an open wall within 30 s."""
SCREENS = [(1280, 720), (1920, 1080), (3840, 2160), (720, 1280), (1080, 1920), (2160, 3840)]
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
SWITCHES = """() => {
    const wall = document.querySelector('#wall');
    window.switches = [];
    new MutationObserver(() => window.switches.push([wall.dataset.photo, performance.now()]))
        .observe(wall, { attributes: true, attributeFilter: ['data-photo'] });
}"""
"""Records in the page each photo the wall switches to, and when (ms)."""


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


async def open_wall(browser: Any, url: str, width: int = 1920, height: int = 1080) -> Any:
    """A page of its own showing the wall at ``url``, its first read done."""
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    page.set_default_timeout(LIVE)
    response = await page.goto(url)
    assert response is not None and response.status == 200
    await page.wait_for_function("() => document.querySelector('#wall').dataset.live")
    return page


async def showing(page: Any, photo: str, timeout: float = LIVE) -> float:
    """Wait until the wall shows ``photo`` (loaded); the seconds it took."""
    started = time.monotonic()
    await page.wait_for_function(
        """(photo) => {
            const wall = document.querySelector('#wall');
            const img = wall.querySelector('.photo');
            return wall.dataset.photo === photo && img.complete && img.naturalWidth > 0;
        }""",
        arg=photo,
        timeout=timeout,
    )
    return time.monotonic() - started


async def shown_text(page: Any) -> dict[str, str]:
    return dict(
        await page.evaluate(
            """() => Object.fromEntries(['name', 'trade', 'centre'].map(
                (name) => [name, document.querySelector('#wall .' + name).textContent]))"""
        )
    )


def qr_codes(png: bytes) -> list[str]:
    with Image.open(io.BytesIO(png)) as image:
        found = zxingcpp.read_barcodes(image.convert("L"))
    return [code.text for code in found if code.format == zxingcpp.BarcodeFormat.QRCode]


@pytest.fixture
async def site(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> Site:
    return await make_site(tmp_path, session_factory, add_submission, bot_username="fiers_bot")


async def test_a_wall_follows_the_bots_publications_and_erasures_live(
    chromium_available: None, tmp_path: Path
) -> None:
    root = tmp_path / "site"
    database = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'selfie-bot.sqlite3'}"
    gallery = {"enabled": True, "path": str(root), "bot_username": "fiers_bot"}
    async with (
        serve_site(root) as base_url,
        running_stand(
            database, tmp_path, schedule=QUIET, gallery={**gallery, "base_url": base_url}
        ) as stand,
        chromium() as browser,
    ):
        lea_id, tom_id, ines_id = await publish_people(stand)
        page = await open_wall(browser, f"{base_url}wall/")
        await page.evaluate("() => { window.sameDocument = true; }")
        await showing(page, f"photos/{ines_id}.jpg", timeout=5_000)  # the newest first
        assert await shown_text(page) == {
            "name": "Inès",
            "trade": "Coiffeur·se",
            "centre": "CFA de Mâcon",
        }
        quote = page.locator("#wall .quote p")
        assert await quote.inner_text() == "J'aime mon métier, signé Inès"
        marks = "(p) => ['::before', '::after'].map((at) => getComputedStyle(p, at).content)"
        assert await quote.evaluate(marks) == ['"« "', '" »"']  # French guillemets

        # Hugo's selfie is published at the next slot: the wall shows it, no reload.
        hugo = started_apprentice(stand.emu, "Hugo")
        photo = stand.app.services.photos.save(imagegen.photo_jpeg(900, 1200, seed=7))
        version = consent_version("fr", stand.settings)  # one that names the site
        values = entry_values(
            hugo.id, 4, display_name="Hugo", photo_path=photo, consent_version=version
        )
        [hugo_id] = await add_entries(stand, [values])
        assert await tick(stand) == [hugo_id]
        took = await showing(page, f"photos/{hugo_id}.jpg")
        assert took <= POLL_SECONDS + 5, took

        # Hugo erases everything: his selfie leaves the wall, which goes on with the others.
        await stand.emu.send_text(hugo, "/supprimer")
        await stand.press(hugo, await stand.reply(hugo, has_button("erase:")), "erase:yes")
        await stand.reply(hugo, tn("fr", "erase.done", 1))
        started = time.monotonic()
        await page.wait_for_function(
            "(gone) => document.querySelector('#wall').dataset.photo !== gone",
            arg=f"photos/{hugo_id}.jpg",
        )
        assert time.monotonic() - started <= POLL_SECONDS + 5
        shown = await page.evaluate("() => document.querySelector('#wall').dataset.photo")
        assert shown in {f"photos/{i}.jpg" for i in (lea_id, tom_id, ines_id)}
        assert await page.evaluate("() => window.sameDocument") is True


@SQLITE_ONLY
async def test_the_qr_code_on_the_screen_opens_the_bot_on_its_centre(
    chromium_available: None, site: Site
) -> None:
    await site.publish(
        display_name="Léa",
        trade="Pâtissière",
        centre_code="cfa-auxerre",
        centre_name="CFA d'Auxerre",
        quote="Le feuilletage, c'est tout un art.",
    )
    await site.gallery.build()
    async with serve_site(site.root) as base_url, chromium() as browser:
        for path, link in (
            ("wall/", "https://t.me/fiers_bot"),
            ("wall/cfa-auxerre/", "https://t.me/fiers_bot?start=cfa-auxerre"),
        ):
            for width, height in ((1920, 1080), (1080, 1920)):
                page = await open_wall(browser, base_url + path, width, height)
                await page.wait_for_function(
                    "() => document.querySelector('#wall .photo').complete"
                )
                assert qr_codes(await page.screenshot()) == [link], (path, width)
                assert await violations(page) == []  # of any impact
                await page.context.close()


@SQLITE_ONLY
async def test_a_wall_cycles_through_its_latest_entries_and_preloads_the_next(
    chromium_available: None, site: Site
) -> None:
    settings = site.settings.model_copy(update={"wall": WallSettings(count=2, seconds=3)})
    site.gallery = Gallery(settings, site.sessions, site.store)
    oldest, older, newest = [await site.publish() for _ in range(3)]
    await site.gallery.build()
    fetched = (
        "(photo) => performance.getEntriesByType('resource').some((r) => r.name.endsWith(photo))"
    )
    async with serve_site(site.root) as base_url, chromium() as browser:
        page = await open_wall(browser, f"{base_url}wall/")
        await showing(page, f"photos/{newest.id}.jpg", timeout=5_000)
        await page.evaluate(SWITCHES)
        await page.wait_for_function(fetched, arg=f"photos/{older.id}.jpg", timeout=2_000)
        await showing(page, f"photos/{older.id}.jpg", timeout=6_000)
        await showing(page, f"photos/{newest.id}.jpg", timeout=6_000)  # round again
        (first, shown_at), (again, back_at) = await page.evaluate("() => window.switches")
        assert (first, again) == (f"photos/{older.id}.jpg", f"photos/{newest.id}.jpg")
        assert 2_900 <= back_at - shown_at <= 6_000, back_at - shown_at  # seconds = 3
        # Only the latest ``count``: the oldest was never asked for.
        assert not await page.evaluate(fetched, f"photos/{oldest.id}.jpg")


@SQLITE_ONLY
async def test_every_screen_shows_the_whole_wall(chromium_available: None, site: Site) -> None:
    entry = await site.publish(quote="Une phrase assez longue pour tenir sur deux lignes " * 3)
    await site.gallery.build()
    async with serve_site(site.root) as base_url, chromium() as browser:
        for width, height in SCREENS:
            page = await open_wall(browser, f"{base_url}wall/", width, height)
            await showing(page, f"photos/{entry.id}.jpg", timeout=5_000)
            boxes = await page.evaluate(
                """() => ['.photo', '.name', '.trade', '.centre', '.quote', '.qr', '.link',
                    '.fullscreen'].map((selector) => {
                    const box = document.querySelector('#wall ' + selector).getBoundingClientRect();
                    return [selector, box.left, box.top, box.right, box.bottom];
                })"""
            )
            for selector, left, top, right, bottom in boxes:
                inside = left >= 0 and top >= 0 and right <= width and bottom <= height
                assert inside, (width, height, selector, left, top, right, bottom)
            qr = next(box for box in boxes if box[0] == ".qr")
            assert qr[3] - qr[1] >= 0.2 * min(width, height), (width, height)  # seen from afar
            assert qr_codes(await page.screenshot()) == ["https://t.me/fiers_bot"], (width, height)
            await page.context.close()


@SQLITE_ONLY
async def test_full_screen_with_f_and_no_motion_when_reduced(
    chromium_available: None, site: Site
) -> None:
    entry = await site.publish()
    await site.gallery.build()
    async with serve_site(site.root) as base_url, chromium() as browser:
        page = await open_wall(browser, f"{base_url}wall/")
        await showing(page, f"photos/{entry.id}.jpg", timeout=5_000)
        hint = page.get_by_role("button", name=plain("fr", "wall.fullscreen"))
        assert await hint.is_visible()
        await page.keyboard.press("f")
        await page.wait_for_function("() => document.fullscreenElement !== null")
        assert not await hint.is_visible()
        await page.keyboard.press("f")
        await page.wait_for_function("() => document.fullscreenElement === null")
        animation = (
            "() => getComputedStyle(document.querySelector('#wall .photo-box')).animationName"
        )
        assert await page.evaluate(animation) == "arrive"
        await page.emulate_media(reduced_motion="reduce")
        assert await page.evaluate(animation) == "none"


@SQLITE_ONLY
async def test_an_empty_wall_invites_with_its_qr_code(chromium_available: None, site: Site) -> None:
    await site.gallery.build()
    async with serve_site(site.root) as base_url, chromium() as browser:
        page = await open_wall(browser, f"{base_url}wall/cfa-auxerre/")
        await page.wait_for_function(
            "() => document.querySelector('#wall').dataset.state === 'empty'"
        )
        invite = page.get_by_role("heading", name=plain("fr", "wall.empty_title"))
        assert await invite.is_visible()
        assert not await page.locator("#wall .photo").is_visible()
        link = "https://t.me/fiers_bot?start=cfa-auxerre"
        assert qr_codes(await page.screenshot()) == [link]
        assert await violations(page) == []  # of any impact


@SQLITE_ONLY
async def test_a_wall_rides_out_a_stopped_server_and_catches_up(
    chromium_available: None, site: Site
) -> None:
    first = await site.publish(display_name="Léa")
    second = await site.publish(display_name="Tom")
    await site.gallery.build()
    async with chromium() as browser:
        async with serve_site(site.root) as base_url:
            page = await open_wall(browser, f"{base_url}wall/")
            await showing(page, f"photos/{second.id}.jpg", timeout=5_000)
        # Served no more: the next read fails, the wall keeps its selfie on the screen.
        await page.wait_for_function(
            "() => document.querySelector('#wall').dataset.live === 'offline'"
        )
        newest = await site.publish(display_name="Inès")
        await site.gallery.sync([newest.id])
        assert await page.evaluate("() => document.querySelector('#wall').dataset.state") == (
            "entry"
        )
        assert await page.locator("#wall .photo").evaluate("(img) => img.naturalWidth") > 0
        assert (await shown_text(page))["name"] in {"Léa", "Tom"}
        assert first.id != newest.id
        port = int(base_url.rsplit(":", 1)[1].strip("/"))
        async with serve_site(site.root, port):
            took = await showing(page, f"photos/{newest.id}.jpg")
        assert took <= POLL_SECONDS + 5, took
        assert (await shown_text(page))["name"] == "Inès"
