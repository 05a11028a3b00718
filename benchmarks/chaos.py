"""The chaos run: the bot's three promises, kept under Telegram's real faults, outages of its
database and of Telegram, and ``kill -9``.

``python -m benchmarks chaos [--seed N] [--apprentices 200] [--kills 30] [--quick]``

A subcommand of ``python -m benchmarks``, NOT one of its figures: it measures no speed, it
proves behaviour, so the default run never starts it. It checks that

1. each approved selfie is posted exactly once;
2. ``/supprimer`` removes everything: rows, photo files, conversation data, the channel post
   and the moderation card (deleted, or its picture and caption replaced where Telegram
   refuses the delete and a moderator asked to delete it by hand);
3. entries never get stuck without the moderators being told: the card of every entry
   still waiting shows its state, and every removal the bot still owes is asked for;

and it reports how the posts sent with their answer lost were settled: by the bot's own
search of the channel (:mod:`bot.telegram.probe`), or by asking the moderators.

The run
-------

This process holds the Telegram emulator (:mod:`bot.sandbox`) and every person; the bot
runs in a child process (:mod:`benchmarks.botproc`, the real ``build_application``), with
its SQLite file, photos and log (``bot.log``) in the work folder printed at the end. Its
cron never fires (only ``/publish_now`` publishes) and its catch-up job (cards, removals,
alerts Telegram refused) runs every 2 s (``moderation.retry_seconds``).

- **Chats.** The channel ``@fiers_test``: the bot is administrator, WITHOUT
  ``can_delete_messages`` from the time travel on. The moderators' group: the bot is
  administrator without ``can_delete_messages``, so its cards older than 48 hours are not its
  to delete. The per-group flood limit (20 a minute) is lifted, here and in the bot's rate
  limiter; Telegram's 30 messages a second stays.
- **Chaos.** The bot is SIGKILLed 2-6 s after each start (seeded) and restarted at once,
  ``--kills`` times (more while apprentices are still arriving). Until every apprentice is
  through, 20 % of Bot API calls fail: 500, 502, time-out, dropped connection, and 429 for
  about 1 % of calls (:data:`FAULT_MIX`); half of the 5xx, time-outs and drops AFTER the call
  was carried out (sent, answer lost). Two of those are planted, so that every run meets a
  moderation card sent but unconfirmed. The channel refuses, every time (400), the posts of
  a few apprentices (3 %). A quarter of the way through the kills, the bot is kicked from the
  channel for a few seconds (up to 1 s after it said ready); from half of them, once the
  apprentices who erase before it have, the world travels 49 hours (every message becomes
  too old for the bot to delete); from three quarters, another kick.
- **Outages** (:func:`outages`), one after the other, spread over the first 85 % of the
  kills, each beginning up to 2 s after the bot said ready (seeded):

  - *database*, ``db_outages`` times (4; 1 in ``--quick``): what a backup or a maintenance
    job does to SQLite, another process (a thread of this one, its own connection) holding
    the write lock (``BEGIN IMMEDIATE``: in WAL mode the same as ``BEGIN EXCLUSIVE``) for
    6-12 s, longer than the bot's ``busy_timeout`` (5 s, ``models/db.py``): the bot's
    writes fail with "database is locked", its reads and this process's go on;
  - *Telegram*, ``telegram_outages`` times (4; 1 in ``--quick``): the emulator stopped
    (connections refused, calls under way cut) for 11-16 s (11-13 in ``--quick``), longer
    than the bot's polling time-out (``getUpdates`` waits 10 s), then started again on the
    same port with everything it held; people go on writing and pressing meanwhile, and
    Telegram keeps their updates for the bot.

  The first and every other outage of each kind the bot lives through (no kill
  meanwhile: between two kills it lives 2-6 s, too short to meet a 5 s time-out at work);
  during the others the kills go on and the bot starts while its database or Telegram is
  out. A start that exits before it is ready is started again 1 s later, as systemd's
  ``Restart=on-failure`` would (10 s in ``deploy/``): counted, and listed if it happened
  outside an outage. The bot's log says when each outage began and ended
  (``=== chaos: ... ===``).
- **Apprentices** (:class:`Apprentice`), started over the ramp, walk the whole conversation
  like patient people on a phone: they answer the latest question; when nothing comes for a
  few seconds they answer again, send the photo again, or start over, each silence in a row
  waited out twice as long as the one before (8, 16, then 32 s before ``/start``: through
  an outage they wait rather than tap faster). Submitted means: the entry is in the
  database. 15 % then erase everything with ``/supprimer``: while pending,
  once approved, once published, or after the time travel.
- **Moderators** (:class:`Moderators`), two people reading the group. They approve most cards
  and refuse some; for a card "was it posted?" they look at the channel and forward the
  post, or say it is not there; an entry the channel refuses is tried once more, then
  refused; a message the bot asks them to delete by hand they delete, then press "done";
  after a pause alert they send ``/resume`` once the channel is back. A button the bot has
  not answered yet they press again only after :data:`UNANSWERED_S`. One of them sends
  ``/publish_now`` every few seconds, except while publishing is paused (as the cron it
  stands for would).
- **Settle.** Once every apprentice is through and the kills are done: random faults off
  (the channel still refuses what it refused), rights restored; the moderators go on until
  nothing waits (nothing pending, approved, held or to check, no removal owed, no card
  behind) or what waits has not changed for a while; then the bot is stopped cleanly.
- **Checks**, counts that must be 0: entries lost, posts duplicated, erased apprentices with
  anything left, entries (or removals) stuck without the moderators told, and apprentices
  who gave up; and at least 90 % of the sends with their answer lost settled by the bot
  itself (:func:`unsure_sends`, from the publisher's lines in ``bot.log``), of those it was
  allowed to look for: one it might not (kicked from the channel meanwhile) is left to the
  moderators by design, and counted apart. Each problem is listed (with the transcript of
  an apprentice who gave up; an error of the simulated people themselves is one too); the
  exit status is 1 if there is one. The report counts the outages of each kind with their
  lengths, and a Markdown snippet for ``RESULTS.md`` ends the output.

``--quick`` (20 apprentices, 5 kills, one outage of each kind, shorter waits) takes about a
minute and a quarter and is what ``tests/e2e/test_chaos_smoke.py`` runs; the full run about
twelve minutes (2 CPUs: the outages and the restarts they cause slow every apprentice down).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import math
import random
import re
import sqlite3
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import create_engine, func, or_, select
from sqlalchemy.engine import Engine

from benchmarks.driver import ROOT, PreparedPhoto, prepare_photo, send_prepared_photo
from bot.campaign.captions import visible_text
from bot.i18n import translations
from bot.photos.store import photo_of_thumbnail
from bot.sandbox.emulator import Chat, Emulator, User
from bot.sandbox.emulator.faults import Fault
from models import Apprentice as ApprenticeRow
from models import BotState, Removal, Setting, Submission
from models.settings import PUBLISHING_PAUSED
from models.state import USER_KIND
from tests.support.stand import TOKEN, stand_config, write_config

Message = dict[str, Any]

CHANNEL = "@fiers_test"
FAULT_KINDS = ("429", "500", "502", "timeout", "drop")
FAULT_MIX = ("429", *("500", "502", "timeout", "drop") * 5)
"""The kinds a failing call gets, drawn evenly from this list: each other kind five times
as often as a 429 (about 1 % of calls). A 429 stops the whole bot for ``retry_after`` + 0.1 s
(PTB's AIORateLimiter, as Telegram asks); with the five kinds alike, 4 % of calls, the bot
stood still most of the time at 200 apprentices (seed 1: 705 429s, 178 of 200 apprentices
gave up after 6 minutes), which tests the pace of the limiter, not the promises."""
NEVER_FAULTED = (
    "getUpdates",
    "getMe",
    "getChat",
    "getChatMember",
    "setMyCommands",
    "deleteWebhook",
)
"""Start-up and polling calls: a bot that cannot start or poll tests nothing else."""
REFUSED_MARKER = "NOPOST"
"""In the quote of the apprentices whose post the channel refuses every time (400)."""
NEVER = "0 3 29 2 *"
"""The schedule's cron: 3 a.m. on February 29th, so that only /publish_now publishes."""
ERASE_MOMENTS = ("pending", "approved", "published", "old")
"""When an apprentice erases: right after sending, once approved, once published, or after
the 49-hour time travel (their post and card too old for the bot to delete)."""
ERASE_WHEN_STATUS = {
    "pending": frozenset(),  # once the card is in the group
    "approved": frozenset({"approved", "publishing", "published", "needs_check", "held"}),
    "published": frozenset({"published"}),
    "old": frozenset({"published"}),  # then the time travel
}
"""The entry's states at which an apprentice erases, per moment."""
WAITING = ("pending", "approved", "publishing", "needs_check", "held")
"""States in which an entry still needs someone (a moderator, the publisher)."""
BUTTONS_OF_STATE = {
    "pending": "mod:ok",
    "approved": "mod:now",
    "needs_check": "mod:requeue",
    "held": "mod:requeue",
}
"""The button a card must offer for its entry's state: proof the moderators were told."""
UNANSWERED_S = 12.0
"""A moderator whose press the bot has not answered yet (Telegram away, the answer lost)
presses that button again only this long after (else after 4 s, or at once)."""


def shown(key: str) -> str:
    """How a person recognises a French text of the bot: its visible text up to the first
    placeholder (``t.me`` links, numbers...)."""
    return visible_text(translations("fr").gettext(key)).split("{", 1)[0].strip()


PHOTO_QUESTION = shown("photo.question")
PHOTO_AGAIN = shown("photo.problem.download_failed")
CAPTION_TITLE = shown("card.caption_title")  # "Légende publiée :", then the caption
CARD_TITLE = shown("card.title")  # "🆕 Participation n°", then the number
PAUSE_ALERT = shown("publishing.paused_error")  # "⛔ Publication en pause : ..."
PREVIEW_INTRO = shown("preview.intro")
STALE_BUTTON = shown("common.stale_button")
ANSWER_ABOVE = shown("common.answer_above")
POINTLESS = tuple(
    shown(key)
    for key in (
        "mod.already_decided",
        "mod.gone",
        "removal.check.already",
        "publishing.already_checked",
    )
)
"""The bot's answers after which a moderator stops pressing that button of that message."""
NAME = re.compile(r"Appr\d{4}")
POST_LINK = re.compile(r"https://t\.me/(?:c/(\d+)|([A-Za-z]\w+))/(\d+)")
ENTRY_NUMBER = re.compile(r"n°\s?(\d+)")


# --- the plan of a run --------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Everything a run depends on; the same plan and seed make the same run (as far as the
    operating system's scheduling lets them)."""

    seed: int = 1
    apprentices: int = 200
    kills: int = 30
    ramp_s: float = 300.0
    """Apprentices start over this long. A flow costs the bot ~30 messages and the rate
    limiter sends 28 a second: 200 apprentices in 90 s would queue faster than Telegram
    lets a bot answer, and impatient people tapping again would only make it worse."""
    kill_after_s: tuple[float, float] = (2.0, 6.0)
    """The bot is killed this long after it said ready (uniform, seeded)."""
    think_s: tuple[float, float] = (0.5, 2.0)
    """An apprentice reads and taps for this long before each action."""
    patience_s: float = 8.0
    """Nothing new for this long: an apprentice tries again (or starts over)."""
    give_up_s: float = 600.0
    """An apprentice who has not sent their selfie by then gives up (counted; must be 0)."""
    publish_every_s: float = 2.0
    """/publish_now by a moderator during the chaos; four times as often while settling."""
    moderator_every_s: tuple[float, float] = (0.6, 1.2)
    """Between two looks of a moderator at the group."""
    kick_s: tuple[float, float] = (3.0, 5.0)
    """How long the bot stays kicked from the channel, each time."""
    settle_stuck_s: float = 60.0
    """While settling, what still waits has not changed for this long: it never will."""
    fault_rate: float = 0.2
    db_outages: int = 4
    """Times another process holds SQLite's write lock during the kills (:func:`outages`)."""
    db_outage_s: tuple[float, float] = (6.0, 12.0)
    """How long it holds it, each time: beyond the bot's ``busy_timeout`` (5 s,
    ``models/db.py``), so that the bot's writes meanwhile fail with "database is locked"."""
    telegram_outages: int = 4
    """Times the emulator stops (connections refused) during the kills, then starts again
    on its port with everything it held."""
    telegram_outage_s: tuple[float, float] = (11.0, 16.0)
    """How long it stays stopped, each time: beyond the bot's polling time-out (``getUpdates``
    waits 10 s: ``benchmarks/botproc``, PTB's ``run_polling`` default in production)."""
    restart_after_s: float = 1.0
    """A bot that exits before it is ready (Telegram or the database out at its start) is
    started again after this long, as systemd's ``Restart=on-failure`` does (10 s in
    ``deploy/selfie-bot.service``, shortened here)."""

    @classmethod
    def quick(cls, seed: int = 1) -> Plan:
        return cls(
            seed=seed,
            apprentices=20,
            kills=5,
            ramp_s=6.0,
            think_s=(0.1, 0.4),
            patience_s=3.0,
            give_up_s=150.0,
            publish_every_s=1.0,
            moderator_every_s=(0.3, 0.6),
            kick_s=(2.0, 3.0),
            settle_stuck_s=30.0,
            db_outages=1,
            telegram_outages=1,
            telegram_outage_s=(11.0, 13.0),
        )


@dataclass(frozen=True)
class Role:
    """Who one simulated apprentice is and what they will do, drawn before the run."""

    number: int
    name: str
    """Their first name, unique ("Appr0042"): it is in their caption, so it finds their
    post and their card."""
    start_s: float
    minor: bool
    trade: str
    centre: str
    quote: str | None
    """Typed at the quote step; None: skipped."""
    refused_by_channel: bool
    refused_by_moderators: bool
    erase_when: str | None
    """One of :data:`ERASE_MOMENTS`, or None: keeps their entry."""


def cast(plan: Plan) -> list[Role]:
    """The apprentices of the run: a few the channel refuses, some the moderators refuse,
    some who erase (each a different one), the rest ordinary."""
    rng = random.Random(f"{plan.seed}:roles")
    n = plan.apprentices
    order = rng.sample(range(n), n)
    erasers = order[: min(n, max(4, round(n * 0.15)))]
    refused_by_channel = set(order[len(erasers) :][: max(1, round(n * 0.03))])
    taken = len(erasers) + len(refused_by_channel)
    refused_by_moderators = set(order[taken:][: max(1, round(n * 0.1))])
    erase_when = {number: ERASE_MOMENTS[i % len(ERASE_MOMENTS)] for i, number in enumerate(erasers)}
    roles = []
    for number in range(n):
        quote = f"J'adore mon métier n°{number}" if rng.random() < 0.5 else None
        if number in refused_by_channel:
            quote = f"{REFUSED_MARKER} ma photo {number}"
        roles.append(
            Role(
                number=number,
                name=f"Appr{number:04d}",
                start_s=rng.uniform(0, plan.ramp_s),
                minor=rng.random() < 0.2,
                trade=f"trade:0:{rng.randrange(2)}",
                centre=f"centre:{rng.randrange(3)}",
                quote=quote,
                refused_by_channel=number in refused_by_channel,
                refused_by_moderators=number in refused_by_moderators,
                erase_when=erase_when.get(number),
            )
        )
    return roles


# --- what happened, counted as it happens -------------------------------------------------


@dataclass
class Tally:
    kills: int = 0
    kicks: int = 0
    travelled: bool = False
    db_outages: list[float] = field(default_factory=list)
    """How long each database outage lasted (the write lock held), in seconds."""
    telegram_outages: list[float] = field(default_factory=list)
    """How long each Telegram outage lasted (the emulator stopped), in seconds."""
    outage_windows: list[tuple[float, float]] = field(default_factory=list)
    """(start, end) of every outage, monotonic time: a start failing in one is expected."""
    failed_starts: list[tuple[float, float, int | None]] = field(default_factory=list)
    """(from, to, exit status) of each start of the bot that ended before it was ready."""
    simulation_errors: list[str] = field(default_factory=list)
    """Tracebacks of the simulated people's own errors (a moderator's look that raised):
    a fault of the chaos run, not of the bot, but the run then proves less."""
    faults: Counter[tuple[str, bool]] = field(default_factory=Counter)
    """(kind, delivered) → count, as the emulator drew them."""
    faulted_methods: Counter[str] = field(default_factory=Counter)
    moderator_actions: Counter[str] = field(default_factory=Counter)


def count_faults(emu: Emulator, tally: Tally) -> None:
    """Every fault the emulator injects is counted by kind and by "carried out or not"."""
    decide = emu.faults.next_fault

    def counted(method: str, params: dict[str, Any]) -> Fault | None:
        fault = decide(method, params)
        if fault is not None:
            tally.faults[(fault.kind, fault.delivered)] += 1
            tally.faulted_methods[method] += 1
        return fault

    emu.faults.next_fault = counted  # type: ignore[method-assign]


class ChatWatch:
    """The bot's actions in each private chat, as they happen: which messages it sent or
    edited last, and a signal for whoever waits for news (O(1) per event)."""

    def __init__(self, emu: Emulator) -> None:
        self.changes: Counter[int] = Counter()
        self.recent: dict[int, list[int]] = {}
        self.transcripts: dict[int, list[str]] = {}
        """Per chat: what each side did, timed (for the report of an apprentice who gave up)."""
        self.started = time.monotonic()
        self._signals: dict[int, asyncio.Event] = {}
        record = emu.world.record_event

        def watched(kind: str, chat_id: int, message: Message) -> None:
            record(kind, chat_id, message)
            recent = self.recent.get(chat_id)
            if recent is None or kind not in ("sent", "edited"):
                return
            message_id = message["message_id"]
            summary = f"{message_id}: {shown_text(message)[:50]!r} {buttons(message)[:3]}"
            self.note(chat_id, f"bot {kind} {summary}")
            if message_id in recent:
                recent.remove(message_id)
            recent.append(message_id)
            del recent[:-6]
            self.changes[chat_id] += 1
            self._signals.pop(chat_id, asyncio.Event()).set()

        emu.world.record_event = watched  # type: ignore[method-assign]

    def follow(self, chat_id: int) -> None:
        self.recent[chat_id] = []
        self.transcripts[chat_id] = []

    def note(self, chat_id: int, line: str) -> None:
        self.transcripts[chat_id].append(f"{time.monotonic() - self.started:7.1f} s {line}")

    async def news(self, chat_id: int, since: int, within: float) -> bool:
        """True as soon as the bot acted in the chat after change number ``since``."""
        deadline = time.monotonic() + within
        while self.changes[chat_id] == since:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            signal = self._signals.setdefault(chat_id, asyncio.Event())
            try:
                await asyncio.wait_for(signal.wait(), remaining)
            except TimeoutError:
                return self.changes[chat_id] != since
        return True


def buttons(message: Message) -> list[str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


def shown_text(message: Message) -> str:
    return message.get("text") or message.get("caption") or ""


def largest_photo(message: Message) -> str | None:
    photo = message.get("photo") or []
    return photo[-1]["file_unique_id"] if photo else None


class Originals:
    """Every bot message of the group and the channel as it was first sent (edits replace a
    caption: the checks need to know whose post or card a message was)."""

    def __init__(self, emu: Emulator, chats: list[Chat]) -> None:
        self.emu = emu
        self.chats = {chat.id for chat in chats}
        self.first: dict[tuple[int, int], Message] = {}
        self._read = 0

    def refresh(self) -> None:
        events = self.emu.world.events
        for event in events[self._read :]:
            if event.kind == "sent" and event.chat_id in self.chats:
                self.first.setdefault((event.chat_id, event.message["message_id"]), event.message)
        self._read = len(events)

    def of(self, chat: Chat, message: Message) -> Message:
        self.refresh()
        return self.first.get((chat.id, message["message_id"]), message)

    def card_caption(self, group: Chat, number: int) -> str | None:
        """The caption a card showed for entry ``number`` (what a moderator remembers)."""
        self.refresh()
        title = f"{CARD_TITLE}{number}\n"
        for (chat_id, _), message in self.first.items():
            text = shown_text(message)
            if chat_id == group.id and text.startswith(title) and CAPTION_TITLE in text:
                return text.split(CAPTION_TITLE, 1)[1].strip()
        return None


# --- the bot's database, read from here ---------------------------------------------------


class Database:
    """Read-only looks at the bot's SQLite file (WAL: readers never block the bot)."""

    def __init__(self, path: Path) -> None:
        self.engine: Engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 10})

    def _all(self, statement: Any) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(statement))

    def statuses_of(self, user_id: int) -> list[str]:
        """The statuses of an apprentice's confirmed entries (drafts left out)."""
        rows = self._all(
            select(Submission.status).where(
                Submission.apprentice_id == user_id, Submission.status != "draft"
            )
        )
        return [str(row.status) for row in rows]

    def has_card(self, user_id: int) -> bool:
        """Whether the bot recorded a moderation card for one of the apprentice's entries."""
        return bool(
            self._all(
                select(Submission.id).where(
                    Submission.apprentice_id == user_id,
                    Submission.moderation_message_id.is_not(None),
                )
            )
        )

    def holds_data_of(self, user_id: int) -> bool:
        entries = self._all(select(Submission.id).where(Submission.apprentice_id == user_id))
        person = self._all(select(ApprenticeRow.id).where(ApprenticeRow.id == user_id))
        return bool(entries or person)

    def waiting(self) -> Counter[str]:
        """What still needs someone: entries per waiting state, removals owed, cards behind,
        and the pause."""
        counts: Counter[str] = Counter()
        rows = self._all(
            select(Submission.status, func.count())
            .where(Submission.status.in_(WAITING))
            .group_by(Submission.status)
        )
        counts.update({str(status): n for status, n in rows})
        [(counts["removals owed"],)] = self._all(select(func.count()).select_from(Removal))
        behind = select(func.count()).where(
            Submission.moderation_message_id.is_not(None),
            or_(
                Submission.card_synced_at.is_(None),
                Submission.card_synced_at < Submission.updated_at,
            ),
        )
        [(counts["cards behind"],)] = self._all(behind)
        counts["paused"] = int(self.paused())
        return +counts

    def paused(self) -> bool:
        rows = self._all(select(Setting.value).where(Setting.key == PUBLISHING_PAUSED))
        return bool(rows and rows[0].value)

    def snapshot(self) -> Snapshot:
        return Snapshot(
            entries=self._all(select(Submission.__table__)),
            apprentices=self._all(select(ApprenticeRow.id, ApprenticeRow.banned_at)),
            states=[(row.kind, row.key) for row in self._all(select(BotState.kind, BotState.key))],
            removals=self._all(select(Removal.__table__)),
        )

    def close(self) -> None:
        self.engine.dispose()


