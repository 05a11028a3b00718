"""Fault injection: make the next calls of a method fail like a flaky Telegram would.

Kinds:

- ``"429"``: ``Too Many Requests`` with ``retry_after``.
- ``"500"``, ``"502"`` (any 5xx): ``Internal Server Error`` / ``Bad Gateway``.
- ``"timeout"``: the server holds the request without answering for ``hold`` seconds (default
  60, released early when the emulator stops) and then drops the connection; set the client
  read timeout below ``hold`` and PTB raises ``telegram.error.TimedOut``.
- ``"drop"``: the connection is closed at once without an answer: PTB raises ``NetworkError``.

With ``delivered=True`` the method is executed first (the message *is* sent) and only the
answer is lost: the "did my post go out?" case a publisher must survive.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

KINDS = ("429", "500", "502", "503", "504", "timeout", "drop")


@dataclass
class Fault:
    kind: str
    retry_after: int = 1
    hold: float = 60.0
    delivered: bool = False


@dataclass
class _Planned:
    fault: Fault
    remaining: int


@dataclass
class _Rate:
    methods: frozenset[str] | None
    rate: float
    kinds: tuple[str, ...]
    rng: random.Random
    retry_after: int
    hold: float


class FaultPlan:
    """Queued faults per method (``"*"`` matches every method) and an optional random rate."""

    def __init__(self) -> None:
        self._planned: dict[str, list[_Planned]] = {}
        self._rate: _Rate | None = None

    def inject(self, method: str, fault: Fault, count: int = 1) -> None:
        if fault.kind not in KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}; expected one of {KINDS}")
        self._planned.setdefault(method, []).append(_Planned(fault, count))

    def set_rate(
        self,
        methods: Iterable[str] | None,
        rate: float,
        kinds: Iterable[str],
        seed: int | None,
        retry_after: int,
        hold: float,
    ) -> None:
        kinds = tuple(kinds)
        for kind in kinds:
            if kind not in KINDS:
                raise ValueError(f"unknown fault kind {kind!r}")
        chosen = frozenset(methods) if methods is not None else None
        self._rate = _Rate(chosen, rate, kinds, random.Random(seed), retry_after, hold)

    def clear(self) -> None:
        self._planned.clear()
        self._rate = None

    def pending(self) -> dict[str, int]:
        """Remaining planned faults per method, for assertions."""
        return {m: sum(p.remaining for p in q) for m, q in self._planned.items() if q}

    def next_fault(self, method: str) -> Fault | None:
        """The fault to apply to this call, consuming one planned fault, if any."""
        for key in (method, "*"):
            queue = self._planned.get(key)
            if queue:
                planned = queue[0]
                planned.remaining -= 1
                if planned.remaining <= 0:
                    queue.pop(0)
                return planned.fault
        rate = self._rate
        if rate and (rate.methods is None or method in rate.methods):
            if rate.rng.random() < rate.rate:
                return Fault(rate.rng.choice(rate.kinds), rate.retry_after, rate.hold)
        return None
