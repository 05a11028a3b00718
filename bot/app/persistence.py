"""PTB persistence backed by the bot's own database (SQLite or PostgreSQL).

Only what must survive a restart is stored: user_data (answers so far, language),
conversation states, and bot_data (the cards awaiting a moderator's typed reason). PTB
calls ``update_*`` from its persistence loop every ``update_interval`` seconds with what
was touched since the last run; what they hand over is written in one transaction per
round (see :meth:`SQLPersistence.flush`), so a crash loses at most the last round.
"""

from __future__ import annotations

import asyncio
import json
import logging
from copy import deepcopy
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.ext import BasePersistence, PersistenceInput

from models.state import USER_KIND, delete_states, load_state, save_states

ConversationKey = tuple[int | str, ...]
ConversationDict = dict[ConversationKey, object]
CallbackData = tuple[list[tuple[str, float, dict[str, Any]]], dict[str, str]]

log = logging.getLogger(__name__)

USER = USER_KIND
BOT, BOT_KEY = "bot", ""

UPDATE_INTERVAL = 0.5
"""Seconds between writes: small, so that a crash loses at most the last half second."""


def _conversation_kind(name: str) -> str:
    return f"conversation:{name}"


class SQLPersistence(BasePersistence[dict[str, Any], dict[str, Any], dict[str, Any]]):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        update_interval: float = UPDATE_INTERVAL,
    ) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=True, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.sessions = sessions
        self._written: dict[tuple[str, str], Any] = {}
        """Last value written per row, to skip writes when nothing changed."""
        self._pending: dict[tuple[str, str], Any] = {}
        """Rows to write (None: to delete), gathered over one persistence round."""
        self._writer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def _save(self, kind: str, key: str, data: Any) -> None:
        if self._written.get((kind, key)) != data:
            self._queue((kind, key), deepcopy(data))

    async def _delete(self, kind: str, key: str) -> None:
        self._queue((kind, key), None)

    def _queue(self, row: tuple[str, str], data: Any) -> None:
        """PTB hands over the touched rows one by one: they are written together, in one
        transaction, as soon as its persistence round lets the event loop run."""
        self._pending[row] = data
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self.flush())

    async def flush(self) -> None:
        async with self._lock:
            while self._pending:
                batch, self._pending = self._pending, {}
                try:
                    async with self.sessions() as session, session.begin():
                        await delete_states(session, [r for r, d in batch.items() if d is None])
                        await save_states(
                            session, {r: d for r, d in batch.items() if d is not None}
                        )
                except SQLAlchemyError:
                    # Kept for the next round rather than lost; newer values win.
                    log.exception("conversation states not saved (%s rows), retried", len(batch))
                    self._pending = {**batch, **self._pending}
                    return
                for row, data in batch.items():
                    if data is None:
                        self._written.pop(row, None)
                    else:
                        self._written[row] = data

    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        async with self.sessions() as session:
            rows = await load_state(session, USER)
        self._written.update({(USER, key): deepcopy(data) for key, data in rows.items()})
        return {int(key): data for key, data in rows.items()}

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        if data:
            await self._save(USER, str(user_id), data)
        else:
            await self._delete(USER, str(user_id))

    async def drop_user_data(self, user_id: int) -> None:
        await self._delete(USER, str(user_id))

    async def refresh_user_data(self, user_id: int, user_data: dict[str, Any]) -> None:
        """The in-memory copy is the truth while running: nothing to refresh."""

    async def get_conversations(self, name: str) -> ConversationDict:
        async with self.sessions() as session:
            rows = await load_state(session, _conversation_kind(name))
        return {tuple(json.loads(key)): state for key, state in rows.items()}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        row_key = json.dumps(list(key))
        if new_state is None:
            await self._delete(_conversation_kind(name), row_key)
        else:
            await self._save(_conversation_kind(name), row_key, new_state)

    async def get_bot_data(self) -> dict[str, Any]:
        async with self.sessions() as session:
            rows = await load_state(session, BOT)
        data = rows.get(BOT_KEY, {})
        self._written[(BOT, BOT_KEY)] = deepcopy(data)
        return dict(data)

    async def update_bot_data(self, data: dict[str, Any]) -> None:
        """Handed over every round: written only when it changed."""
        if data:
            await self._save(BOT, BOT_KEY, data)
        elif self._written.get((BOT, BOT_KEY)):
            await self._delete(BOT, BOT_KEY)

    async def refresh_bot_data(self, bot_data: dict[str, Any]) -> None:
        """The in-memory copy is the truth while running: nothing to refresh."""

    # chat_data and callback_data are not stored (see store_data above), but PTB still
    # requires these methods.
    async def get_chat_data(self) -> dict[int, dict[str, Any]]:
        return {}

    async def update_chat_data(self, chat_id: int, data: dict[str, Any]) -> None:
        """Not stored."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Not stored."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[str, Any]) -> None:
        """Not stored."""

    async def get_callback_data(self) -> CallbackData | None:
        return None

    async def update_callback_data(self, data: CallbackData) -> None:
        """Not stored."""
