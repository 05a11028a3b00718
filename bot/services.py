"""What every handler can reach: settings and the database, carried by the Application."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import Application

from bot.campaign.interest import VisitorKeys
from bot.config import Settings
from bot.metrics import timed_update
from bot.ops.monitoring import update_type
from bot.ops.retention import log_report, purge
from bot.photos.pipeline import ImageOptions
from bot.photos.store import PhotoStore
from bot.photos.workers import ImageWorkers, memory_limit
from bot.site.gallery import Gallery, GalleryFolderProblem
from models.apprentices import banned_ids
from models.db import make_engine, make_sessionmaker, upgrade

if TYPE_CHECKING:
    from bot.ops.monitoring import Monitor

log = logging.getLogger(__name__)


@dataclass
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
    banned: set[int] = field(default_factory=set)
    """Banned apprentices' ids, loaded at start and kept current by the ban commands."""
    moderation_unreachable: bool = False
    """Set while cards cannot be posted, so the failure is logged once, not in a loop."""
    awaiting_reason: dict[int, int] = field(default_factory=dict)
    """Card message id → entry id, while a moderator types an "other" refusal reason."""
    card_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Serialises card posting: the submit handler and the retry job never post twice."""
    bot_username: str = ""
    """The bot's @username (from getMe at start): the posts' deep links name it."""
    visitor_keys: VisitorKeys = field(default_factory=VisitorKeys)
    """Today's key for counting followers' visits once without knowing who they are."""
    monitor: Monitor | None = None
    """``/healthz`` and ``/metrics``, while the bot runs (:mod:`bot.ops.monitoring`)."""

    async def update_site(self, entry_ids: Collection[int]) -> None:
        """Put these entries on the public site, or take them off, as they now are. A
        failure (a full disk, say) must not stop a publication or an erasure: it is logged,
        and the next full build (at start, after each daily purge) mends the site."""
        try:
            await self.gallery.sync(entry_ids)
        except GalleryFolderProblem as problem:
            log.error("public site not updated: %s", problem)
        except Exception:
            log.exception("public site not updated for entries %s", sorted(entry_ids))

    async def rebuild_site(self) -> None:
        """The whole public site from the database (writes only what changed): at start,
        after each purge; a failure is logged like :meth:`update_site`'s."""
        try:
            report = await self.gallery.build()
        except GalleryFolderProblem as problem:
            log.error("public site not built: %s", problem)
        except Exception:
            log.exception("public site not built")
        else:
            if report.written or report.removed:
                log.info("public site built: %s", report)


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
    )


class SelfieApplication(Application):
    """PTB's Application with the bot's services, so handlers need no global state."""

    def __init__(self, *, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services

    async def initialize(self) -> None:
        """Migrate the database first and apply retention: PTB then loads the persisted
        conversations, none of them older than ``retention.draft_hours``."""
        await upgrade(self.services.engine)
        # Before polling: no photo is being stored, so every orphan (a crash between a
        # commit and a file operation) goes at once, however young.
        log_report(await purge(self.services, sweep_grace=0))
        async with self.services.sessions() as session:
            self.services.banned = await banned_ids(session)
        await super().initialize()

    async def process_update(self, update: object) -> None:
        """PTB's handling of an update, counted and timed for ``/metrics``."""
        with timed_update(update_type(update)):
            await super().process_update(update)
