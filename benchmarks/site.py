"""Figure 6: the public site (:mod:`bot.site.gallery`) with 10,000 published profiles.

Rows are bulk-inserted into a SQLite database; each points to its own photo file, a hard
link to one of four real JPEGs (the sandbox's drawn samples with film grain, 960 px
long side, ~150 KB: what the bot stores, a little smaller). Measured, in this process:

- cold build: an empty folder and a new :class:`~bot.site.gallery.Gallery` (every page
  written, every photo and its WebP + JPEG thumbnails, which the image pipeline stored
  beside it, linked into the site). Baseline: a plain copy of the same photos into
  an empty folder, the least any site holding them must do; ratio = build / copy.
- rebuild with nothing changed (a new Gallery, as at the bot's start). Baseline: a
  ``stat`` of every file of the site, the least a check for changes costs.
- one publication and one removal, each a :meth:`~bot.site.gallery.Gallery.sync` as the bot
  calls it (median of a few). Baseline: the database read every sync makes (the site's
  entries); ratio = sync / read.
- one publication synced with the live walls (:mod:`bot.site.wall`, their JSON brought
  up to date). Baseline: the same sync with ``[wall] enabled = false``, the two taking
  turns on the same site (each round a new entry for each, in alternating order); ratio =
  with / without.
- the index's first view: bytes Chromium receives for ``index.html`` with everything it
  loads at once (CSS, JS, the thumbnails it fetches: lazy ones below the fold are not),
  phone (390x844) and desktop (1440x900). Baseline: the same page with every thumbnail
  loaded. Skipped without the system Chromium (see ``tests/browser/test_sandbox_browser.py``).

``python -m benchmarks site --screenshots DIR`` writes the README's pictures of the site
(a profile on a phone and on a desktop, the index) instead.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from benchmarks.common import Figure
from bot.config import Settings, WallSettings, settings_from_dict
from bot.photos.encode import THUMB_SIDE, Thumbnail, thumbnail_of
from bot.photos.store import PhotoStore, thumbnail_names
from bot.sandbox.samples import SAMPLES, draw_sample
from bot.site.gallery import Gallery
from bot.site.wall import Walls
from models.base import utcnow
from models.db import make_engine, make_sessionmaker, upgrade
from models.gallery import gallery_entries
from models.tables import AgeBand, Apprentice, ConsentText, Submission, SubmissionStatus
from tests.support.gallery import LEGAL

S = SubmissionStatus
VERSION = "bench-site"
BASE_URL = "https://www.example.org/selfies/"
BOT_USERNAME = "FiersDEtreApprentisBot"
LONG_SIDE = 960
NAMES = ["Léa", "Tom", "Inès", "Yanis", "Manon", "Hugo", "Chloé", "Noah", "Jade", "Enzo"]
TRADES = [  # the first four: the trades of the photos, in their order
    "Boulanger·ère", "Mécanicien·ne auto", "Coiffeur·se", "Électricien·ne", "Boucher·ère",
    "Pâtissier·ère", "Menuisier·ère", "Esthéticien·ne", "Fleuriste", "Cuisinier·ère",
    "Plombier·ère", "Maçon·ne", "Peintre en bâtiment", "Serveur·se", "Vendeur·se",
]  # fmt: skip
CENTRES = [(f"cfa-{i}", f"CFA numéro {i}") for i in range(40)]
TARGETS = {"cold": 30.0, "warm": 3.0, "sync": 0.300, "first_view": 300 * 1024, "walls": 1.2}


def _photos() -> list[tuple[bytes, tuple[int, int], Thumbnail]]:
    """The sandbox's four good samples (a baker, a mechanic, a hairdresser, an
    electrician) as the bot stores photos (no EXIF, quality 85), their sizes, and the
    thumbnails the image pipeline makes from the same pixels."""
    photos = []
    for sample in SAMPLES[:4]:
        image = draw_sample(sample).convert("RGB")
        image.thumbnail((LONG_SIDE, LONG_SIDE))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85, optimize=True)
        photos.append((buffer.getvalue(), image.size, thumbnail_of(image, THUMB_SIDE)))
    return photos


def _settings(base: Path, database: str, per_page: int = 48, base_url: str = BASE_URL) -> Settings:
    raw: dict[str, Any] = {
        "campaign": {
            "name": "Fiers d'être apprentis",
            "channel": "@fiersdetreapprentis",
            "offers_url": "https://offres.example.org/",
            "centres": [{"code": code, "name": name} for code, name in CENTRES],
        },
        "moderation": {"chat_id": -100123, "moderators": [1]},
        "database": {"url": database},
        "storage": {"path": "photos"},
        "gallery": {
            "enabled": True,
            "path": "site",
            "base_url": base_url,
            "per_page": per_page,
            "bot_username": BOT_USERNAME,
            "legal": LEGAL,
        },
    }
    return settings_from_dict(raw, base_dir=base)


def _rows(
    count: int,
    paths: Sequence[str],
    sizes: Sequence[tuple[int, int]],
    first: int = 0,
    trades: int = len(TRADES),
) -> list[dict[str, Any]]:
    """Published entries ``first`` to ``first + count - 1``; with ``trades=4`` each one's
    trade is its photo's."""
    start = utcnow() - timedelta(days=120)
    rows = []
    for i in range(first, first + count):
        code, centre = CENTRES[i * 7 % len(CENTRES)]
        moment = start + timedelta(minutes=10 * i)
        rows.append(
            {
                "apprentice_id": 10_000_000 + i,
                "status": S.PUBLISHED,
                "display_name": NAMES[i % len(NAMES)] if i % 9 else None,
                "trade": TRADES[i % 4 if trades == 4 else i * 7 % trades],
                "centre_code": code,
                "centre_name": centre,
                "quote": "J'aime mon métier" if i % 2 else None,
                "language": "fr",
                "age_band": AgeBand.ADULT,
                "consent_at": moment,
                "consent_version": VERSION,
                "photo_path": paths[i],
                "width": sizes[i][0],
                "height": sizes[i][1],
                "sharpness": 300.0,
                "created_at": moment,
                "updated_at": moment,
                "submitted_at": moment,
                "decided_at": moment,
                "approved_at": moment,
                "published_at": moment + timedelta(minutes=5),
                "channel_message_id": 1000 + i,
            }
        )
    return rows