@dataclass
class Snapshot:
    """The database at the end, for the checks."""

    entries: list[Any]
    apprentices: list[Any]
    states: list[tuple[str, str]]
    removals: list[Any]


# --- the bot, killed and restarted --------------------------------------------------------


class BotUnderTest:
    """The real bot in a child process (:mod:`benchmarks.botproc`), its log in one file.

    ``--no-group-limit``: the rate limiter keeps Telegram's overall pace and its waits after
    a 429, but not its 20-messages-a-minute pace per group, lifted in the emulator too (200
    cards at that pace would take ten minutes); ``--no-limiter`` would also drop the retries
    after a 429, which are part of what is tested.
    """

    def __init__(self, config: Path, log_path: Path, tally: Tally, restart_after_s: float) -> None:
        self.config = config
        self.log_path = log_path
        self.tally = tally
        self.restart_after_s = restart_after_s
        self.process: asyncio.subprocess.Process | None = None
        self.lives = 0
        self.ready = asyncio.Event()
        """Set while the bot runs (it said ready, and was not killed since)."""
        self._log: IO[bytes] = log_path.open("ab")

    async def start(self, within: float = 180.0) -> None:
        """Start the bot until it says ready: one that exits before (Telegram or the
        database out while it starts) is started again ``restart_after_s`` later, as
        systemd would, each such start counted; for ``within`` seconds at most."""
        deadline = time.monotonic() + within
        while True:
            began = time.monotonic()
            if await self._start_once():
                self.ready.set()
                return
            assert self.process
            try:  # exited (its stdout closed), or hung: killed
                status = await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:  # (Popen.kill reaps an exited child: asyncio's status lost)
                self.process.kill()
                status = await self.process.wait()
            self.tally.failed_starts.append((began, time.monotonic(), status))
            self.note(f"exited before ready (status {status}): started again")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the bot did not start (life #{self.lives}): see {self.log_path}"
                )
            await asyncio.sleep(self.restart_after_s)

    async def _start_once(self) -> bool:
        self.lives += 1
        self.note(f"bot start #{self.lives}")
        self.process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "benchmarks.botproc", str(self.config), "selfie"),
            *("--no-group-limit", "--log-level", "INFO"),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._log,
        )
        assert self.process.stdout
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), 60)
        except TimeoutError:
            line = b""
        return line.strip() == b"ready"

    def note(self, what: str) -> None:
        """A line of the chaos run's own in the bot's log (``=== chaos: ... ===``)."""
        self._log.write(f"=== chaos: {what} ===\n".encode())
        self._log.flush()

    async def kill(self) -> None:
        assert self.process
        self.ready.clear()
        if self.process.returncode is None:
            self.process.kill()  # SIGKILL: no clean-up, no last write
        await self.process.wait()
        self.note("SIGKILL")

    async def stop(self) -> int | None:
        """A clean stop ("quit" on stdin, as botproc reads it); the exit status (None:
        never started, or killed after 30 s without stopping)."""
        try:
            if self.process is None or self.process.returncode is not None:
                return None if self.process is None else self.process.returncode
            assert self.process.stdin
            self.process.stdin.write(b"quit\n")
            await self.process.stdin.drain()
            try:
                return await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                await self.kill()
                return None
        finally:
            self._log.close()


