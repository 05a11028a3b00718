"""Key/value settings that must survive a restart (e.g. "publishing paused")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import upsert, utcnow
from models.tables import Setting

PUBLISHING_PAUSED = "publishing_paused"
"""Why publishing is paused (a moderator, or the channel refusing the bot); None: running."""
PUBLISHING_PAUSE_TOLD = "publishing_pause_told"
"""False while the moderators have not yet received the pause alert (retried by a job)."""
CHANNEL_LAST_POST = "channel_last_post"
"""The highest message id of the bot's posts on the channel it knows of: after an
ambiguous send, its post (if any) is after it (:mod:`bot.telegram.probe`)."""


async def get_setting(session: AsyncSession, key: str, default: Any = None) -> Any:
    """The JSON value stored under ``key``, or ``default``."""
    value = await session.scalar(select(Setting.value).where(Setting.key == key))
    return default if value is None else value


async def set_setting(session: AsyncSession, key: str, value: Any) -> None:
    """Store a JSON-serialisable ``value`` under ``key`` (atomic upsert; caller commits)."""
    await upsert(session, Setting, {"key": key}, {"value": value, "updated_at": utcnow()})
