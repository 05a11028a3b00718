"""Forgiving matching of typed trades and centres against the configured lists.

Apprentices type on phones: accents, case, punctuation and the inclusive "·" are ignored,
and a query whose words all appear in a choice ("dijon" → "CFA de Dijon") counts as close.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from difflib import SequenceMatcher

CLOSE_ENOUGH = 0.75


def normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    without_accents = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", without_accents).split())


def similarity(query: str, choice: str) -> float:
    """1.0 for the same words; high when close in spelling or when every typed word is there."""
    typed, known = normalise(query), normalise(choice)
    if not typed or not known:
        return 0.0
    ratio = SequenceMatcher(None, typed, known).ratio()
    known_words = set(known.split())
    typed_words = typed.split()
    contained = all(
        any(word == k or (len(word) >= 4 and k.startswith(word)) for k in known_words)
        for word in typed_words
    )
    return max(ratio, 0.9 if contained else 0.0)


def exact(query: str, choices: list[str]) -> str | None:
    typed = normalise(query)
    return next((choice for choice in choices if normalise(choice) == typed), None)


def close_matches(query: str, choices: list[str], limit: int = 3) -> list[str]:
    scored = sorted(
        ((similarity(query, choice), choice) for choice in choices),
        key=lambda pair: -pair[0],
    )
    return [choice for score, choice in scored if score >= CLOSE_ENOUGH][:limit]


def match_typed(
    query: str, choices: list[str], aliases: Mapping[str, str] | None = None
) -> tuple[str | None, list[str]]:
    """What a typed answer names: the choice it is (by spelling, or an alias such as a
    centre's code), else the choices it is close to (none: the text is kept as typed)."""
    same = exact(query, choices) or (aliases or {}).get(query)
    if same is not None:
        return same, []
    return None, close_matches(query, choices)


def trade_name(typed: str) -> str:
    """A typed trade as the name of a trade, the way the listed ones read: a capital first
    letter, the rest as typed (« coiffeuse » → « Coiffeuse », « BTS MCO » stays)."""
    return typed[:1].upper() + typed[1:]