# --- the world of a run -------------------------------------------------------------------


@dataclass
class World:
    plan: Plan
    emu: Emulator
    group: Chat
    channel: Chat
    moderators: list[User]
    db: Database
    watch: ChatWatch
    originals: Originals
    tally: Tally
    roles: dict[str, Role]
    """By name: what a moderator reads on a card tells them who it is."""
    channel_kicked: bool = False
    channel_can_delete: bool = True
    settling: bool = False
    travelled: asyncio.Event = field(default_factory=asyncio.Event)
    killed: asyncio.Condition = field(default_factory=asyncio.Condition)
    """Notified at each kill (the chaos events are timed by the kills)."""
    before_travel: set[int] = field(default_factory=set)
    """Erasers still to erase (or, erasing after it, to be published) before the time
    travel, which waits for them."""
    ready_to_travel: asyncio.Event = field(default_factory=asyncio.Event)
    outages_done: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once every database and Telegram outage is over (the kills go on until then)."""
    kills_allowed: asyncio.Event = field(default_factory=asyncio.Event)
    """Cleared while the bot lives through an outage (:func:`outages`)."""

    def done_before_travel(self, number: int) -> None:
        self.before_travel.discard(number)
        if not self.before_travel:
            self.ready_to_travel.set()

    async def until_kills(self, share: float) -> None:
        due = max(1, math.ceil(self.plan.kills * share))
        async with self.killed:
            await self.killed.wait_for(lambda: self.tally.kills >= due)

    def find(self, chat: Chat, message_id: int) -> Message | None:
        stored = self.emu.world.find_message(chat.id, message_id)
        return None if stored is None else stored.data

    def live_messages(self, chat: Chat) -> Iterator[Message]:
        """The chat's messages not deleted, as they are now (no copies: read, don't keep)."""
        for stored in self.emu.world.messages.get(chat.id, []):
            if not stored.deleted:
                yield stored.data

    def posts_with(self, caption: str) -> list[Message]:
        return [m for m in self.live_messages(self.channel) if m.get("caption") == caption]


# --- an apprentice ------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One thing an apprentice does: press a button, type, send the photo, or start over."""

    kind: str  # "press" | "say" | "photo" | "start"
    data: str = ""
    message_id: int = 0


START = Step("start")
PHOTO = Step("photo")


