"""The campaign's public site: a static folder any web server can serve, kept in step with
the channel.

:class:`Gallery` is what the bot and the CLI call: :meth:`Gallery.build` rebuilds the whole
folder from the database, :meth:`Gallery.sync` brings it up to date after entries were
published or removed. Both hold one lock, read the database, then do the rendering and the
disk work in a thread, off the event loop. What the site shows is
:func:`models.gallery.gallery_entries`; its layout is :mod:`bot.site.pages`.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
from collections.abc import AsyncIterator, Collection, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaign.links import profile_url
from bot.config import Settings
from bot.photos.store import PhotoStore
from bot.site.files import GalleryFolderProblem, SiteFolder, claim_and_lock, make_photo
from bot.site.pages import ListingPage, Plan, Profile, make_plan, redirects, update_plan
from bot.site.render import (
    ICON,
    LEGAL_PAGES,
    STATIC,
    STATIC_FILES,
    Renderer,
    copy_files,
    page_file,
    photo_file,
)
from bot.site.wall import Walls
from models.db import make_engine, make_sessionmaker
from models.gallery import GalleryEntry, gallery_entries

__all__ = ["BuildReport", "Gallery", "GalleryFolderProblem", "build_once"]

PROCESS_POOL_FROM = 64
"""Photos to make from which a build starts worker processes (each takes ~0.5 s to start)."""


@dataclass(frozen=True)
class BuildReport:
    """Counts only (it may be printed or logged): never a name."""

    profiles: int
    written: int
    removed: int

    def __str__(self) -> str:
        return (
            f"site: {self.profiles} profiles, {self.written} files written, {self.removed} removed"
        )


class Gallery:
    """The site of one configuration (``settings.gallery``)."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        photos: PhotoStore,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.photos = photos
        self.renderer = Renderer(settings)
        self.walls = Walls(settings, self.renderer)
        self._lock = asyncio.Lock()
        self._plan: Plan | None = None
        """The site as last written: :meth:`sync` redraws only what differs from it."""

    @property
    def enabled(self) -> bool:
        return self.settings.gallery.enabled

    async def build(self) -> BuildReport:
        """Rebuild everything from the database: write what changed, remove every file that
        should no longer be there. Raises :class:`GalleryFolderProblem`."""
        if not self.enabled:
            return BuildReport(0, 0, 0)
        async with self._lock, self._folder_lock():
            entries = await self._entries()
            self._plan = None
            self._plan, report = await asyncio.to_thread(self._build, entries)
            return report

    async def sync(self, entry_ids: Collection[int]) -> None:
        """After a publication or a removal of ``entry_ids``: their files added, updated or
        removed, and the pages, feeds and sitemap they appear in redrawn (a full build the
        first time, when there is no earlier state to compare with).

        Only the entries named are read again: the others are those of the plan kept from
        the last build or sync, whose state only a change named to :meth:`sync` (or the
        next full build) alters."""
        if not self.enabled:
            return
        async with self._lock, self._folder_lock():
            before, self._plan = self._plan, None  # a failure half-way: rebuild next time
            if before is None:
                entries = await self._entries()
                self._plan, _ = await asyncio.to_thread(self._build, entries)
            else:
                named = await self._entries(entry_ids)
                self._plan = await asyncio.to_thread(self._sync, named, entry_ids, before)

    @contextlib.asynccontextmanager
    async def _folder_lock(self) -> AsyncIterator[None]:
        """The folder's lock, shared with other processes (a ``gallery build`` while the
        bot runs), held from the database read to the last write."""
        descriptor = await asyncio.to_thread(claim_and_lock, self.settings.gallery.path)
        try:
            yield
        finally:
            os.close(descriptor)

    async def _entries(self, ids: Collection[int] | None = None) -> list[GalleryEntry]:
        async with self.sessions() as session:
            return await gallery_entries(session, ids)

    def _folder(self) -> SiteFolder:
        return SiteFolder(self.settings.gallery.path, self.photos)

    def _plan_of(self, entries: list[GalleryEntry]) -> Plan:
        """The site for the entries whose photo is on disk (one being erased may be gone)."""
        present, sizes = self._present(entries)
        return make_plan(present, self.settings, sizes)

    def _present(
        self, entries: list[GalleryEntry], previous: Plan | None = None
    ) -> tuple[list[GalleryEntry], dict[int, tuple[int, int]]]:
        """Those of ``entries`` whose photo is on disk (those of ``previous`` were there
        already), and the size of the photos their row does not give."""
        known = previous.sources if previous else {}
        root = os.fspath(self.photos.root)
        present, sizes = [], {}
        for entry in entries:
            if known.get(entry.id) == entry:
                present.append(entry)
                continue
            source = os.path.join(root, entry.photo_path)  # strings: 10,000 of them at start
            if entry.width and entry.height:
                if os.path.isfile(source):
                    present.append(entry)
                continue
            try:
                with Image.open(source) as image:
                    sizes[entry.id] = image.size
            except OSError:  # missing, or not an image
                continue
            present.append(entry)
        return present, sizes

    def _build(self, entries: list[GalleryEntry]) -> tuple[Plan, BuildReport]:
        plan = self._plan_of(entries)
        folder = self._folder()
        self._photos(folder, plan.profiles)
        expected: list[str] = []
        for profile in plan.profiles:
            self._profile_page(folder, profile)
            expected += [page_file(profile.url), photo_file(profile.id), *copy_files(profile.id)]
        for page in plan.listings.values():
            self._listing_page(folder, page)
            expected.append(page_file(page.url))
        expected += self._fixed(folder)
        expected += self._shared(folder, plan, None)
        expected += self.walls.write(folder, plan, None)
        folder.remove_all_but(expected)
        return plan, BuildReport(len(plan.profiles), folder.written, folder.removed)

    def _fixed(self, folder: SiteFolder) -> list[str]:
        """The files no entry changes: assets, branding, the legal pages, 404.html; their
        names."""
        files = {f"assets/{name}": (STATIC / name).read_bytes() for name in STATIC_FILES}
        for picture in (self.renderer.logo, self.renderer.hero):
            if picture is not None:
                files[picture.file] = picture.source.read_bytes()
        files[ICON] = self.renderer.icon()
        files.update((page_file(url), self.renderer.legal(url)) for url in LEGAL_PAGES)
        files["404.html"] = self.renderer.not_found()
        for name, content in files.items():
            folder.write(name, content)
        return list(files)

    def _sync(self, named: list[GalleryEntry], entry_ids: Collection[int], before: Plan) -> Plan:
        """``named``: those of ``entry_ids`` the site shows now (the others are off it)."""
        ids = set(entry_ids)
        present, sizes = self._present(named, before)
        plan = update_plan(before, present, ids, self.settings, sizes)
        if plan is None:  # a group's name changes: every profile is looked at again
            kept = [entry for entry in before.sources.values() if entry.id not in ids]
            # Newest first, as the database orders them (nearly sorted already: linear).
            entries = sorted([*kept, *present], key=_newest_first, reverse=True)
            plan = make_plan(entries, self.settings, sizes, before)
        folder = self._folder()
        previous = {profile.id: profile for profile in before.profiles}
        changed = [p for p in plan.profiles if p.id in ids or previous.get(p.id) is not p]
        self._photos(folder, changed)
        for profile in changed:
            self._profile_page(folder, profile)
        shown = {profile.id for profile in plan.profiles}
        for gone in (previous.keys() | ids) - shown:
            for name in (page_file(profile_url(gone)), photo_file(gone), *copy_files(gone)):
                folder.remove(name)
        for url, page in plan.listings.items():
            old = before.listings.get(url)
            if old is not page and old != page:
                self._listing_page(folder, page)
        for url in before.listings.keys() - plan.listings.keys():
            folder.remove(page_file(url))
        self._shared(folder, plan, before)
        self.walls.write(folder, plan, before)
        return plan

    def _profile_page(self, folder: SiteFolder, profile: Profile) -> None:
        digest = self.renderer.digest(profile)
        folder.page(page_file(profile.url), digest, lambda: self.renderer.profile(profile))

    def _listing_page(self, folder: SiteFolder, page: ListingPage) -> None:
        digest = self.renderer.digest(page)
        folder.page(page_file(page.url), digest, lambda: self.renderer.listing(page))

    def _photos(self, folder: SiteFolder, profiles: Iterable[Profile]) -> None:
        """Photos and thumbnails: one by one for a publication, in worker processes for a
        build with many to make (WebP encoding holds the GIL: threads would take turns)."""
        jobs = [job for profile in profiles if (job := folder.photo_job(profile))]
        if len(jobs) < PROCESS_POOL_FROM:
            folder.written += sum(map(make_photo, jobs))
            return
        context = multiprocessing.get_context("spawn")  # never fork the bot's threads
        with ProcessPoolExecutor(os.cpu_count() or 1, mp_context=context) as pool:
            folder.written += sum(pool.map(make_photo, jobs, chunksize=16))

    def _shared(self, folder: SiteFolder, plan: Plan, before: Plan | None) -> list[str]:
        """The files every change may touch: widget, feeds, robots.txt, the sitemap (only
        when search engines are welcome) and the pages redirecting old URLs (those of
        ``before`` no longer needed go); their names."""
        moved = redirects(plan)
        if before is not None:
            for url in redirects(before).keys() - moved.keys():
                folder.remove(page_file(url))
        for url, target in moved.items():
            digest = self.renderer.digest(("redirect", url, target))
            folder.page(page_file(url), digest, partial(self.renderer.redirect, url, target))
        files = {
            "widget.html": self.renderer.widget(plan),
            "feed.xml": self.renderer.atom(plan.profiles),
            "feed.json": self.renderer.json_feed(plan.profiles),
            "robots.txt": self.renderer.robots(),
        }
        if self.settings.gallery.indexable:
            files["sitemap.xml"] = self.renderer.sitemap(plan)
        else:
            folder.remove("sitemap.xml")
        for name, content in files.items():
            folder.write(name, content)
        return [*files, *map(page_file, moved)]


def _newest_first(entry: GalleryEntry) -> tuple[datetime, int]:
    return entry.published_at, entry.id


async def build_once(settings: Settings) -> BuildReport:
    """One full build with an engine of its own (``selfie-bot gallery build``)."""
    engine = make_engine(settings.database.url)
    try:
        sessions = make_sessionmaker(engine)
        return await Gallery(settings, sessions, PhotoStore(settings.storage.path)).build()
    finally:
        await engine.dispose()
