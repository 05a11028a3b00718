"""The retention rules of ``[retention]``, applied at start, every day and by
``selfie-bot purge``: each rule in its own short transaction, files deleted after the
commit, so running it while the bot works (or twice) is safe.

A dry run carries out the very same statements and rolls them back: the counts it prints
are exactly what a real run would remove.
"""

from __future__ import annotations

import asyncio
import calendar
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaign.schedule import local_day
from bot.config import Settings
from bot.photos.store import photo_of_thumbnail
from models.base import utcnow
from models.retention import (
    expire_conversations,
    expire_drafts,
    purge_campaign,
    purge_refused,
)
from models.submissions import photo_paths

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

SWEEP_GRACE_SECONDS = 600
"""A photo is saved a moment before the row naming it is committed: files younger than
this are never swept, so a photo being stored is never mistaken for an orphan."""

T = TypeVar("T")


@dataclass
class PurgeReport:
    """What a purge removed (or would remove): counts only, never names."""

    drafts: int = 0
    conversations: int = 0
    refused: int = 0
    campaign_deleted: int = 0
    campaign_register: int = 0
    files: int = 0
    forgotten_users: list[int] = field(default_factory=list)
    """Apprentices whose unfinished answers went (the running bot forgets them too)."""
    campaign_over: bool = False

    def lines(self) -> list[str]:
        return [
            f"unfinished drafts deleted: {self.drafts}",
            f"unfinished conversations forgotten: {self.conversations}",
            f"refused entries emptied: {self.refused}",
            f"entries deleted after the campaign: {self.campaign_deleted}",
            f"entries reduced to the consent register: {self.campaign_register}",
            f"photo files deleted: {self.files}",
        ]

    @property
    def total(self) -> int:
        return (
            self.drafts
            + self.conversations
            + self.refused
            + self.campaign_deleted
            + self.campaign_register
            + self.files
        )


def campaign_retention_ends(settings: Settings) -> date | None:
    """The day everything but the consent register goes (None: no campaign end set)."""
    ends = settings.campaign.ends
    if ends is None:
        return None
    months = ends.month - 1 + settings.retention.months_after_campaign
    year, month = ends.year + months // 12, months % 12 + 1
    day = min(ends.day, calendar.monthrange(year, month)[1])
    return date(year, month, day) + timedelta(days=1)


def campaign_over(settings: Settings, now: datetime) -> bool:
    """The campaign's last day is behind us (in the campaign's time zone)."""
    ends = settings.campaign.ends
    return ends is not None and local_day(settings, now) > ends


async def purge(
    services: Services,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    sweep_grace: float = SWEEP_GRACE_SECONDS,
) -> PurgeReport:
    """Apply every retention rule once; with ``dry_run`` nothing changes. ``sweep_grace``:
    0 only where no photo can be being stored (the bot's start, before polling)."""
    settings = services.settings
    now = now or utcnow()
    retention = settings.retention
    reasons = settings.moderation.reason_codes()
    report = PurgeReport()
    freed: list[str] = []

    async def rule(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with services.sessions() as session:
            result = await work(session)
            await (session.rollback() if dry_run else session.commit())
            return result

    before = now - timedelta(hours=retention.draft_hours)
    paths = await rule(lambda session: expire_drafts(session, before))
    report.drafts, freed = len(paths), freed + paths
    report.forgotten_users = await rule(lambda session: expire_conversations(session, before))
    report.conversations = len(report.forgotten_users)
    refused_before = now - timedelta(days=retention.refused_days)
    report.refused, paths = await rule(
        lambda session: purge_refused(session, refused_before, reasons)
    )
    freed += paths
    last_day = campaign_retention_ends(settings)
    if last_day is not None and local_day(settings, now) >= last_day:
        report.campaign_over = True
        deleted, register, paths = await rule(lambda session: purge_campaign(session, reasons))
        report.campaign_deleted, report.campaign_register = deleted, register
        freed += paths
    if dry_run:
        on_disk = {path for path in freed if services.photos.exists(path)}
        report.files = len(on_disk | set(await orphan_photos(services, sweep_grace)))
        return report
    gone = [await asyncio.to_thread(services.photos.delete, path) for path in freed]
    report.files = sum(gone) + await sweep_orphan_photos(services, sweep_grace)
    # Retention may have taken photos off the site; a full build also mends any update
    # that failed since the last one (it writes only what changed).
    await services.rebuild_site()
    return report


def log_report(report: PurgeReport) -> None:
    if report.total:
        log.info("retention: %s", "; ".join(report.lines()))


async def orphan_photos(services: Services, grace: float = SWEEP_GRACE_SECONDS) -> list[str]:
    """Stored photos that no row names (their thumbnails go with them), and thumbnails
    left without their photo. The files are listed first and the rows read after: a row
    naming a file listed was committed before the read, so it is seen."""
    store = services.photos
    candidates = await asyncio.to_thread(store.stored, time.time() - grace)
    if not candidates:
        return []
    async with services.sessions() as session:
        referenced = await photo_paths(session)
    listed = set(candidates)
    orphans, lone = [], []
    for path in candidates:
        photo = photo_of_thumbnail(path)
        if photo is None:
            if path not in referenced:
                orphans.append(path)
        # A thumbnail goes with its photo when the photo is listed; otherwise it is an
        # orphan when its photo is gone (a photo younger than the grace may be on disk,
        # its row not committed yet).
        elif photo not in referenced and photo not in listed:
            lone.append(path)
    if lone:
        gone = await asyncio.to_thread(
            lambda: [path for path in lone if not store.exists(photo_of_thumbnail(path) or "")]
        )
        orphans += gone
    return orphans


async def sweep_orphan_photos(services: Services, grace: float = SWEEP_GRACE_SECONDS) -> int:
    """Delete the files :func:`orphan_photos` finds (a crash between a commit and a file
    operation leaves them); the count."""
    orphans = await orphan_photos(services, grace)
    for path in orphans:
        await asyncio.to_thread(services.photos.delete, path)
    if orphans:
        log.warning("%s photo files without an entry deleted", len(orphans))
    return len(orphans)