class Apprentice:
    """A patient person on a phone: answers the latest question; when nothing comes for a
    while, answers the last question it can see again, then starts over."""

    def __init__(self, world: World, role: Role, photo: PreparedPhoto) -> None:
        self.world = world
        self.role = role
        self.photo = photo
        self.user = world.emu.create_user(role.name, language_code="fr")
        self.rng = random.Random(f"{world.plan.seed}:apprentice:{role.number}")
        self.since = 0
        self.query: str | None = None
        """The last button press, whose answer (a toast) may say the button is stale."""
        self.starts = 0
        self.actions = 0
        self.last_step: Step | None = None
        self.repeats = 0
        """How many times in a row the same step was taken (five times: start over)."""
        self.started_at = 0.0
        self.took_s: float | None = None
        self.confirmed = False
        self.gave_up: str | None = None
        self.erased_at: float | None = None
        self.erased_while: str | None = None
        world.watch.follow(self.user.id)

    @property
    def plan(self) -> Plan:
        return self.world.plan

    async def live(self) -> None:
        await asyncio.sleep(self.role.start_s)
        self.started_at = time.monotonic()
        try:
            if await self.send_selfie() and self.role.erase_when:
                await self.erase()
        finally:
            self.world.done_before_travel(self.role.number)

    # -- the conversation, /start to "thanks" ----------------------------------------------

    async def send_selfie(self) -> bool:
        """/start, then until the entry is in the database: wait; when the bot answered,
        read and answer it (a stale button, or "answer the question above" after answering
        it, means the conversation is not where the screen says: /start); after a silence,
        answer the last question on screen again; after three silences in a row, or the same
        answer five times, /start. Each silence in a row is waited out twice as long as the
        one before (``patience_s``, then twice, then four times): nothing coming, a person
        waits longer rather than tapping faster. False if it never got there (gave up)."""
        deadline = time.monotonic() + self.plan.give_up_s
        await self.act(START)
        stalls = 0
        while not self.submitted():
            if time.monotonic() > deadline:
                self.gave_up = "no entry in the database after the whole time"
                return False
            heard = await self.wait(self.plan.patience_s * 2**stalls)
            step: Step | None
            if heard == "silence":
                stalls += 1
                step = START if stalls >= 3 else self.answer_any()
            else:
                stalls = 0
                await self.think()
                self.since = self.world.watch.changes[self.user.id]
                lost = heard == "stale" or self.lost()
                step = START if lost else self.answer_latest()
                if step is None:  # the preview's intro: the preview itself follows
                    continue
            if self.submitted():
                break
            self.repeats = self.repeats + 1 if step == self.last_step else 0
            if self.repeats >= 5:  # the same answer, again and again: the bot is elsewhere
                step, self.repeats = START, 0
            stalls = 0 if step == START else stalls
            await self.act(step)
        self.confirmed = True
        self.took_s = time.monotonic() - self.started_at
        return True

    def submitted(self) -> bool:
        return bool(self.world.db.statuses_of(self.user.id))

    async def wait(self, patience: float) -> str:
        """Until the bot does something in the chat ("news"), answers the button just pressed
        with "this button is no longer active" ("stale": the conversation is not where the
        screen says; only /start helps), or neither for ``patience`` seconds ("silence")."""
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            if await self.world.watch.news(self.user.id, self.since, 0.25):
                return "news"
            answer = self.world.emu.callback_answer(self.query) if self.query else None
            if answer and answer.get("text") == STALE_BUTTON:
                self.query = None
                return "stale"
        return "silence"

    def lost(self) -> bool:
        """The bot says to answer the question above, which is what was just done: the
        conversation is not at the step the screen shows (only /start helps)."""
        latest = self.latest()
        return latest is not None and shown_text(latest).startswith(ANSWER_ABOVE)

    async def news(self, patience: float) -> bool:
        return await self.world.watch.news(self.user.id, self.since, patience)

    async def think(self) -> None:
        await asyncio.sleep(self.rng.uniform(*self.plan.think_s))

    def latest(self) -> Message | None:
        recent = self.world.watch.recent[self.user.id]
        return self.world.find(self.world.emu.chat(self.user), recent[-1]) if recent else None

    def answer_latest(self) -> Step | None:
        """What to do about the bot's latest message: answer it; after a text that asks
        nothing ("Oups...", "answer the question above"), answer the last question shown."""
        latest = self.latest()
        step = self.answer(latest)
        if step is None and not (latest and shown_text(latest).startswith(PREVIEW_INTRO)):
            step = self.answer_any()
        return step

    def answer_any(self) -> Step:
        """After a silence: the most recent question on screen still answerable, else /start."""
        chat = self.world.emu.chat(self.user)
        for message_id in reversed(self.world.watch.recent[self.user.id]):
            message = self.world.find(chat, message_id)
            step = self.answer(message) if message else None
            if step is not None:
                return step
        return START

    def answer(self, message: Message | None) -> Step | None:
        """What this apprentice answers to a message of the bot (None: nothing to answer)."""
        if message is None:
            return None
        offered = buttons(message)
        role = self.role
        choices = [
            ("consent:", "consent:yes"),
            ("age:", "age:minor" if role.minor else "age:adult"),
            ("guardian:", "guardian:yes"),
            ("name:", "name:first"),
            ("trade:", role.trade),
            ("centre:", role.centre),
            ("quote:", "quote:skip"),
            ("preview:", "preview:send"),
        ]
        for prefix, data in choices:
            if any(b.startswith(prefix) for b in offered):
                if prefix == "quote:" and role.quote:
                    return Step("say", role.quote)
                return Step("press", data, message["message_id"])
        text = shown_text(message)
        if PHOTO_QUESTION in text or PHOTO_AGAIN in text:
            return PHOTO
        return None

    async def act(self, step: Step) -> None:
        emu, user = self.world.emu, self.user
        self.since = self.world.watch.changes[user.id]
        self.actions += 1
        self.world.watch.note(user.id, f"{self.role.name} {step.kind} {step.data}")
        self.query = None
        self.last_step = step
        if step.kind == "press":
            target = {"chat": {"id": user.id}, "message_id": step.message_id}
            try:
                self.query = await emu.press_button(user, target, step.data)
            except LookupError:  # the question changed meanwhile: look again
                pass
        elif step.kind == "say":
            await emu.send_text(user, step.data)
        elif step.kind == "photo":
            send_prepared_photo(emu, user, self.photo)
        else:
            self.starts += 1
            await emu.send_text(user, "/start")

    # -- /supprimer ------------------------------------------------------------------------

    async def erase(self) -> None:
        moment = self.role.erase_when
        await self.until_entry_is(ERASE_WHEN_STATUS[moment or "pending"])
        if moment == "old":
            self.world.done_before_travel(self.role.number)
            await self.world.travelled.wait()
        statuses = self.world.db.statuses_of(self.user.id)
        self.erased_while = ",".join(statuses) or "?"
        if self.world.travelled.is_set():
            self.erased_while += ", after the time travel"
        deadline = time.monotonic() + self.plan.give_up_s
        await self.act(Step("say", "/supprimer"))
        silences = 0
        while True:
            heard = await self.news(self.plan.patience_s * 2 ** min(silences, 2))
            silences = 0 if heard else silences + 1
            await self.think()
            if not self.world.db.holds_data_of(self.user.id):
                break
            if time.monotonic() > deadline:
                self.gave_up = "erasure never done"
                return
            await self.act(self.erase_question() or Step("say", "/supprimer"))
        self.erased_at = time.monotonic()

    def erase_question(self) -> Step | None:
        chat = self.world.emu.chat(self.user)
        for message_id in reversed(self.world.watch.recent[self.user.id]):
            message = self.world.find(chat, message_id)
            if message and "erase:yes" in buttons(message):
                return Step("press", "erase:yes", message_id)
        return None

    async def until_entry_is(self, wanted: frozenset[str]) -> None:
        """Until the entry reaches one of these states, or (none wanted: erasing while
        pending) has its card (bounded: then at once)."""
        deadline = time.monotonic() + self.plan.give_up_s / 2
        while time.monotonic() < deadline:
            if wanted & set(self.world.db.statuses_of(self.user.id)):
                return
            if not wanted and self.world.db.has_card(self.user.id):
                return
            await asyncio.sleep(0.5)


# --- the moderators -----------------------------------------------------------------------