async def _insert(sessions: async_sessionmaker[AsyncSession], rows: list[dict[str, Any]]) -> None:
    apprentices = [
        {"id": row["apprentice_id"], "first_name": "Apprenti", "language": "fr"} for row in rows
    ]
    async with sessions() as session, session.begin():
        for table, chunk in ((Apprentice, apprentices), (Submission, rows)):
            for start in range(0, len(chunk), 5000):
                await session.execute(insert(table), chunk[start : start + 5000])


class Campaign:
    """A database of ``count`` published entries with their photos, in a temporary folder."""

    def __init__(
        self,
        base: Path,
        count: int,
        per_page: int = 48,
        trades: int = 15,
        base_url: str = BASE_URL,
    ) -> None:
        self.base = base
        self.count = count
        self.trades = trades
        database = f"sqlite+aiosqlite:///{base / 'db.sqlite3'}"
        self.settings = _settings(base, database, per_page, base_url)
        self.engine = make_engine(self.settings.database.url)
        self.sessions = make_sessionmaker(self.engine)
        self.store = PhotoStore(self.settings.storage.path)
        self.paths: list[str] = []
        self.sizes: list[tuple[int, int]] = []

    async def fill(self, extra: int = 0) -> None:
        """``count`` entries published, and ``extra`` more photos for later publications."""
        await upgrade(self.engine)
        async with self.sessions() as session, session.begin():
            session.add(ConsentText(version=VERSION, language="fr", text="…", names_site=True))
        photos = _photos()
        # Stored as the bot stores a processed photo: with its thumbnails beside it.
        sources = [self.store.save(jpeg, thumbs) for jpeg, _size, thumbs in photos]
        root = self.store.root
        for i in range(self.count + extra):
            relative = f"bench/{i // 1000}/{i}.jpg"
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            source = sources[i % len(sources)]
            stored = (source, *thumbnail_names(source))
            for name, link in zip(stored, (relative, *thumbnail_names(relative)), strict=True):
                os.link(root / name, root / link)
            self.paths.append(relative)
            self.sizes.append(photos[i % len(photos)][1])
        rows = _rows(self.count, self.paths, self.sizes, trades=self.trades)
        await _insert(self.sessions, rows)

    def gallery(self) -> Gallery:
        return Gallery(self.settings, self.sessions, self.store)

    async def publish(self, number: int) -> int:
        row = _rows(1, self.paths, self.sizes, first=number, trades=self.trades)[0]
        row["published_at"] = utcnow()
        await _insert(self.sessions, [row])
        async with self.sessions() as session:
            [newest, *_] = await gallery_entries(session)
        return newest.id

    async def unpublish(self, entry_id: int) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(Submission).where(Submission.id == entry_id).values(status=S.REFUSED)
            )

    async def read(self) -> None:
        async with self.sessions() as session:
            await gallery_entries(session)

    async def close(self) -> None:
        await self.engine.dispose()


