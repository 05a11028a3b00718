"""Conversation states and per-user data of the bot, stored next to everything else.

One row per (kind, key) holding JSON, so that a restart — even after ``kill -9`` —
resumes every apprentice at the step they were at. The Telegram side of this lives in
:mod:`bot.persistence`; here are only the table and its three queries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, upsert, utcnow


class BotState(Base):
    __tablename__ = "bot_state"

    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    """``user`` for user_data, ``conversation:<name>`` for a conversation's states."""
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    data: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


async def load_state(session: AsyncSession, kind: str) -> dict[str, Any]:
    rows = await session.execute(select(BotState.key, BotState.data).where(BotState.kind == kind))
    return {key: data for key, data in rows}


async def save_state(session: AsyncSession, kind: str, key: str, data: Any) -> None:
    keys = {"kind": kind, "key": key}
    await upsert(session, BotState, keys, {"data": data, "updated_at": utcnow()})


async def delete_state(session: AsyncSession, kind: str, key: str) -> None:
    await session.execute(delete(BotState).where(BotState.kind == kind, BotState.key == key))