class Moderators:
    """Two people reading the group; they share what they did (as in their own chat)."""

    REFUSAL = "not_at_work"

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = random.Random(f"{world.plan.seed}:moderators")
        self.pressed_at: dict[str, float] = {}
        self.tried_again: set[int] = set()
        """Held entries tried once more (after that: back to pending, then refused)."""
        self.to_refuse: set[int] = set()
        self.forwards: dict[int, list[Message]] = {}
        """needs_check entry → the forwards of its post into the group (deleted once used)."""
        self.alert_answered = 0
        self.resumed_at = 0.0
        self.queries: dict[str, str] = {}
        """"message id:button" → the last press, whose answer tells whether to press again."""

    @property
    def emu(self) -> Emulator:
        return self.world.emu

    def count(self, action: str) -> None:
        self.world.tally.moderator_actions[action] += 1

    def first_time_in(self, key: str, seconds: float = 4.0) -> bool:
        """True unless the same thing was done less than ``seconds`` ago (by either one)."""
        now = time.monotonic()
        if now - self.pressed_at.get(key, -math.inf) < seconds:
            return False
        self.pressed_at[key] = now
        return True

    async def press(self, person: User, message: Message, data: str, seconds: float = 4.0) -> None:
        """Press a button, unless just done, or the bot said last time it was pointless
        (someone was first: not again for a while), or has not answered the last press for
        :data:`UNANSWERED_S` yet."""
        key = f"{message['message_id']}:{data}"
        last = self.queries.get(key)
        answer = self.emu.callback_answer(last) if last else None
        waited = time.monotonic() - self.pressed_at.get(key, -math.inf)
        if last and answer is None and waited < UNANSWERED_S:
            return  # nothing came back yet (Telegram away?): not again so soon
        if not self.first_time_in(key, seconds):
            return
        self.queries.pop(key, None)
        if answer and (answer.get("text") or "").startswith(POINTLESS):
            self.pressed_at[key] += 30.0  # not again before half a minute
            return
        try:
            self.queries[key] = await self.emu.press_button(person, message, data)
        except LookupError:  # edited meanwhile: seen again at the next look
            return
        self.count(data.split(":")[1] if data.startswith("mod:") else data.rsplit(":", 1)[0])

    async def work(self, person: User, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.look(person)
            except Exception:  # the simulation's own fault: counted, reported, goes on
                self.world.tally.simulation_errors.append(traceback.format_exc())
            await asyncio.sleep(self.rng.uniform(*self.world.plan.moderator_every_s))

    async def publish(self, person: User, stop: asyncio.Event) -> None:
        """The cron never fires: /publish_now, every few seconds (faster while settling),
        but not while publishing is paused (the cron it stands for would not publish, and a
        moderator told the channel refuses the bot waits for it to be back: /resume)."""
        while not stop.is_set():
            if not self.world.db.paused():
                await self.emu.send_text(person, "/publish_now", chat=self.world.group)
            every = self.world.plan.publish_every_s
            await asyncio.sleep(every / 4 if self.world.settling else every)

    async def look(self, person: User) -> None:
        """One look at the group: every card and request with buttons, then the alerts."""
        cards: dict[int, list[str]] = {}
        for message in list(self.world.live_messages(self.world.group)):
            offered = buttons(message)
            if any(b.startswith("rm:done:") for b in offered):
                await self.remove_by_hand(person, message, offered)
            elif any(b.startswith("mod:") for b in offered):
                number = int(offered[0].split(":")[2])
                cards[number] = offered
                await self.decide(person, message, number, offered)
        self.tidy_forwards(cards)
        await self.answer_pause(person)

    async def decide(self, person: User, card: Message, number: int, offered: list[str]) -> None:
        verbs = {b.split(":")[1] for b in offered}
        caption = shown_text(card)
        found = NAME.search(caption)
        role = self.world.roles.get(found.group()) if found else None
        if "ok" in verbs:  # pending
            if role and role.erase_when == "pending" and not self.world.settling:
                return  # hesitating: the apprentice withdraws it meanwhile
            refuse = (role is not None and role.refused_by_moderators) or number in self.to_refuse
            await self.press(person, card, f"mod:no:{number}" if refuse else f"mod:ok:{number}")
        elif "why" in verbs:  # the refusal reasons are shown
            refuse = (role is not None and role.refused_by_moderators) or number in self.to_refuse
            data = f"mod:why:{number}:{self.REFUSAL}" if refuse else f"mod:back:{number}"
            await self.press(person, card, data)
        elif "banok" in verbs:
            await self.press(person, card, f"mod:back:{number}")
        elif "requeue" in verbs and "undo" in verbs:  # held: Telegram refused the post
            if number not in self.tried_again:
                self.tried_again.add(number)
                await self.press(person, card, f"mod:requeue:{number}")
            else:
                self.to_refuse.add(number)
                await self.press(person, card, f"mod:undo:{number}")
        elif "requeue" in verbs:  # needs_check: was it posted?
            await self.check_channel(person, card, number)

    async def check_channel(self, person: User, card: Message, number: int) -> None:
        """Look for the post in the channel: forward it if it is there, else "not posted"."""
        caption = shown_text(card).split(CAPTION_TITLE, 1)[-1].strip()
        posts = self.world.posts_with(caption)
        if not posts:
            await self.press(person, card, f"mod:requeue:{number}")
        elif self.first_time_in(f"forward:{number}", 8.0):
            forward = await self.emu.forward_message(person, posts[0], self.world.group)
            self.forwards.setdefault(number, []).append(forward)
            self.count("forward")

    def tidy_forwards(self, cards: dict[int, list[str]]) -> None:
        """A forward has done its job once the card no longer asks: deleted, so that the
        group keeps no copy of a post (its author may erase it later)."""
        for number, forwards in list(self.forwards.items()):
            if not any(b.startswith("mod:requeue") for b in cards.get(number, [])):
                for forward in forwards:
                    if self.world.find(self.world.group, forward["message_id"]):
                        self.emu.delete_message(forward)
                del self.forwards[number]

    async def remove_by_hand(self, person: User, request: Message, offered: list[str]) -> None:
        """The bot could not delete a post or a card: delete it, then press "done"."""
        [done] = [b for b in offered if b.startswith("rm:done:")]
        if not self.first_time_in(f"target:{request['message_id']}:{done}"):
            return
        for target in self.targets(shown_text(request)):
            self.emu.delete_message(target)
            self.count("deleted by hand")
        await self.press(person, request, done, seconds=0)

    def targets(self, text: str) -> list[Message]:
        """The messages a request names: its ``t.me`` link; without one (a message whose id
        Telegram never gave the bot), whatever still shows that entry: the posts with the
        caption its card showed, and the cards of that number."""
        world = self.world
        link = POST_LINK.search(text)
        if link:
            private, _, message_id = link.groups()
            chat = world.group if private else world.channel
            found = world.find(chat, int(message_id))
            return [found] if found else []
        number = ENTRY_NUMBER.search(text)
        if number is None:
            return []
        caption = world.originals.card_caption(world.group, int(number.group(1)))
        title = f"{CARD_TITLE}{number.group(1)}\n"
        cards = [
            m
            for m in world.live_messages(world.group)
            if (world.group.id, m["message_id"]) in world.originals.first
            and shown_text(m).startswith(title)
        ]
        return (world.posts_with(caption) if caption else []) + cards

    async def answer_pause(self, person: User) -> None:
        """After a pause alert, /resume once the channel is back (again if still paused)."""
        if self.world.channel_kicked:
            return
        alerts = [
            m["message_id"]
            for m in self.world.live_messages(self.world.group)
            if shown_text(m).startswith(PAUSE_ALERT)
        ]
        newest = max(alerts, default=0)
        again = (
            self.alert_answered
            and time.monotonic() - self.resumed_at > 6
            and self.world.db.paused()
        )
        if newest > self.alert_answered or again:
            self.alert_answered = max(newest, self.alert_answered)
            self.resumed_at = time.monotonic()
            await self.emu.send_text(person, "/resume", chat=self.world.group)
            self.count("/resume")


# --- the chaos around them ----------------------------------------------------------------


async def keep_killing(world: World, bot: BotUnderTest, enough: Callable[[], bool]) -> None:
    """SIGKILL 2-6 s after each start, restart at once; until ``enough()`` after a kill
    (the kills wanted, every apprentice started, every outage over)."""
    rng = random.Random(f"{world.plan.seed}:kills")
    while True:
        await asyncio.sleep(rng.uniform(*world.plan.kill_after_s))
        await world.kills_allowed.wait()
        if enough():
            return
        await bot.kill()
        async with world.killed:
            world.tally.kills += 1
            world.killed.notify_all()
        await bot.start()


async def stir(world: World, bot: BotUnderTest) -> None:
    """A kick from the channel a quarter of the way through the kills; the 49-hour time
    travel from half of them, once the erasers who erase before it have (each one waits a
    bounded time); another kick from three quarters of the kills. A kick begins up to 1 s
    after the bot said ready: right after a kill, the restarted bot would meet it at every
    run while looking for the post a kill interrupted, which it may not do while kicked."""
    rng = random.Random(f"{world.plan.seed}:events")
    pause = random.Random(f"{world.plan.seed}:kick-pause")
    await world.until_kills(0.25)
    await bot.ready.wait()
    await asyncio.sleep(pause.uniform(0.0, 1.0))
    await kick(world, rng.uniform(*world.plan.kick_s))
    await world.until_kills(0.5)
    await world.ready_to_travel.wait()
    travel(world)
    await world.until_kills(0.75)
    await bot.ready.wait()
    await asyncio.sleep(pause.uniform(0.0, 1.0))
    await kick(world, rng.uniform(*world.plan.kick_s))


async def kick(world: World, seconds: float) -> None:
    """The bot is kicked from the channel, then made administrator again (same rights)."""
    world.channel_kicked = True
    world.emu.set_bot_status(world.channel, "kicked")
    world.tally.kicks += 1
    await asyncio.sleep(seconds)
    rights = {} if world.channel_can_delete else {"can_delete_messages": False}
    world.emu.set_bot_status(world.channel, "administrator", **rights)
    world.channel_kicked = False


def travel(world: World) -> None:
    """49 hours later: every message is too old for the bot to delete, and the channel's
    ``can_delete_messages`` is taken away (the group never had it)."""
    world.emu.travel(hours=49)
    world.emu.set_bot_rights(world.channel, can_delete_messages=False)
    world.channel_can_delete = False
    world.tally.travelled = True
    world.travelled.set()


def outage_plan(plan: Plan) -> list[tuple[float, str]]:
    """When each outage begins, as a share of the kills, in order: database and Telegram
    outages spread over the first 85 % of the kills, never at the same time, so that
    kills (and the searches they start) follow the last one."""
    events = [((i + 0.4) / plan.db_outages * 0.85, "database") for i in range(plan.db_outages)]
    events += [
        ((i + 0.8) / plan.telegram_outages * 0.85, "telegram") for i in range(plan.telegram_outages)
    ]
    return sorted(events)


async def outages(world: World, bot: BotUnderTest, database: Path) -> None:
    """The database and Telegram outages of :func:`outage_plan`, one after the other, each
    as long as the plan draws (seeded). Each begins up to 2 s after the bot said ready
    (right after a kill, it would only ever meet a start). The first and every other one of
    each kind the bot lives through, no kill meanwhile (it lives 2-6 s between kills: an
    outage longer than its time-outs would never meet it at work); during the others the
    kills go on, and the bot starts while its database or Telegram is out."""
    rng = random.Random(f"{world.plan.seed}:outages")
    seen: Counter[str] = Counter()
    try:
        for share, kind in outage_plan(world.plan):
            await world.until_kills(share)
            await bot.ready.wait()
            await asyncio.sleep(rng.uniform(0.0, 2.0))
            lived_through = seen[kind] % 2 == 0
            seen[kind] += 1
            if lived_through:
                world.kills_allowed.clear()
            try:
                if kind == "database":
                    seconds = rng.uniform(*world.plan.db_outage_s)
                    await database_outage(world, bot, database, seconds)
                else:
                    await telegram_outage(world, bot, rng.uniform(*world.plan.telegram_outage_s))
            finally:
                world.kills_allowed.set()
    finally:
        world.outages_done.set()


async def database_outage(world: World, bot: BotUnderTest, database: Path, seconds: float) -> None:
    """Another process holds SQLite's write lock for ``seconds`` (:func:`hold_write_lock`,
    in a thread: this loop goes on); the bot's log says when."""
    bot.note(f"another process locks the database for {seconds:.1f} s")
    began, ended = await asyncio.to_thread(hold_write_lock, database, seconds)
    bot.note("the database is unlocked")
    world.tally.db_outages.append(ended - began)
    world.tally.outage_windows.append((began, ended))


def hold_write_lock(database: Path, seconds: float) -> tuple[float, float]:
    """What a backup or a maintenance job does to the bot's SQLite file: a write
    transaction held open. In WAL mode ``BEGIN IMMEDIATE`` and ``BEGIN EXCLUSIVE`` are the
    same: every other writer waits its ``busy_timeout`` and fails with "database is locked";
    readers go on (the chaos run's own looks, the bot's reads). When the lock was held and
    released (monotonic time)."""
    connection = sqlite3.connect(database, timeout=60, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")  # waits for a write of the bot's to end
        began = time.monotonic()
        time.sleep(seconds)
        connection.execute("ROLLBACK")
        return began, time.monotonic()
    finally:
        connection.close()


async def telegram_outage(world: World, bot: BotUnderTest, seconds: float) -> None:
    """Telegram unreachable: the emulator stops (connections refused; calls under way are
    cut), then starts again on the same port with everything it held, ``seconds`` later.
    People go on writing and pressing meanwhile: Telegram keeps their updates for the bot,
    as it does when the bot cannot reach it."""
    emu = world.emu
    port = emu.port
    began = time.monotonic()
    bot.note(f"Telegram stops for {seconds:.1f} s")
    await emu.stop()
    await asyncio.sleep(seconds)
    await emu.start(port=port)
    bot.note("Telegram is back")
    ended = time.monotonic()
    world.tally.telegram_outages.append(ended - began)
    world.tally.outage_windows.append((began, ended))


def start_faults(world: World) -> None:
    emu, plan = world.emu, world.plan
    emu.fault_rate(
        None,
        plan.fault_rate,
        kinds=FAULT_MIX,
        seed=plan.seed,
        hold=0.5,  # PTB's read time-out is 5 s: the emulator drops the connection first
        delivered=0.5,
        exclude=NEVER_FAULTED,
    )
    refuse_marked_posts(emu)
    plant_lost_cards(world)


def refuse_marked_posts(emu: Emulator) -> None:
    """The channel refuses, every time, the posts whose caption has the marker."""
    emu.inject_fault(
        "sendPhoto",
        "400",
        count=None,
        match=lambda p: (
            str(p.get("chat_id")) == CHANNEL and REFUSED_MARKER in (p.get("caption") or "")
        ),
        description="Bad Request: wrong file identifier/HTTP URL specified",
    )


def plant_lost_cards(world: World) -> None:
    """Two cards sent whose answer is lost, for sure (the random faults do it only now and
    then): the card of an apprentice who erases while pending, and of one the channel
    refuses. Each entry then has a card the bot does not know of."""
    chosen = [
        next((r for r in world.roles.values() if r.erase_when == "pending"), None),
        next((r for r in world.roles.values() if r.refused_by_channel), None),
    ]
    for role in chosen:
        if role is not None:
            world.emu.inject_fault(
                "sendPhoto", "502", count=1, delivered=True, match=card_of(world, role.name)
            )


def card_of(world: World, name: str) -> Callable[[dict[str, Any]], bool]:
    """Matches the call that sends ``name``'s moderation card."""
    group = str(world.group.id)
    return lambda p: str(p.get("chat_id")) == group and name in (p.get("caption") or "")


async def settle(world: World) -> tuple[float, Counter[str]]:
    """Faults off (but the channel still refuses what it refused), rights back; the
    moderators go on until nothing waits for three looks in a row, or what waits has not
    changed for ``settle_stuck_s`` (it never will). Returns how long it took and what
    still waited (empty when settled)."""
    emu = world.emu
    emu.clear_faults()
    refuse_marked_posts(emu)
    emu.set_bot_status(world.channel, "administrator")
    world.channel_can_delete, world.channel_kicked = True, False
    world.settling = True
    started = changed = time.monotonic()
    quiet = 0
    waiting: Counter[str] = Counter()
    while quiet < 3 and time.monotonic() - changed < world.plan.settle_stuck_s:
        await asyncio.sleep(1.0)
        before, waiting = waiting, world.db.waiting()
        quiet = 0 if waiting else quiet + 1
        if waiting != before:
            changed = time.monotonic()
    return time.monotonic() - started, waiting


# --- the checks ---------------------------------------------------------------------------


PUBLISHER_LINE = re.compile(
    r"^\S+ \S+ \d+ \w+ bot\.telegram\.(publisher|probe): entry (\d+)(.*)$", re.M
)
"""A log line of the publisher or its search (bot/telegram/publisher.py, probe.py) about one
entry: which of the two, the entry's id, the rest."""
UNSURE_OUTCOMES = {
    ": its post found as message": "found",
    ": not on the channel, back in the queue": "absent",
    ": maybe posted, left to the moderators to check": "asked",
}
"""How the publisher logs each way a send with its answer lost ends."""
BARRED = ": the bot may not edit its posts on the channel"
"""The search's line when it may not look (not an administrator of the channel allowed to
edit, or Telegram not answering whether it is): the moderators are asked, by design."""
UNSURE_SETTLED_TARGET = 0.9
"""The share of those sends the bot must settle itself (found or absent), without a human,
of those it was allowed to look for (:data:`BARRED`)."""


def unsure_sends(log: str) -> Counter[str]:
    """How the sends whose answer was lost ended, from the publisher's lines in the log of
    every life of the bot: ``found`` or ``absent`` (the bot's own search of the channel),
    ``asked`` (left to the moderators), ``barred`` (left to them because the search might
    not look at all: :data:`BARRED`), ``open`` (no outcome logged: still unsettled).

    One send, one count. Its search follows "not posted (needs_check)", or a start after a
    kill ("cut short, looked for"), or another entry's search meets its post. A search
    repeated for the same send (the bot killed, or the database locked, after the outcome
    was logged and before it was recorded: the next start looks again) counts once, with
    its last outcome; the send ends at that entry's next "posted as message" or "not
    posted" (a new send). A send killed before its answer that follows a search's
    outcome with nothing logged between (an "absent" entry sent again) is folded into it:
    rare, and it undercounts."""
    searching: dict[str, str | None] = {}
    barred: set[str] = set()
    ended: Counter[str] = Counter()

    def end(entry: str) -> None:
        if entry in searching:
            ended[searching.pop(entry) or "open"] += 1

    for module, entry, rest in PUBLISHER_LINE.findall(log):
        if module == "probe":
            if rest.startswith(BARRED):
                barred.add(entry)
            continue
        outcome = next((o for start, o in UNSURE_OUTCOMES.items() if rest.startswith(start)), None)
        if outcome is not None:
            searching[entry] = "barred" if outcome == "asked" and entry in barred else outcome
            barred.discard(entry)
        elif rest.startswith(": its publication was cut short"):
            searching.setdefault(entry, None)
        elif rest.startswith(" not posted (needs_check)"):
            end(entry)
            searching[entry] = None
        elif rest.startswith((" not posted (", " posted as message")):
            end(entry)
    for entry in list(searching):
        end(entry)
    return ended


@dataclass
class Findings:
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def figures(self) -> dict[str, list[str]]:
        return {
            "entries lost": self.lost,
            "posts duplicated": self.duplicated,
            "erased apprentices with anything left": self.left,
            "entries stuck without the moderators told": self.stuck,
        }


def check(world: World, people: list[Apprentice], snapshot: Snapshot, photos: Path) -> Findings:
    found = Findings()
    world.originals.refresh()
    posts = [
        (message, world.originals.of(world.channel, message))
        for message in world.emu.messages(world.channel, include_deleted=True)
    ]
    for person in people:
        entries = [e for e in snapshot.entries if e.apprentice_id == person.user.id]
        mine = [message for message, first in posts if person.role.name in shown_text(first)]
        if person.erased_at is not None:
            found.left += leftovers(world, person, entries, snapshot)
            continue
        if not person.confirmed:
            continue
        confirmed = [e for e in entries if e.status != "draft"]
        if not confirmed:
            found.lost.append(f"{person.role.name}: sent, no entry left")
        for entry in confirmed:
            if entry.status not in ("published", "refused"):
                found.lost.append(f"{person.role.name}: entry {entry.id} ended {entry.status}")
            elif entry.status == "published" and not mine:
                found.lost.append(f"{person.role.name}: entry {entry.id} published, no post")
        if len(mine) > 1:
            ids = ", ".join(str(m["message_id"]) for m in mine)
            found.duplicated.append(f"{person.role.name}: {len(mine)} posts ({ids})")
    found.left += unreferenced_photos(snapshot, photos)
    found.stuck += stuck(world, snapshot)
    found.notes += forwards_left(world, people)
    found.notes += removals_owed(world, snapshot)
    return found


def leftovers(
    world: World, person: Apprentice, entries: list[Any], snapshot: Snapshot
) -> list[str]:
    """What an erased apprentice left behind (the figure wants none)."""
    name, user_id = person.role.name, person.user.id
    left = [f"{name}: entry {e.id} ({e.status}) still in the database" for e in entries]
    if any(a.id == user_id and a.banned_at is None for a in snapshot.apprentices):
        left.append(f"{name}: apprentices row")
    own_states = {(USER_KIND, str(user_id)), ("conversation:apprentice", json.dumps([user_id] * 2))}
    left += [
        f"{name}: bot_state {kind} {key}"
        for kind, key in snapshot.states
        if (kind, key) in own_states
    ]
    for chat, what in ((world.channel, "post"), (world.group, "card")):
        for message in world.live_messages(chat):
            first = world.originals.first.get((chat.id, message["message_id"]))
            if first is None or name not in shown_text(first):
                continue  # not the bot's (a moderator's forward, see forwards_left), or not theirs
            shows_name = name in shown_text(message)
            same_photo = largest_photo(message) == largest_photo(first)
            if shows_name or same_photo:
                shows = " and ".join(
                    w for w, shown_ in (("name", shows_name), ("photo", same_photo)) if shown_
                )
                left.append(f"{name}: {what} {message['message_id']} still shows their {shows}")
    return left


def unreferenced_photos(snapshot: Snapshot, photos: Path) -> list[str]:
    """Photo files on disk (thumbnails included) that no row refers to (an erasure must
    not leave its files)."""
    referenced = {e.photo_path for e in snapshot.entries if e.photo_path}
    on_disk = (
        {p.relative_to(photos).as_posix() for p in photos.glob("*/*")} if photos.is_dir() else set()
    )
    return [
        f"photo file {path} referenced by no entry"
        for path in sorted(on_disk)
        if (photo_of_thumbnail(path) or path) not in referenced
    ]


def stuck(world: World, snapshot: Snapshot) -> list[str]:
    """Entries still waiting whose card does not say so, and removals owed nobody asked for."""
    out = []
    for entry in snapshot.entries:
        if entry.status not in WAITING:
            continue
        card = world.find(world.group, entry.moderation_message_id or 0)
        wanted = BUTTONS_OF_STATE.get(str(entry.status))
        if card is None:
            out.append(f"entry {entry.id} ({entry.status}): no card in the group")
        elif wanted is None or f"{wanted}:{entry.id}" not in buttons(card):
            out.append(
                f"entry {entry.id} ({entry.status}): card shows {buttons(card) or 'no button'}"
            )
    for removal in snapshot.removals:
        request = world.find(world.group, removal.told_message_id or 0)
        if request is None or f"rm:done:{removal.id}" not in buttons(request):
            out.append(
                f"removal {removal.id} ({removal.kind} of entry {removal.submission_id}, "
                f"{removal.chat}/{removal.message_id}): no request in the group"
            )
    return out


def removals_owed(world: World, snapshot: Snapshot) -> list[str]:
    """Informational: each removal still owed, its target and its request as they are."""
    out = []
    for removal in snapshot.removals:
        chat = world.group if str(removal.chat) == str(world.group.id) else world.channel
        target = world.find(chat, removal.message_id or 0)
        request = world.find(world.group, removal.told_message_id or 0)
        out.append(
            f"removal {removal.id} ({removal.kind} of entry {removal.submission_id}) still "
            f"owed: its message {removal.message_id} "
            f"{'still there' if target else 'gone'}, its request {removal.told_message_id} "
            + (f"with {buttons(request)}" if request else "not in the group")
            + f", by hand {bool(removal.by_hand)}, attempts {removal.attempts}"
        )
    return out


def forwards_left(world: World, people: list[Apprentice]) -> list[str]:
    """Informational: moderators' forwards in the group still showing an erased apprentice."""
    erased = [p.role.name for p in people if p.erased_at is not None]
    return [
        f"a forward in the group still shows {name}"
        for message in world.live_messages(world.group)
        if "forward_origin" in message
        for name in erased
        if name in shown_text(message)
    ]


# --- the report ---------------------------------------------------------------------------


@dataclass
class Report:
    plan: Plan
    findings: Findings
    tally: Tally
    counts: dict[str, int]
    calls: int
    flood_429: int
    duration_s: float
    settle_s: float
    still_waiting: Counter[str]
    erasures: list[str]
    gave_up: list[str]
    flows: str
    """How long sending a selfie took the apprentices, and how often they started over."""
    transcripts: dict[str, list[str]]
    """The last steps of the apprentices who gave up."""
    workdir: Path
    log_path: Path
    bot_exit: int | None

    @property
    def unsure(self) -> Counter[str]:
        """The sends whose answer was lost, by how they ended (:func:`unsure_sends`)."""
        return unsure_sends(self.log_path.read_text(encoding="utf-8", errors="replace"))

    def unsure_counts(self) -> tuple[int, int]:
        """(settled by the bot, all the sends with their answer lost)."""
        unsure = self.unsure
        return unsure["found"] + unsure["absent"], sum(unsure.values())

    @property
    def settled_share(self) -> float | None:
        """The share of those sends the bot settled itself, of those it was allowed to look
        for (the target's); None when there were none."""
        settled, total = self.unsure_counts()
        searched = total - self.unsure["barred"]
        return settled / searched if searched else None

    def unsure_summary(self) -> str:
        unsure = self.unsure
        settled, total = self.unsure_counts()
        asked = unsure["asked"] + unsure["barred"]
        barred = (
            f" ({unsure['barred']} of them as the bot might not look at the channel)"
            if unsure["barred"]
            else ""
        )
        unsettled = f", {unsure['open']} never settled" if unsure["open"] else ""
        share = self.settled_share
        return (
            f"{total} sends with their answer lost: {settled} settled by the bot "
            f"({unsure['found']} found, {unsure['absent']} absent), {asked} asked "
            f"a moderator{barred}{unsettled}: "
            + (
                "none to settle"
                if share is None
                else f"{share:.0%} without a human"
                + (" of those it might look for" if unsure["barred"] else "")
            )
        )

    def settled_cell(self) -> str:
        """The table's value: "14 settled / 1 asked (93%)", by the bot / the moderators."""
        unsure = self.unsure
        settled, total = self.unsure_counts()
        share = self.settled_share
        if not total:
            return "none to settle"
        cell = f"{settled} settled / {unsure['asked'] + unsure['barred']} asked"
        if unsure["barred"]:
            cell += f" ({unsure['barred']} as the bot might not look)"
        if unsure["open"]:
            cell += f" / {unsure['open']} never settled"
        return cell + (f" ({share:.0%})" if share is not None else "")

    def unsure_met(self) -> bool:
        share = self.settled_share
        return share is None or share >= UNSURE_SETTLED_TARGET

    def outage_summary(self) -> str:
        tally = self.tally
        failed = len(tally.failed_starts)
        outside = len(self.starts_failed_outside_outages())

        def lasted(seconds: list[float]) -> str:
            return ", ".join(f"{s:.0f}" for s in seconds) + " s" if seconds else "none"

        return (
            f"database outages {len(tally.db_outages)} ({lasted(tally.db_outages)}), "
            f"Telegram outages {len(tally.telegram_outages)} "
            f"({lasted(tally.telegram_outages)}); starts of the bot that failed and were "
            f"started again {failed}" + (f" ({outside} outside any outage)" if outside else "")
        )

    def starts_failed_outside_outages(self) -> list[str]:
        """Starts that ended before ready while neither Telegram nor the database was out."""
        windows = self.tally.outage_windows
        return [
            f"a start of the bot exited before ready (status {status}) outside any outage"
            for began, ended, status in self.tally.failed_starts
            if not any(began <= end and ended >= start for start, end in windows)
        ]

    @property
    def ok(self) -> bool:
        return (
            not any(self.findings.figures.values())
            and not self.gave_up
            and self.unsure_met()
            and bool(self.tally.db_outages and self.tally.telegram_outages)
            and not self.tally.simulation_errors
        )

    def fault_summary(self) -> str:
        parts = []
        for kind in (*FAULT_KINDS, "400"):
            total = self.tally.faults[(kind, False)] + self.tally.faults[(kind, True)]
            delivered = self.tally.faults[(kind, True)]
            if total:
                parts.append(
                    f"{kind} {total}" + (f" ({delivered} carried out)" if delivered else "")
                )
        return ", ".join(parts)

    def lines(self) -> list[str]:
        c = self.counts
        out = [
            f"chaos run, seed {self.plan.seed}: {self.plan.apprentices} apprentices, "
            f"{self.plan.kills} kills wanted",
            f"apprentices {c['apprentices']}, submitted {c['submitted']}, gave up "
            f"{len(self.gave_up)}, published {c['published']}, refused {c['refused']}, "
            f"erased {c['erased']}",
            f"sending a selfie: {self.flows}",
            f"kills {self.tally.kills}, channel kicks {self.tally.kicks}, time travel "
            f"{'49 h' if self.tally.travelled else 'none'}",
            self.outage_summary(),
            f"Bot API calls {self.calls}, faults injected "
            f"{sum(self.tally.faults.values())}: {self.fault_summary()}; "
            f"emulator flood-control 429s {self.flood_429}; most faulted: "
            + ", ".join(f"{m} {n}" for m, n in self.tally.faulted_methods.most_common(5)),
            "moderators: "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.tally.moderator_actions.items())),
            self.unsure_summary()
            + ("" if self.unsure_met() else f" MISSED (target {UNSURE_SETTLED_TARGET:.0%})"),
            f"duration {self.duration_s:.0f} s (settling {self.settle_s:.0f} s); bot exit "
            f"status {self.bot_exit}",
        ]
        if self.still_waiting:
            out.append(f"NOT SETTLED: still waiting {dict(self.still_waiting)}")
        out += ["erasures:", *(f"  - {line}" for line in self.erasures)]
        for name, items in self.findings.figures.items():
            out.append(f"{name}: {len(items)}" + ("" if not items else " MISSED"))
            out += [f"  - {item}" for item in items[:20]]
        if self.gave_up:
            out.append(f"apprentices who gave up: {len(self.gave_up)} MISSED")
            out += [f"  - {item}" for item in self.gave_up[:20]]
            for name, lines in list(self.transcripts.items())[:2]:
                out += [f"  transcript of {name}:", *(f"    {line}" for line in lines)]
        errors = self.tally.simulation_errors
        if errors:
            out.append(f"errors of the simulated people (not the bot's): {len(errors)} MISSED")
            out += [f"    {line}" for line in errors[0].rstrip().splitlines()[-12:]]
        notes = [*self.findings.notes, *self.starts_failed_outside_outages()]
        out += [f"note: {note}" for note in notes]
        out += [f"work folder: {self.workdir}", f"bot log: {self.log_path}"]
        return out

    def markdown(self) -> str:
        c = self.counts
        rows = [
            "| figure | value | target | met |",
            "|---|---|---|---|",
            *(
                f"| {name} | {len(items)} | 0 | {'yes' if not items else 'MISSED'} |"
                for name, items in self.findings.figures.items()
            ),
            f"| apprentices who gave up | {len(self.gave_up)} | 0 | "
            f"{'yes' if not self.gave_up else 'MISSED'} |",
            f"| ambiguous sends settled by the bot / asked a moderator | {self.settled_cell()} | "
            f">= {UNSURE_SETTLED_TARGET:.0%} | {'yes' if self.unsure_met() else 'MISSED'} |",
            *(
                f"| {kind} outages injected | {len(lasted)} | >= 1 | "
                f"{'yes' if lasted else 'MISSED'} |"
                for kind, lasted in (
                    ("database", self.tally.db_outages),
                    ("Telegram", self.tally.telegram_outages),
                )
            ),
        ]
        context = (
            f"Seed {self.plan.seed}: {c['apprentices']} apprentices ({c['submitted']} submitted, "
            f"{c['published']} published, {c['refused']} refused, {c['erased']} erased), "
            f"{self.tally.kills} SIGKILLs, {self.tally.kicks} kicks from the channel, "
            f"{'one 49-hour time travel' if self.tally.travelled else 'no time travel'}, "
            f"{self.outage_summary()}; "
            f"{self.calls} Bot API calls, {sum(self.tally.faults.values())} faults "
            f"({self.fault_summary()}); {self.unsure_summary()}; {self.duration_s:.0f} s "
            f"(settling {self.settle_s:.0f} s)."
        )
        return "\n".join(
            [
                f"### Chaos run (`python -m benchmarks chaos --seed {self.plan.seed}`)",
                "",
                *rows,
                "",
                context,
            ]
        )


