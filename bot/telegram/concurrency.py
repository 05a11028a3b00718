"""Updates of different people at once, each person's own updates in order, none in excess.

PTB processes one update at a time by default: one apprentice's 48 MP photo would make
every other apprentice wait. Running everything concurrently is wrong too: a
conversation's steps (an album's photos, a quick double tap) must be handled in the order
they were sent. This processor gives each user (or chat, for channel posts) a queue: a
lock taken in arrival order.

Fairness: PTB takes a slot of its own semaphore *before* :meth:`do_process_update` sees an
update (``process_update`` is final), so with PTB's semaphore as the bound, 40 quick
updates from one person sat in all 8 slots waiting for that person's lock, and everyone
else waited behind them. Here PTB's bound is large (:data:`MAX_WAITING_UPDATES`) and the
real slots (:data:`MAX_CONCURRENT_UPDATES`) are taken only once the person's lock is held:
one person's queued updates hold at most one slot. A person's queue is short
(:data:`MAX_QUEUED_PER_USER`): beyond it updates are dropped, the first of a burst marked
:attr:`Admission.SLOW_DOWN` so the guard handler says why (``handlers/guard.py``).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MAX_CONCURRENT_UPDATES = 8
"""Enough to overlap photo downloads and network waits: at Telegram's round trip 8
updates in flight make far more calls than its 30 messages/s allow. More costs CPU: every
Bot API call makes httpcore check each open connection with system calls (16 in flight:
a quarter of the bot's CPU; measured in benchmarks/)."""

MAX_WAITING_UPDATES = 4096
"""PTB's own bound: updates inside the processor, waiting for their person or a slot.
Each person has at most :data:`MAX_QUEUED_PER_USER` of them (plus an album), so this is
only reached by thousands of people writing in the same instant."""

MAX_QUEUED_PER_USER = 8
"""A person's updates waiting or running; more are dropped. Room for a double tap, a few
"hello?" while a photo is processed, half a dozen files sent one after the other (an
album counts once); 50 messages in a second are a flood."""


class Admission(enum.Enum):
    """What the processor decided for the update being handled."""

    QUEUED = "queued"
    """In the person's queue: handled in order."""
    SLOW_DOWN = "slow_down"
    """The first update over the person's limit: dropped, with one "slow down" answer."""
    DROPPED = "dropped"
    """Over the limit after that: dropped; a button press still gets its (empty) answer."""


_admission: ContextVar[Admission] = ContextVar("admission", default=Admission.QUEUED)
_slot: ContextVar[_Slot | None] = ContextVar("update_slot", default=None)


def admission() -> Admission:
    """The processor's decision for the update this handler is running for."""
    return _admission.get()


@asynccontextmanager
async def slot_released() -> AsyncIterator[None]:
    """Give this update's slot to others while it waits on work that needs neither the
    event loop nor a connection (an image worker, up to its time limit); taken back after.
    The person's lock stays held, so their next update still waits its turn."""
    slot = _slot.get()
    if slot is None or not slot.held:
        yield
        return
    slot.give_back()
    try:
        yield
    finally:
        await slot.take()


@dataclass
class _Queue:
    """One person's updates: the lock that orders them and what the limit needs."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    queued: int = 0
    """Updates admitted and not finished (running or waiting for the lock)."""
    slots: int = 0
    """Slots held by those updates: at most one, by construction."""
    warned: bool = False
    """This burst already got its "slow down"; reset when the queue empties."""
    albums: set[str] = field(default_factory=set)
    """Albums admitted: an album's photos arrive as separate updates at once."""


class _Slot:
    """One update's claim on a slot, given back at most once per take."""

    def __init__(self, slots: asyncio.Semaphore, queue: _Queue | None) -> None:
        self._slots = slots
        self._queue = queue
        self.held = False

    async def take(self) -> None:
        await self._slots.acquire()
        self.held = True
        if self._queue is not None:
            self._queue.slots += 1

    def give_back(self) -> None:
        if self.held:
            self.held = False
            self._slots.release()
            if self._queue is not None:
                self._queue.slots -= 1


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(
        self,
        max_concurrent_updates: int = MAX_CONCURRENT_UPDATES,
        max_queued_per_user: int = MAX_QUEUED_PER_USER,
    ) -> None:
        super().__init__(MAX_WAITING_UPDATES)
        self.max_queued_per_user = max_queued_per_user
        self.slots = max_concurrent_updates
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._queues: dict[int, _Queue] = {}

    def queued(self, key: int) -> int:
        """Updates of this person (or chat) admitted and not finished."""
        queue = self._queues.get(key)
        return queue.queued if queue else 0

    def slots_held(self, key: int) -> int:
        """Slots held by this person's queued updates (never more than one)."""
        queue = self._queues.get(key)
        return queue.slots if queue else 0

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _key(update)
        if key is None:
            await self._in_slot(coroutine, None)
            return
        queue = self._queues.setdefault(key, _Queue())
        decision = self._admit(queue, update)
        if decision is not Admission.QUEUED:
            await self._dropped(update, coroutine, decision)
            return
        queue.queued += 1
        try:
            async with queue.lock:
                await self._in_slot(coroutine, queue)
        finally:
            queue.queued -= 1
            if not queue.queued:
                del self._queues[key]

    def _admit(self, queue: _Queue, update: object) -> Admission:
        album = _album(update)
        if queue.queued < self.max_queued_per_user or (album and album in queue.albums):
            if album:
                queue.albums.add(album)
            return Admission.QUEUED
        if queue.warned:
            return Admission.DROPPED
        queue.warned = True
        return Admission.SLOW_DOWN

    async def _dropped(
        self, update: object, coroutine: Awaitable[Any], decision: Admission
    ) -> None:
        """Handled at once, outside the person's queue: the guard handler stops it. Only an
        update that gets an answer (the "slow down", a button's) takes a slot for it."""
        token = _admission.set(decision)
        try:
            if decision is Admission.SLOW_DOWN or _is_button(update):
                await self._in_slot(coroutine, None)
            else:
                await coroutine
        finally:
            _admission.reset(token)

    async def _in_slot(self, coroutine: Awaitable[Any], queue: _Queue | None) -> None:
        slot = _Slot(self._slots, queue)
        await slot.take()
        token = _slot.set(slot)
        try:
            await coroutine
        finally:
            _slot.reset(token)
            slot.give_back()

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


def _album(update: object) -> str | None:
    message = update.effective_message if isinstance(update, Update) else None
    return message.media_group_id if message is not None else None


def _is_button(update: object) -> bool:
    return isinstance(update, Update) and update.callback_query is not None
