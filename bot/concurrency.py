"""Updates of different people at once, each person's own updates in order.

PTB processes one update at a time by default: one apprentice's 48 MP photo would make
every other apprentice wait. Running everything concurrently is wrong too: a
conversation's steps (an album's photos, a quick double tap) must be handled in the order
they were sent. This processor gives each user (or chat, for channel posts) a lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MAX_CONCURRENT_UPDATES = 8
"""Enough to overlap photo processing and network waits: at Telegram's round trip 8
updates in flight make far more calls than its 30 messages/s allow. More costs CPU: every
Bot API call makes httpcore check each open connection with system calls (16 in flight:
a quarter of the bot's CPU; measured in benchmarks/)."""


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}
        """How many updates of each key are in flight, to drop idle locks."""

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _key(update)
        if key is None:
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def _key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    return update.effective_chat.id if update.effective_chat else None