def flow_summary(people: list[Apprentice]) -> str:
    took = sorted(p.took_s for p in people if p.took_s is not None)
    if not took:
        return "nobody did"
    restarts = sum(max(0, p.starts - 1) for p in people)
    return (
        f"{sum(p.actions for p in people)} actions, "
        f"median {took[len(took) // 2]:.0f} s, longest {took[-1]:.0f} s, "
        f"{restarts} starts over with /start, {sum(1 for p in people if p.starts > 1)} "
        f"apprentices started over at least once"
    )


# --- one run ------------------------------------------------------------------------------


def photos_for(plan: Plan) -> list[PreparedPhoto]:
    """A few distinct selfies, their Telegram renditions computed once."""
    from tests.support import imagegen

    count = 3 if plan.apprentices <= 20 else 8
    return [
        prepare_photo(imagegen.photo_jpeg(800, 600, seed=plan.seed * 100 + i)) for i in range(count)
    ]


async def run(plan: Plan, workdir: Path | None = None) -> Report:
    """The whole chaos run; see the module docstring."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="selfie-chaos-"))
    started = time.monotonic()
    photos = photos_for(plan)
    emu = Emulator(token=TOKEN, bot_username="fiers_bot")
    await emu.start()
    try:
        return await _run(plan, workdir, emu, photos, started)
    finally:
        await emu.stop()


async def _run(
    plan: Plan, workdir: Path, emu: Emulator, photos: list[PreparedPhoto], started: float
) -> Report:
    emu.flood_limits.group_per_minute = 10_000  # the bot's group pace is lifted too
    tally = Tally()
    count_faults(emu, tally)
    watch = ChatWatch(emu)
    moderators = [
        emu.create_user("Camille", username="camille_modo"),
        emu.create_user("Sam", username="sam_modo"),
    ]
    group = emu.create_group(
        "Modération",
        members=moderators,
        bot_status="administrator",
        bot_rights={"can_delete_messages": False},
    )
    channel = emu.create_channel("Fiers d'être apprentis", username=CHANNEL[1:])
    db_path = workdir / "bot.sqlite3"
    raw = stand_config(
        api_url=emu.api_url,
        db_url=f"sqlite+aiosqlite:///{db_path}",
        data_dir=workdir,
        group_id=group.id,
        moderators=[m.id for m in moderators],
        schedule={"cron": NEVER},
        moderation={"retry_seconds": 2},
    )
    config = write_config(workdir / "config.toml", raw)
    bot = BotUnderTest(config, workdir / "bot.log", tally, plan.restart_after_s)
    roles = cast(plan)
    world = World(
        plan=plan,
        emu=emu,
        group=group,
        channel=channel,
        moderators=moderators,
        db=Database(db_path),
        watch=watch,
        originals=Originals(emu, [group, channel]),
        tally=tally,
        roles={role.name: role for role in roles},
        before_travel={role.number for role in roles if role.erase_when},
    )
    await bot.start()
    world.kills_allowed.set()
    start_faults(world)
    people = [Apprentice(world, role, photos[role.number % len(photos)]) for role in roles]
    team = Moderators(world)
    stop = asyncio.Event()
    stirring = asyncio.create_task(stir(world, bot))
    outaging = asyncio.create_task(outages(world, bot, db_path))
    helpers = [
        asyncio.create_task(team.work(moderators[0], stop)),
        asyncio.create_task(team.work(moderators[1], stop)),
        asyncio.create_task(team.publish(moderators[0], stop)),
        stirring,
        outaging,
    ]
    walking = [asyncio.create_task(person.live()) for person in people]
    ramp_over = time.monotonic() + plan.ramp_s

    def enough() -> bool:
        over = time.monotonic() > ramp_over and world.outages_done.is_set()
        return tally.kills >= plan.kills and over

    killer = asyncio.create_task(keep_killing(world, bot, enough))
    try:
        await killer
        await outaging  # raises what went wrong in an outage, if anything
        await asyncio.gather(*walking)
        await stirring  # the last kick, if it is still going on
        settle_s, still_waiting = await settle(world)
    finally:
        stop.set()
        for task in [*helpers, killer, *walking]:
            task.cancel()
        await asyncio.gather(*helpers, killer, *walking, return_exceptions=True)
        bot_exit = await bot.stop()
    snapshot = world.db.snapshot()
    world.db.close()
    findings = check(world, people, snapshot, workdir / "photos")
    statuses = Counter(str(e.status) for e in snapshot.entries)
    return Report(
        plan=plan,
        findings=findings,
        tally=tally,
        counts={
            "apprentices": len(people),
            "submitted": sum(p.confirmed for p in people),
            "published": statuses["published"],
            "refused": statuses["refused"],
            "erased": sum(p.erased_at is not None for p in people),
        },
        calls=len(emu.calls),
        flood_429=sum(c.status == 429 for c in emu.calls) - tally.faults[("429", False)],
        duration_s=time.monotonic() - started,
        settle_s=settle_s,
        still_waiting=still_waiting,
        erasures=[
            f"{p.role.name} (user {p.user.id}) at {p.erased_at - started:.0f} s, "
            f"{p.role.erase_when}: entry was {p.erased_while}"
            for p in people
            if p.erased_at is not None
        ],
        gave_up=[f"{p.role.name}: {p.gave_up}" for p in people if p.gave_up],
        flows=flow_summary(people),
        transcripts={p.role.name: watch.transcripts[p.user.id][-25:] for p in people if p.gave_up},
        workdir=workdir,
        log_path=bot.log_path,
        bot_exit=bot_exit,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks chaos",
        description="The chaos run (see benchmarks/chaos.py): exit status 1 if a check fails.",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--apprentices", type=int, default=None)
    parser.add_argument("--kills", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="20 apprentices, 5 kills, ~1 min")
    args = parser.parse_args(argv)
    plan = Plan.quick(args.seed) if args.quick else Plan(seed=args.seed)
    if args.apprentices is not None:
        plan = dataclasses.replace(plan, apprentices=args.apprentices)
    if args.kills is not None:
        plan = dataclasses.replace(plan, kills=args.kills)
    # The emulator warns about connections the killed bot left behind: expected here.
    for name in ("bot.sandbox", "aiohttp.server", "aiohttp.access"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    report = asyncio.run(run(plan))
    print("\n".join(report.lines()))
    print()
    print(report.markdown())
    return 0 if report.ok else 1
