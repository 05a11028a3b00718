"""A follower's visit through a post's « ce métier m'intéresse » link: what the bot tells
them, and how the visit is counted without keeping who they are: a person once a day per
post and per trade (:mod:`models.interest` says why), answered every time."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaign.links import slugify
from bot.campaign.schedule import local_day
from bot.config import Settings
from models.base import ROW_ID_MAX
from models.interest import forget_visitors_before, record_visit
from models.tables import Submission, SubmissionStatus


class VisitorKeys:
    """One random key per day, in memory only: a visitor's digest is the same all day (so
    they count once a day per post and per trade, however often they come back) and cannot
    be linked to them, nor to another day, once the key is gone. A restart draws a new key:
    someone visiting again that day is then counted again."""

    def __init__(self) -> None:
        self._day: date | None = None
        self._key = b""

    def digest(self, user_id: int, day: date) -> str:
        if day != self._day:
            self._day, self._key = day, secrets.token_bytes(32)
        return hashlib.blake2b(b"%d" % user_id, key=self._key, digest_size=16).hexdigest()


@dataclass(frozen=True)
class TradeInfo:
    """What a follower is told about a post's trade."""

    trade: str
    sector: str | None
    apprentices: int
    """Entries of this trade on the channel now."""
    centres: list[str]
    """Training centres of those entries, most of them first."""
    counted: bool = False
    """This visit counted: the person's first of the day on this post (a repeat is
    answered the same, and counts nothing)."""


async def visit(
    session: AsyncSession,
    settings: Settings,
    keys: VisitorKeys,
    entry_id: int,
    user_id: int,
    now: datetime,
) -> TradeInfo | None:
    """Count a visit of the post of ``entry_id`` (once a day per person) and say what its
    trade is, a repeat too; None when that post is no longer on the channel, or never was
    (nothing counted)."""
    if not 0 < entry_id <= ROW_ID_MAX:
        return None
    trade = await session.scalar(
        select(Submission.trade).where(
            Submission.id == entry_id, Submission.status == SubmissionStatus.PUBLISHED
        )
    )
    if not trade:
        return None
    day = local_day(settings, now)
    await forget_visitors_before(session, day)
    counted = await record_visit(session, day, entry_id, trade, keys.digest(user_id, day))
    return replace(await trade_info(session, settings, trade), counted=counted)


async def trade_info(session: AsyncSession, settings: Settings, trade: str) -> TradeInfo:
    published = (Submission.trade == trade, Submission.status == SubmissionStatus.PUBLISHED)
    apprentices = await session.scalar(select(func.count()).where(*published)) or 0
    rows = await session.execute(
        select(Submission.centre_name, func.count())
        .where(*published)
        .group_by(Submission.centre_name)
        .order_by(func.count().desc(), Submission.centre_name)
        .limit(5)
    )
    wanted = slugify(trade)
    sector = next(
        (
            group.sector
            for group in settings.campaign.trades
            if any(slugify(name) == wanted for name in group.trades)
        ),
        None,
    )
    return TradeInfo(trade, sector, apprentices, [name for name, _n in rows if name])
