"""A public site built from the test database: settings, stored photos, published
entries, and what its pages must hold."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings, settings_from_dict
from bot.photos.store import PhotoStore
from bot.site.gallery import Gallery
from models import ConsentText, Submission, SubmissionStatus
from tests.support.data import AddSubmission
from tests.support.imagegen import photo_jpeg

BASE_URL = "https://www.example.org/selfies/"


SITE_VERSION = "site-v1"


CHANNEL_VERSION = "chan-v1"


START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


LEGAL = {
    "publisher": "Région Exemple, 1 place de l'Hôtel de Région, 21000 Dijon",
    "director": "Camille Durand",
    "host": "Hébergeur SAS, 2 rue des Serveurs, 75000 Paris",
    "contact": "selfies@example.org",
    "dpo": "dpo@example.org",
}
"""A campaign's legal pages as its configuration fills them (``[gallery.legal]``)."""


@functools.cache
def jpeg(seed: int) -> bytes:
    return photo_jpeg(480, 600, seed=seed % 4)


def make_settings(tmp_path: Path, **gallery: Any) -> Settings:
    raw = {
        "campaign": {
            "channel": "@fiersdetreapprentis",
            "offers_url": "https://offres.example.org/?metier={trade_slug}",
            "trade_offers": {"Coiffeuse": "https://coiffure.example.org/offres"},
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

    async def set_status(self, entry_id: int, status: SubmissionStatus) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(Submission).where(Submission.id == entry_id).values(status=status)
            )

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


def profile_files(entry_id: int) -> set[str]:
    return {
        f"selfies/{entry_id}/index.html",
        f"photos/{entry_id}.jpg",
        f"photos/{entry_id}.webp",
        f"thumbs/{entry_id}.webp",
        f"thumbs/{entry_id}.jpg",
    }


def listing(site: Site, prefix: str, ids: list[int]) -> list[tuple[str, list[int]]]:
    """A listing's pages as a visitor meets them (its first page, then each "older" link):
    each page's URL and the entries of ``ids`` it links to, in its order."""
    pages = []
    url: str | None = prefix
    while url is not None:
        page = site.text(f"{url}index.html")
        found = [(page.find(f'selfies/{entry_id}/"'), entry_id) for entry_id in ids]
        pages.append((url, [entry_id for position, entry_id in sorted(found) if position >= 0]))
        older = re.search(r'rel="next" href="(?:\.\./)*([^"]*)"', page)
        url = older.group(1) if older else None
    return pages


def assert_paginated(
    site: Site, prefix: str, members: list[int], ids: list[int], per_page: int
) -> list[tuple[str, list[int]]]:
    """``members`` (oldest first) each once, newest first along the pages; every older page
    named after its oldest entry and holding between half and one and a half pages."""
    pages = listing(site, prefix, ids)
    assert [entry_id for _url, shown in pages for entry_id in shown] == members[::-1]
    for url, shown in pages[1:]:
        assert url == f"{prefix}page/{shown[-1]}/"
        assert per_page // 2 <= len(shown) <= per_page + per_page // 2, url
    assert len(pages[0][1]) <= 3 * per_page
    return pages
