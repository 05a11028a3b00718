"""Queries of the bot's conversation states and per-user data (:class:`BotState`).

One row per (kind, key) holding JSON, so that a restart — even after ``kill -9`` —
resumes every apprentice at the step they were at. The Telegram side of this lives in
:mod:`bot.app.persistence`.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import upsert_many, utcnow
from models.tables import BotState

USER_KIND = "user"
"""``kind`` of the rows holding a user's ``user_data``."""


async def load_state(session: AsyncSession, kind: str) -> dict[str, Any]:
    rows = await session.execute(select(BotState.key, BotState.data).where(BotState.kind == kind))
    return {key: data for key, data in rows}


ROWS_PER_STATEMENT = 500
"""4 parameters a row: well under SQLite's and asyncpg's limits on bound parameters."""

Row = tuple[str, str]
"""(kind, key)"""


async def save_states(session: AsyncSession, rows: dict[Row, Any]) -> None:
    """Write many rows at once: a persistence round is one statement, not one per user."""
    now = utcnow()
    values = [
        {"kind": kind, "key": key, "data": data, "updated_at": now}
        for (kind, key), data in rows.items()
    ]
    for start in range(0, len(values), ROWS_PER_STATEMENT):
        chunk = values[start : start + ROWS_PER_STATEMENT]
        await upsert_many(session, BotState, ["kind", "key"], chunk)


async def delete_states(session: AsyncSession, rows: list[Row]) -> None:
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        await session.execute(
            delete(BotState).where(tuple_(BotState.kind, BotState.key).in_(chunk))
        )


async def delete_user_state(session: AsyncSession, user_id: int) -> None:
    """Forget a user's answers and conversation steps (an erasure): their ``user`` row and
    the private-chat conversation rows keyed ``[chat_id, user_id]``."""
    own_user_data = (BotState.kind == USER_KIND) & (BotState.key == str(user_id))
    own_conversations = BotState.kind.startswith("conversation:") & (
        BotState.key == json.dumps([user_id, user_id])
    )
    await session.execute(delete(BotState).where(own_user_data | own_conversations))