def _copy_photos(campaign: Campaign, target: Path) -> None:
    for i, relative in enumerate(campaign.paths[: campaign.count]):
        shutil.copyfile(campaign.store.root / relative, target / f"{i}.jpg")


def _stat_all(root: Path) -> int:
    return sum(1 for _ in root.rglob("*") if _.stat().st_size >= 0)


async def _timed(coroutine: Any) -> float:
    start = time.perf_counter()
    await coroutine
    return time.perf_counter() - start


async def _syncs(
    campaign: Campaign, gallery: Gallery, rounds: int
) -> tuple[float, float, float, float]:
    """Median seconds of a publication's sync, of its removal's, of an old entry's removal
    (one of the oldest tenth: an erasure weeks after publication), of the database read."""
    published, removed, old, reads = [], [], [], []
    for number in range(rounds):
        entry_id = await campaign.publish(campaign.count + number)
        published.append(await _timed(gallery.sync([entry_id])))
        reads.append(await _timed(campaign.read()))
        await campaign.unpublish(entry_id)
        removed.append(await _timed(gallery.sync([entry_id])))
    async with campaign.sessions() as session:
        oldest_tenth = (await gallery_entries(session))[-(campaign.count // 10) :]
    for number in range(rounds):
        entry_id = oldest_tenth[number * len(oldest_tenth) // rounds].id
        await campaign.unpublish(entry_id)
        old.append(await _timed(gallery.sync([entry_id])))
    return tuple(statistics.median(s) for s in (published, removed, old, reads))  # type: ignore[return-value]


async def _wall_syncs(
    campaign: Campaign, gallery: Gallery, first: int, rounds: int
) -> tuple[float, float]:
    """Median seconds of a publication's sync with the walls and without them: the same
    gallery, its walls switched off (``[wall] enabled = false``) every other publication,
    the order alternating from round to round. Each entry is taken off again, untimed."""
    walls = gallery.walls
    off = Walls(
        campaign.settings.model_copy(update={"wall": WallSettings(enabled=False)}),
        gallery.renderer,
    )
    timed: dict[bool, list[float]] = {True: [], False: []}
    for number in range(rounds):
        for on in (True, False) if number % 2 else (False, True):
            entry_id = await campaign.publish(first + 2 * number + on)
            gallery.walls = walls if on else off
            timed[on].append(await _timed(gallery.sync([entry_id])))
            await campaign.unpublish(entry_id)
            await gallery.sync([entry_id])
    gallery.walls = walls
    return statistics.median(timed[True]), statistics.median(timed[False])


def _met(value: float, target: float) -> bool:
    return value <= target


async def first_view(root: Path) -> dict[str, tuple[int, int]] | None:
    """Bytes Chromium receives for the index: (as loaded, with every thumbnail), by
    viewport; None without a browser."""
    from tests.support.browser import ARGS, CHROMIUM, _browser_missing
    from tests.support.sitehttp import serve_site

    if _browser_missing():
        return None
    from playwright.async_api import async_playwright

    sizes: dict[str, tuple[int, int]] = {}
    async with serve_site(root) as url, async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=ARGS, headless=True
        )
        try:
            for name, viewport in (("phone", (390, 844)), ("desktop", (1440, 900))):
                context = await browser.new_context(
                    viewport={"width": viewport[0], "height": viewport[1]}
                )
                page = await context.new_page()
                responses: list[Any] = []
                page.on("response", lambda response, seen=responses: seen.append(response))
                await page.goto(url, wait_until="networkidle")
                await page.wait_for_timeout(300)
                loaded = len(responses)
                await page.evaluate(
                    "() => document.querySelectorAll('img[loading=lazy]')"
                    ".forEach((img) => { img.loading = 'eager'; })"
                )
                await page.wait_for_load_state("networkidle")
                await page.wait_for_timeout(300)
                bodies = [len(await response.body()) for response in responses]
                sizes[name] = (sum(bodies[:loaded]), sum(bodies))
                await context.close()
        finally:
            await browser.close()
    return sizes


async def run(quick: bool = False) -> list[Figure]:
    count = 60 if quick else 10_000
    rounds = 2 if quick else 5
    wall_rounds = 2 if quick else 25
    label = f"{count:,} profiles"
    base = Path(tempfile.mkdtemp(prefix="selfie-bench-site-"))
    campaign = Campaign(base, count, per_page=12 if quick else 48)
    try:
        await campaign.fill(extra=rounds + 2 * wall_rounds)
        copies = base / "copies"
        copies.mkdir()
        copy = await _timed(asyncio.to_thread(_copy_photos, campaign, copies))
        shutil.rmtree(copies)
        cold = await _timed(campaign.gallery().build())
        gallery = campaign.gallery()  # a new process's: nothing known of the folder
        warm = await _timed(gallery.build())
        root = campaign.settings.gallery.path
        stat = await _timed(asyncio.to_thread(_stat_all, root))
        published, removed, old, read = await _syncs(campaign, gallery, rounds)
        walled, unwalled = await _wall_syncs(campaign, gallery, count + rounds, wall_rounds)
        files = sum(1 for p in root.rglob("*") if p.is_file())
        site_mb = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1e6
        views = await first_view(root)
    finally:
        await campaign.close()
        shutil.rmtree(base, ignore_errors=True)
    figures = [
        Figure(
            f"site: cold build, {label}",
            f"{cold:.1f} s",
            f"{copy:.2f} s plain copy of the photos",
            cold / copy,
            f"<= {TARGETS['cold']:.0f} s",
            _met(cold, TARGETS["cold"]),
            note=f"{files:,} files, {site_mb:,.0f} MB written",
        ),
        Figure(
            f"site: rebuild, nothing changed, {label}",
            f"{warm:.2f} s",
            f"{stat:.2f} s stat of every file",
            warm / stat,
            f"<= {TARGETS['warm']:.0f} s",
            _met(warm, TARGETS["warm"]),
        ),
        Figure(
            f"site: one publication synced, {label}",
            f"{published * 1000:.0f} ms",
            f"{read * 1000:.0f} ms reading the site's entries",
            published / read,
            f"<= {TARGETS['sync'] * 1000:.0f} ms",
            _met(published, TARGETS["sync"]),
            note=f"median of {rounds}",
        ),
        Figure(
            f"site: one removal synced, {label}",
            f"{removed * 1000:.0f} ms",
            f"{read * 1000:.0f} ms reading the site's entries",
            removed / read,
            f"<= {TARGETS['sync'] * 1000:.0f} ms",
            _met(removed, TARGETS["sync"]),
            note=f"median of {rounds}",
        ),
        Figure(
            f"site: an old entry's removal synced, {label}",
            f"{old * 1000:.0f} ms",
            f"{read * 1000:.0f} ms reading the site's entries",
            old / read,
            f"<= {TARGETS['sync'] * 1000:.0f} ms",
            _met(old, TARGETS["sync"]),
            note=f"median of {rounds}, among the oldest tenth",
        ),
        Figure(
            f"site: one publication synced with the walls, {label}",
            f"{walled * 1000:.0f} ms",
            f"{unwalled * 1000:.0f} ms without them",
            walled / unwalled,
            f"<= {TARGETS['walls']:.1f}x",
            walled / unwalled <= TARGETS["walls"],
            note=f"median of {wall_rounds} each, interleaved; {len(CENTRES) + 1} walls",
        ),
    ]
    if views is None:
        figures.append(
            Figure("site: index first view", "skipped", "", None, "", None, note="no Chromium")
        )
        return figures
    for name, (first, everything) in views.items():
        figures.append(
            Figure(
                f"site: index first view, {name}, {label}",
                f"{first / 1024:.0f} KB",
                f"{everything / 1024:.0f} KB with every thumbnail",
                first / everything,
                f"<= {TARGETS['first_view'] // 1024} KB",
                first <= TARGETS["first_view"],
                note="HTML, CSS, JS and the thumbnails Chromium loads at once",
            )
        )
    return figures


# --------------------------------------------------------------------------- screenshots

WALL_SHOWING = (
    "() => document.querySelector('#wall').dataset.state === 'entry'"
    " && document.querySelector('#wall .photo').complete"
)


async def screenshots(folder: Path) -> list[Path]:
    """A small campaign's site in Chromium: ``site-profile.png`` (a phone),
    ``site-profile-desktop.png`` and ``site-index.png`` (a desktop), the campaign's wall
    on a 1920x1080 screen (``wall-landscape.png``) and the newest selfie's centre's on a
    1080x1920 one (``wall-portrait.png``)."""
    from playwright.async_api import async_playwright

    from tests.support.browser import ARGS, CHROMIUM, _browser_missing
    from tests.support.sitehttp import serve_site

    missing = _browser_missing()
    if missing:
        raise SystemExit(missing)
    base = Path(tempfile.mkdtemp(prefix="selfie-site-shots-"))
    campaign = Campaign(base, 14, per_page=12, trades=4)
    written = []
    try:
        await campaign.fill()
        async with campaign.sessions() as session, session.begin():
            await session.execute(  # the profile shown: a quote worth reading
                update(Submission)
                .where(Submission.apprentice_id == 10_000_013)
                .values(quote="Un moteur qui repart, c'est ma fierté de la journée.")
            )
        await campaign.gallery().build()
        async with campaign.sessions() as session:
            newest = (await gallery_entries(session))[0]
        profile = f"selfies/{newest.id}/"
        phone, desktop = {"width": 390, "height": 844}, {"width": 1280, "height": 800}
        landscape, portrait = {"width": 1920, "height": 1080}, {"width": 1080, "height": 1920}
        shots = [
            ("site-profile.png", profile, phone, 2),
            ("site-profile-desktop.png", profile, desktop, 1),
            ("site-index.png", "", desktop, 1),
            ("wall-landscape.png", "wall/", landscape, 1),
            ("wall-portrait.png", f"wall/{newest.centre_code}/", portrait, 1),
        ]
        root = campaign.settings.gallery.path
        async with serve_site(root) as url, async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=ARGS, headless=True
            )
            try:
                for name, path, viewport, scale in shots:
                    context = await browser.new_context(
                        viewport=viewport, device_scale_factor=scale, reduced_motion="reduce"
                    )
                    page = await context.new_page()
                    await page.goto(url + path, wait_until="networkidle")
                    if path.startswith("wall/"):  # its first selfie, once its photo is there
                        await page.wait_for_function(WALL_SHOWING)
                    target = folder / name
                    await page.screenshot(path=str(target))
                    with Image.open(target) as image:  # smaller files for the repository
                        image.convert("RGB").quantize(colors=256).save(target, optimize=True)
                    written.append(target)
                    await context.close()
            finally:
                await browser.close()
    finally:
        await campaign.close()
        shutil.rmtree(base, ignore_errors=True)
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks site")
    parser.add_argument("--screenshots", type=Path, metavar="DIR", required=True)
    args = parser.parse_args(argv)
    args.screenshots.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(screenshots(args.screenshots)):
        print(path)
    return 0
