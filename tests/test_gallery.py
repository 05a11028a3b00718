"""The public site (bot.gallery) built from the database: pages, photos, feeds, sitemap,
kept in step by sync, written atomically; on SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings, settings_from_dict
from bot.gallery import Gallery
from bot.storage import PhotoStore
from models import ConsentText, Submission, SubmissionStatus
from tests.conftest import AddSubmission
from tests.imagegen import photo_jpeg

BASE_URL = "https://www.example.org/selfies/"
SITE_VERSION = "site-v1"
CHANNEL_VERSION = "chan-v1"
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@functools.cache
def jpeg(seed: int) -> bytes:
    return photo_jpeg(480, 600, seed=seed % 4)


def make_settings(tmp_path: Path, **gallery: Any) -> Settings:
    raw = {
        "campaign": {
            "channel": "@fiersdetreapprentis",
            "offers_url": "https://offres.example.org/",
            "centres": [{"code": "cfa-auxerre", "name": "CFA d'Auxerre"}],
        },
        "moderation": {"chat_id": -100123, "moderators": [1]},
        "storage": {"path": "photos"},
        "gallery": {"enabled": True, "path": "site", "base_url": BASE_URL, **gallery},
    }
    return settings_from_dict(raw, base_dir=tmp_path)


@dataclass
class Site:
    settings: Settings
    gallery: Gallery
    store: PhotoStore
    sessions: async_sessionmaker[AsyncSession]
    add: AddSubmission
    root: Path
    published: int = 0

    async def publish(self, **fields: Any) -> Submission:
        """A published entry with a real stored photo, one hour after the previous one."""
        self.published += 1
        values: dict[str, Any] = {
            "photo_path": self.store.save(jpeg(self.published)),
            "published_at": START + timedelta(hours=self.published),
            "channel_message_id": 100 + self.published,
            "consent_version": SITE_VERSION,
            "width": 480,
            "height": 600,
            **fields,
        }
        return await self.add(SubmissionStatus.PUBLISHED, **values)

    def files(self) -> set[str]:
        return {p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()}

    def text(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8")

    def mtimes(self) -> dict[str, int]:
        return {name: (self.root / name).stat().st_mtime_ns for name in self.files()}


async def make_site(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
    **gallery: Any,
) -> Site:
    settings = make_settings(tmp_path, **gallery)
    async with session_factory() as session, session.begin():
        session.add(ConsentText(version=SITE_VERSION, language="fr", text="…", names_site=True))
        session.add(ConsentText(version=CHANNEL_VERSION, language="fr", text="…"))
    store = PhotoStore(settings.storage.path)
    site = Gallery(settings, session_factory, store)
    return Site(settings, site, store, session_factory, add_submission, settings.gallery.path)


@pytest.fixture
async def site(
    tmp_path: Path,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> Site:
    return await make_site(tmp_path, session_factory, add_submission)


def profile_files(entry_id: int) -> set[str]:
    return {
        f"selfies/{entry_id}/index.html",
        f"photos/{entry_id}.jpg",
        f"thumbs/{entry_id}.webp",
        f"thumbs/{entry_id}.jpg",
    }


async def test_build_writes_pages_photos_thumbnails_and_feeds(site: Site) -> None:
    lea = await site.publish(
        display_name="Léa",
        trade="pâtissière",
        centre_code="cfa-auxerre",
        centre_name="CFA d'Auxerre",
    )
    anonymous = await site.publish(
        display_name=None, trade="coiffeuse", centre_code=None, centre_name="Lycée Jean Moulin"
    )
    report = await site.gallery.build()

    assert report.profiles == 2 and report.written > 0 and report.removed == 0
    files = site.files()
    assert profile_files(lea.id) | profile_files(anonymous.id) <= files
    assert {
        "index.html", "404.html", "widget.html", "feed.xml", "feed.json", "sitemap.xml",
        "robots.txt", "assets/style.css", "assets/filter.js",
        "trades/patissiere/index.html", "trades/coiffeuse/index.html",
        "centres/cfa-auxerre/index.html", "centres/lycee-jean-moulin/index.html",
    } <= files  # fmt: skip
    with Image.open(site.root / f"thumbs/{lea.id}.webp") as webp:
        assert webp.format == "WEBP" and max(webp.size) <= 480
    with Image.open(site.root / f"thumbs/{lea.id}.jpg") as thumb:
        assert thumb.format == "JPEG"
    assert (site.root / f"photos/{lea.id}.jpg").read_bytes() == site.store.read(lea.photo_path)

    profile = site.text(f"selfies/{lea.id}/index.html")
    assert '<html lang="fr">' in profile
    assert 'alt="Léa, pâtissière (CFA d&#39;Auxerre)"' in profile
    assert f'content="{BASE_URL}photos/{lea.id}.jpg"' in profile  # og:image, absolute
    assert "https://t.me/fiersdetreapprentis/" in profile
    assert 'href="https://offres.example.org/"' in profile
    assert "J&#39;adore mon métier" in profile
    assert "noindex" not in profile
    index = site.text("index.html")
    assert 'alt="Apprenti·e anonyme, coiffeuse (Lycée Jean Moulin)"' in index
    assert 'loading="lazy"' in index and 'width="384" height="480"' in index
    assert "2 selfies publiés" in index
    assert index.index(f"selfies/{anonymous.id}/") < index.index(f"selfies/{lea.id}/")

    atom = feedparser.parse(site.text("feed.xml"))
    assert not atom.bozo, atom.bozo_exception
    assert [e.link for e in atom.entries] == [
        f"{BASE_URL}selfies/{anonymous.id}/",
        f"{BASE_URL}selfies/{lea.id}/",
    ]
    assert atom.entries[1].title == "Léa, pâtissière"
    feed = json.loads(site.text("feed.json"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1" and feed["title"]
    assert [item["url"] for item in feed["items"]] == [e.link for e in atom.entries]
    assert all(item["id"] for item in feed["items"])
    assert f"<loc>{BASE_URL}selfies/{lea.id}/</loc>" in site.text("sitemap.xml")
    assert f"Sitemap: {BASE_URL}sitemap.xml" in site.text("robots.txt")
