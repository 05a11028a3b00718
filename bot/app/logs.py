"""What a stranger can put in the log, kept to one line now and then, and updates the bot
cannot read by id and type only.

:class:`OncePerPeriod` limits a kind of noise (asyncio's failed accepts, aiohttp's
malformed requests, an unreadable batch PTB polls for again) to one line per period.

Telegram's data is the apprentices' (names, texts, captions): an update that cannot be
parsed is never quoted. The webhook says so itself (:mod:`bot.app.webhook`); in polling
mode PTB's bot logs the whole batch it received at CRITICAL (``Received data was …``) and
its updater the same error again with a traceback whose message may quote a value.
:class:`UnreadableUpdates` turns the first into one line of ids and types and drops the
second. PTB then asks for the same batch again, which :mod:`bot.app.polling` gets it past;
should that ever fail, the line is still limited to one per period (:class:`OncePerPeriod`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from telegram import Update

BOT_LOGGER = "telegram.ext.ExtBot"
UPDATER_LOGGER = "telegram.ext.Updater"
_PARSING = "Error while parsing updates!"
_PROCESSING = "Something went wrong processing the data received from Telegram."

LOG_PERIOD = 60.0
"""One line at most per period for each kind of noise a stranger can cause."""


class OncePerPeriod(logging.Filter):
    """Lets through one record per :data:`LOG_PERIOD` for each message, as one line
    (no traceback) saying how many were left out since the last one.

    ``prefixes`` limits it to the messages starting so (others pass untouched); without,
    every record of the logger is limited.
    """

    def __init__(self, prefixes: Sequence[str] = (), period: float = LOG_PERIOD) -> None:
        super().__init__()
        self.prefixes = tuple(prefixes)
        self.period = period
        self._last: dict[str, float] = {}
        self._left_out: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if self.prefixes and not str(record.msg).startswith(self.prefixes):
            return True
        key = str(record.msg).splitlines()[0] if record.msg else ""
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.period:
            self._left_out[key] = self._left_out.get(key, 0) + 1
            return False
        self._last[key] = now
        left_out = self._left_out.pop(key, 0)
        error = record.exc_info[1] if record.exc_info else None
        lines = record.getMessage().splitlines()
        line = (lines[0] if lines else "") + (
            f" ({type(error).__name__}: {error})" if error else ""
        )
        if left_out:
            line += f"; {left_out} more like it in the last {self.period:.0f} s"
        record.msg, record.args = line, None
        record.exc_info = record.exc_text = record.stack_info = None
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def describe(data: Any) -> str:
    """``77 (message)``: an update's id and its type among Telegram's, never a key or a
    value of the data's own choosing."""
    if not isinstance(data, dict):
        return "? (not an object)"
    value = data.get("update_id")
    number = str(value) if isinstance(value, int) and not isinstance(value, bool) else "?"
    kind = next((kind for kind in Update.ALL_TYPES if kind in data), "unknown type")
    return f"{number} ({kind})"


class UnreadableUpdates(logging.Filter):
    """On PTB's bot and updater loggers: the unreadable batch by ids and types, once per
    period; every other record passes untouched."""

    def __init__(self) -> None:
        super().__init__()
        self._once = OncePerPeriod()

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith(_PROCESSING):
            return False  # the same error, already said by the bot's record
        if not message.startswith(_PARSING):
            return True
        received = record.args[0] if isinstance(record.args, tuple) and record.args else None
        batch = received if isinstance(received, list) else [received]
        error = record.exc_info[1] if record.exc_info else None
        record.msg = "polling: updates %s could not be read (%s): not handled, asked for again"
        record.args = (", ".join(describe(data) for data in batch), type(error).__name__)
        record.exc_info = record.exc_text = None
        return self._once.filter(record)


def log_unreadable_updates() -> None:
    """Install the filter on PTB's loggers, in place of one an earlier configuration of the
    logging installed (its count of lines starts again)."""
    shared = UnreadableUpdates()
    for name in (BOT_LOGGER, UPDATER_LOGGER):
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, UnreadableUpdates)]:
            logger.removeFilter(old)
        logger.addFilter(shared)
