"""What the handlers and the Telegram side use: long-lived parts, built once per process.

:class:`Services` is frozen: it holds parts, never flags. A part with state of its own owns
it (the image workers their processes, :class:`BanList` the banned ids, :class:`CardDesk`
the card posting's lock, :class:`~bot.campaign.interest.VisitorKeys` today's key); the
monitor belongs to the application that starts and stops it (:mod:`bot.app.application`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.campaign.interest import VisitorKeys
from bot.config import Settings
from bot.files import FullFolders
from bot.photos.pipeline import ImageOptions
from bot.photos.store import PhotoStore
from bot.photos.workers import ImageWorkers, memory_limit
from bot.site.gallery import Gallery, GalleryFolderProblem
from models.apprentices import banned_ids
from models.db import make_engine, make_sessionmaker, sqlite_folder

log = logging.getLogger(__name__)


class BanList:
    """Banned apprentices' ids, read once at start and kept current by the ban commands, so
    the guard checks every update without a query."""

    def __init__(self) -> None:
        self._ids: set[int] = set()

    async def load(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        async with sessions() as session:
            self._ids = await banned_ids(session)

    def __contains__(self, apprentice_id: object) -> bool:
        return apprentice_id in self._ids

    def add(self, apprentice_id: int) -> None:
        self._ids.add(apprentice_id)

    def discard(self, apprentice_id: int) -> None:
        self._ids.discard(apprentice_id)


@dataclass
class CardDesk:
    """Card posting's own state: one poster at a time (the submit handler and the retry job
    never post a card twice), and whether the group was unreachable (logged once, not in
    a loop)."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    unreachable: bool = False


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    images: ImageOptions
    image_workers: ImageWorkers
    """Where uploads are processed: worker processes, each job bounded in time and memory."""
    photos: PhotoStore
    gallery: Gallery
    """The public site, kept in step with the channel (:meth:`update_site`)."""
    banned: BanList = field(default_factory=BanList)
    cards: CardDesk = field(default_factory=CardDesk)
    visitor_keys: VisitorKeys = field(default_factory=VisitorKeys)
    """Today's key for counting followers' visits once without knowing who they are."""
    full: FullFolders = field(default_factory=lambda: FullFolders({}))
    """The folders a write found full: the moderators are told once (the catch-up job)."""

    async def update_site(self, entry_ids: Collection[int]) -> None:
        """Put these entries on the public site, or take them off, as they now are. A
        failure (a full disk, say) must not stop a publication or an erasure: it is logged,
        and the next full build (at start, after each daily purge) mends the site."""
        try:
            await self.gallery.sync(entry_ids)
        except Exception as error:
            self._site_failed(error, f"updated for entries {sorted(entry_ids)}")

    async def rebuild_site(self) -> None:
        """The whole public site from the database (writes only what changed): at start,
        after each purge; a failure is logged like :meth:`update_site`'s."""
        try:
            report = await self.gallery.build()
        except Exception as error:
            self._site_failed(error, "built")
        else:
            if report.written or report.removed:
                log.info("public site built: %s", report)

    def _site_failed(self, error: Exception, what: str) -> None:
        """Log a failed write of the site: a folder problem or no room in one line (the
        catch-up job tells the moderators of the latter), anything else with its trace."""
        if isinstance(error, GalleryFolderProblem):
            log.error("public site not %s: %s", what, error)
        elif self.full.note(error):
            log.error("public site not %s: no room", what)
        else:
            log.exception("public site not %s", what)


def make_services(settings: Settings) -> Services:
    """The services of one process: the bot, or a command such as ``selfie-bot purge``
    (image workers start only when a photo comes)."""
    engine = make_engine(settings.database.url)
    sessions = make_sessionmaker(engine)
    images = image_options(settings)
    photos = PhotoStore(settings.storage.path)
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        images=images,
        image_workers=ImageWorkers(memory_limit(images)),
        photos=photos,
        gallery=Gallery(settings, sessions, photos),
        full=FullFolders(
            {
                "storage": settings.storage.path,
                "database": sqlite_folder(engine),
                "site": settings.gallery.path if settings.gallery.enabled else None,
            }
        ),
    )


def image_options(settings: Settings) -> ImageOptions:
    images = settings.images
    return ImageOptions(
        max_pixels=images.max_pixels,
        long_side=images.long_side,
        min_short_side=images.min_short_side,
        jpeg_quality=images.jpeg_quality,
        frame_path=images.frame,
        band_text=settings.campaign.name if images.band else None,
        branding=bool(images.frame or images.band),
        faces_min_px=settings.coach.faces_min_px if settings.coach.enabled else None,
    )
