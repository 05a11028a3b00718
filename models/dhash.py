"""The photos' 64-bit difference hash in the database: its storage and its distance.

A dHash is unsigned and SQL's BIGINT signed, so the column holds the two's complement (same
bits). :func:`hamming` counts differing bits in Python; :class:`dhash_distance` is the same
count inside a query, and on SQLite it calls :func:`hamming` itself (registered on every
connection by :func:`models.db.make_engine`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

_BITS = 64
_MASK = (1 << _BITS) - 1


def dhash_to_db(unsigned: int) -> int:
    """Unsigned 64-bit dHash → signed value for the BIGINT column (same bits)."""
    if not 0 <= unsigned < 1 << _BITS:
        raise ValueError(f"dhash {unsigned} is not an unsigned 64-bit integer")
    return unsigned - (1 << _BITS) if unsigned >= 1 << (_BITS - 1) else unsigned


def dhash_from_db(signed: int) -> int:
    """Signed BIGINT from the database → the unsigned 64-bit dHash (same bits)."""
    if not -(1 << (_BITS - 1)) <= signed < 1 << (_BITS - 1):
        raise ValueError(f"{signed} is not a signed 64-bit integer")
    return signed & _MASK


def hamming(a: int, b: int) -> int:
    """Number of differing bits of two 64-bit hashes, stored (signed) or not (unsigned):
    up to ~8 is very likely the same photo."""
    return ((a ^ b) & _MASK).bit_count()


class dhash_distance(FunctionElement[int]):
    """``dhash_distance(a, b)``: :func:`hamming` of two dHash columns, in SQL.

    One construct for the query, one rendering per backend: PostgreSQL (>= 14) has
    ``bit_count`` on bit strings; SQLite calls the Python function.
    """

    type = Integer()
    name = "dhash_distance"
    inherit_cache = True


@compiles(dhash_distance, "postgresql")
def _dhash_distance_postgresql(element: dhash_distance, compiler: SQLCompiler, **kw: Any) -> str:
    a, b = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"bit_count(CAST(({a} # {b}) AS bit(64)))"


@compiles(dhash_distance, "sqlite")
def _dhash_distance_sqlite(element: dhash_distance, compiler: SQLCompiler, **kw: Any) -> str:
    a, b = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"hamming({a}, {b})"
