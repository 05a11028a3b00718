"""Every button's callback data, built and parsed in one place.

A button and the handler that answers it must agree on a string of at most 64 bytes;
here each kind of button is one typed value: it builds the data, gives the handler its
pattern and reads the data back. Handlers never spell a callback string themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup


@dataclass(frozen=True)
class Choice:
    """A question's buttons: ``<name>:<option>``, the option one of a fixed set."""

    name: str
    options: tuple[str, ...]

    def data(self, option: str) -> str:
        assert option in self.options, option
        return f"{self.name}:{option}"

    @property
    def pattern(self) -> str:
        return rf"^{self.name}:({'|'.join(self.options)})$"

    def option(self, data: str) -> str:
        """The option pressed (the data matched :attr:`pattern`)."""
        return data.split(":", 1)[1]


@dataclass(frozen=True)
class Numbered:
    """A button about one row: ``<prefix>:<id>``."""

    prefix: str
    digits: int = 12

    def data(self, number: int) -> str:
        return f"{self.prefix}:{number}"

    @property
    def pattern(self) -> str:
        return rf"^{self.prefix}:\d{{1,{self.digits}}}$"

    def number(self, data: str) -> int:
        return int(data.rsplit(":", 1)[1])


@dataclass(frozen=True)
class Versioned:
    """A button about one version of a text: ``<prefix>:<hex digits>``."""

    prefix: str

    def data(self, version: str) -> str:
        assert re.fullmatch(r"[0-9a-f]{1,16}", version), version
        return f"{self.prefix}:{version}"

    @property
    def pattern(self) -> str:
        return rf"^{self.prefix}:[0-9a-f]{{1,16}}$"

    def version(self, data: str) -> str:
        return data.rsplit(":", 1)[1]


@dataclass(frozen=True)
class Listed:
    """A pick from a list shown as buttons, or the text the person typed instead:
    ``<name>:<index>[:<index>]`` or ``<name>:typed``."""

    name: str
    indexes: int
    """How many indexes name an item (a trade: its sector and its place in it)."""

    def data(self, *index: int) -> str:
        assert len(index) == self.indexes
        return ":".join([self.name, *map(str, index)])

    @property
    def typed(self) -> str:
        return f"{self.name}:typed"

    @property
    def pattern(self) -> str:
        numbers = ":".join([r"\d+"] * self.indexes)
        return rf"^{self.name}:({numbers}|typed)$"

    def index(self, data: str) -> tuple[int, ...] | None:
        """The item's indexes, or None for the typed text."""
        if data == self.typed:
            return None
        return tuple(int(part) for part in data.split(":")[1:])


CONSENT = Choice("consent", ("yes", "more", "no"))
AGE = Choice("age", ("adult", "minor"))
GUARDIAN = Choice("guardian", ("yes", "no"))
NAME = Choice("name", ("first", "other", "anon"))
TRADE = Listed("trade", 2)
TRADE_PAGE = Numbered("tpage")
CENTRE = Listed("centre", 1)
QUOTE = Choice("quote", ("skip",))
PREVIEW = Choice("preview", ("send", "photo", "edit", "cancel"))
COACH = Choice("coach", ("blur", "agree"))
EDIT = Choice("edit", ("name", "trade", "centre", "quote", "back"))
ERASE = Choice("erase", ("yes", "no"))
CONSENT_TEXT = Versioned("ctext")

REMOVAL_DONE = Numbered("rm:done")
"""A moderator says they removed by hand a message the bot could not."""
UNPUBLISH_BANNED = Numbered("ban:unpub", digits=16)
"""After a ban: take every post of that person off the channel."""


class Card(StrEnum):
    """What a moderation card's button does (its handler: ``handlers.decisions``)."""

    APPROVE = "ok"
    REFUSE = "no"
    """Shows the listed reasons."""
    REASON = "why"
    OTHER_REASON = "other"
    BACK = "back"
    BAN = "ban"
    CONFIRM_BAN = "banok"
    UNDO = "undo"
    PUBLISH_NOW = "now"
    UNPUBLISH = "unpub"
    """Asks to confirm: a slip must not take a selfie off the channel."""
    CONFIRM_UNPUBLISH = "unpubok"
    REQUEUE = "requeue"


@dataclass(frozen=True)
class CardPress:
    """A button of a moderation card: ``mod:<action>:<entry id>[:<argument>]``."""

    action: str
    entry_id: int
    argument: str | None = None

    PATTERN = r"^mod:"
    """Every card press reaches one handler, which checks the rest (:meth:`parse`)."""

    def data(self) -> str:
        tail = f":{self.argument}" if self.argument is not None else ""
        return f"mod:{self.action}:{self.entry_id}{tail}"

    @classmethod
    def parse(cls, data: str) -> CardPress | None:
        """The press, or None when the data is not a well-formed card button (forged)."""
        match = _CARD.match(data)
        if match is None:
            return None
        return cls(match.group(1), int(match.group(2)), match.group(3))


def card_button(action: Card, entry_id: int, argument: str | None = None) -> str:
    return CardPress(action, entry_id, argument).data()


_CARD = re.compile(r"^mod:([a-z]{2,7}):(\d{1,12})(?::([a-z0-9_]{1,24}))?$")


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Inline buttons from (text, callback data) pairs, one inner list per row."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )
