"""What the public site (:mod:`bot.site.gallery`) shows: read only, nothing here commits.

An entry is on the site exactly while it is on the channel and its apprentice agreed to the
site: published with a channel post, its photo still on disk (retention has not taken it),
its apprentice not banned, and agreed to under a consent wording that named the site
(:attr:`ConsentText.names_site`). Entries agreed to before the site was named stay off.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import Apprentice, ConsentText, Submission, SubmissionStatus


@dataclass(frozen=True)
class GalleryEntry:
    """One published selfie as the site shows it; ``display_name`` None is anonymous."""

    id: int
    display_name: str | None
    trade: str
    centre_code: str | None
    centre_name: str
    quote: str | None
    published_at: datetime
    channel_message_id: int
    photo_path: str
    """Processed JPEG, relative to the storage path."""
    width: int | None
    height: int | None


async def gallery_entries(
    session: AsyncSession, ids: Collection[int] | None = None
) -> list[GalleryEntry]:
    """Every entry the site shows, newest first; only those of ``ids`` when given, in no
    particular order (a sync reads the few entries it was told of, not the thousands it
    already knows).

    A Core select of the columns the site needs, run on the session's connection: plain
    tuples, no ORM identity map. The listing is served by
    ``ix_submissions_status_published_at_id``, ``ids`` by the primary key."""
    named_site = select(ConsentText.version).where(ConsentText.names_site.is_(True))
    statement = (
        select(
            Submission.id,
            Submission.display_name,
            Submission.trade,
            Submission.centre_code,
            Submission.centre_name,
            Submission.quote,
            Submission.published_at,
            Submission.channel_message_id,
            Submission.photo_path,
            Submission.width,
            Submission.height,
        )
        .join(Apprentice, Apprentice.id == Submission.apprentice_id)
        .where(
            Submission.status == SubmissionStatus.PUBLISHED,
            Submission.channel_message_id.is_not(None),
            Submission.photo_path.is_not(None),
            Submission.published_at.is_not(None),
            Apprentice.banned_at.is_(None),
            Submission.consent_version.in_(named_site),
        )
    )
    if ids is None:
        statement = statement.order_by(Submission.published_at.desc(), Submission.id.desc())
    elif not ids:
        return []
    else:  # unordered: an ORDER BY would make SQLite walk the published_at index instead
        statement = statement.where(Submission.id.in_(sorted(ids)))
    connection = await session.connection()
    # The WHERE makes the nullable columns present (mypy cannot know), and the columns are
    # in the dataclass's order: each row fits it as it is.
    rows = await connection.execute(statement)
    return [GalleryEntry(*row) for row in rows]  # type: ignore[arg-type]
