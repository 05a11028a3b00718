"""Fault injection: make calls fail like a flaky (or refusing) Telegram would.

Kinds:

- ``"429"``: ``Too Many Requests`` with ``retry_after``.
- ``"500"``, ``"502"`` (any 5xx): ``Internal Server Error`` / ``Bad Gateway``.
- ``"400"``, ``"403"``: a refusal with a Telegram ``description`` (defaults below); PTB
  raises ``BadRequest`` / ``Forbidden``. For "Telegram refuses this one message".
- ``"timeout"``: the server holds the request without answering for ``hold`` seconds (default
  60, released early when the emulator stops) and then drops the connection; set the client
  read timeout below ``hold`` and PTB raises ``telegram.error.TimedOut``.
- ``"drop"``: the connection is closed at once without an answer: PTB raises ``NetworkError``.
- ``"delay"``: no failure, a slow Telegram: the call waits ``hold`` seconds (released early
  when the emulator stops), then runs and is answered as usual. For "stop while a send is
  in flight".

With ``delivered=True`` (5xx, timeout, drop) the method is executed first (the message *is*
sent) and only the answer is lost: the "did my post go out?" case a publisher must survive.

Faults are decided after the call's parameters are read, so a planned fault can ``match``
only some calls (this caption, this chat); the others go through and do not consume it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, too_many_requests

KINDS = ("400", "403", "429", "500", "502", "503", "504", "timeout", "drop", "delay")
#: Kinds after which the method may have run anyway (only the answer was lost).
DELIVERABLE = ("500", "502", "503", "504", "timeout", "drop")
DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: wrong file identifier/HTTP URL specified",
    403: "Forbidden: bot was kicked from the channel chat",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_PREFIXES = {400: "Bad Request: ", 403: "Forbidden: "}

#: Chooses the calls a fault applies to, from their parameters (see ``FaultPlan.next_fault``).
Match = Callable[[dict[str, Any]], bool]


@dataclass
class Fault:
    kind: str
    retry_after: int = 1
    hold: float = 60.0
    delivered: bool = False
    #: For 4xx/5xx: the answer's description (4xx get "Bad Request: "/"Forbidden: " if absent).
    description: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {KINDS}")
        if self.delivered and self.kind not in DELIVERABLE:
            raise ValueError(f"delivered only applies to {DELIVERABLE}, not {self.kind!r}")

    @property
    def status(self) -> int:
        """The HTTP status answered; 0 when there is no answer (timeout, drop)."""
        if self.kind == "delay":
            return 200
        return int(self.kind) if self.kind.isdigit() else 0

    def error(self) -> ApiError | None:
        """The Telegram-shaped error answer, or None for timeout and drop."""
        code = self.status
        if code == 429:
            return too_many_requests(self.retry_after)
        if code == 0:
            return None
        description = self.description or DEFAULT_DESCRIPTIONS.get(code, "Server Error")
        prefix = _PREFIXES.get(code, "")
        if not description.startswith(prefix):
            description = prefix + description
        return ApiError(code, description)


@dataclass
class _Planned:
    fault: Fault
    remaining: int | None  # None: every matching call until cleared
    match: Match | None

    def applies(self, params: dict[str, Any]) -> bool:
        return self.match is None or bool(self.match(params))


@dataclass
class _Rate:
    methods: frozenset[str] | None
    exclude: frozenset[str]
    rate: float
    kinds: tuple[str, ...]
    rng: random.Random
    retry_after: int
    hold: float
    delivered: float

    def covers(self, method: str) -> bool:
        return method not in self.exclude and (self.methods is None or method in self.methods)

    def draw(self) -> Fault | None:
        """A random fault with probability ``rate``; a share ``delivered`` of those that can
        be is executed first."""
        if self.rng.random() >= self.rate:
            return None
        kind = self.rng.choice(self.kinds)
        delivered = False
        if self.delivered and kind in DELIVERABLE:
            delivered = self.rng.random() < self.delivered
        return Fault(kind, self.retry_after, self.hold, delivered)


class FaultPlan:
    """Queued faults per method (``"*"`` matches every method) and an optional random rate."""

    def __init__(self) -> None:
        self._planned: dict[str, list[_Planned]] = {}
        self._rate: _Rate | None = None

    def inject(
        self, method: str, fault: Fault, count: int | None = 1, match: Match | None = None
    ) -> None:
        if count is not None and count < 1:
            raise ValueError("count must be at least 1 (or None: until cleared)")
        self._planned.setdefault(method, []).append(_Planned(fault, count, match))

    def set_rate(
        self,
        methods: Iterable[str] | None,
        rate: float,
        kinds: Iterable[str],
        seed: int | None,
        retry_after: int,
        hold: float,
        *,
        delivered: float = 0.0,
        exclude: Iterable[str] = (),
    ) -> None:
        kinds = tuple(kinds)
        for kind in kinds:
            Fault(kind)  # refuses an unknown kind
        chosen = frozenset(methods) if methods is not None else None
        self._rate = _Rate(
            chosen,
            frozenset(exclude),
            rate,
            kinds,
            random.Random(seed),
            retry_after,
            hold,
            delivered,
        )

    def clear(self, method: str | None = None) -> None:
        """Forget the planned faults of ``method``, or everything (rate included)."""
        if method is not None:
            self._planned.pop(method, None)
            return
        self._planned.clear()
        self._rate = None

    def pending(self) -> dict[str, int | None]:
        """Remaining planned faults per method (None: until cleared), for assertions."""
        out: dict[str, int | None] = {}
        for method, queue in self._planned.items():
            if queue:
                counts = [p.remaining for p in queue]
                out[method] = None if None in counts else sum(c for c in counts if c)
        return out

    def next_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        """The fault for this call, consuming one planned fault that applies, if any."""
        for key in (method, "*"):
            queue = self._planned.get(key, [])
            for planned in queue:
                if planned.applies(params):
                    if planned.remaining is not None:
                        planned.remaining -= 1
                        if planned.remaining <= 0:
                            queue.remove(planned)
                    return planned.fault
        if self._rate is not None and self._rate.covers(method):
            return self._rate.draw()
        return None
