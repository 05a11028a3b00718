"""Flood control: Telegram answers 429 with ``retry_after`` when a bot sends too fast.

Counted: the calls that post a new message (sendMessage, sendPhoto, sendDocument,
copyMessage...); edits, deletes and answers are not. Two sliding windows, as in Telegram's
FAQ: about 30 messages per second overall, and 20 messages per minute into one group or
channel. Private chats are not limited here.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .errors import too_many_requests

COUNTED_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVideo",
        "sendAnimation",
        "sendSticker",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessage",
    }
)


@dataclass
class FloodLimits:
    """The thresholds; set ``enabled=False`` (or pass ``flood_limits=False``) to switch off."""

    global_per_second: int = 30
    group_per_minute: int = 20
    enabled: bool = True


class FloodControl:
    """Sliding-window counters; ``check`` raises 429 or records one more message."""

    def __init__(self, limits: FloodLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._offset = 0.0
        self._global: deque[float] = deque()
        self._per_chat: dict[int, deque[float]] = {}

    def advance(self, seconds: float) -> None:
        """Move this clock forward with the world's (``Emulator.travel``): windows empty."""
        self._offset += seconds

    def reset(self) -> None:
        self._global.clear()
        self._per_chat.clear()

    def check(self, chat_id: int, is_group_or_channel: bool) -> None:
        """Refuse (429) when sending one more message now would exceed a limit, else count it."""
        if not self.limits.enabled:
            return
        now = self.clock() + self._offset
        windows = [(self._global, 1.0, self.limits.global_per_second)]
        if is_group_or_channel:
            window = self._per_chat.setdefault(chat_id, deque())
            windows.append((window, 60.0, self.limits.group_per_minute))
        for stamps, span, limit in windows:
            while stamps and stamps[0] <= now - span:
                stamps.popleft()
            if len(stamps) >= limit:
                wait = stamps[len(stamps) - limit] + span - now
                raise too_many_requests(max(1, math.ceil(wait)))
        for stamps, _, _ in windows:
            stamps.append(now)
