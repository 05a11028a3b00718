"""Declarative base, naming convention and the two column types every table relies on.

Kept apart from the tables so that Alembic's ``env.py`` and the tests can import the
metadata without pulling anything else in.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from sqlalchemy import DateTime, Dialect, MetaData, String, TypeDecorator
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncAttrs, AsyncSession
from sqlalchemy.orm import DeclarativeBase

ROW_ID_MAX = 2**31 - 1
"""The largest id an ``Integer`` primary key holds (PostgreSQL's ``integer``): a larger one
from outside (a forged button, a typed link) names no row, and must not reach a query."""

# Deterministic constraint/index names: migrations written today must match what the models
# produce tomorrow, on SQLite and PostgreSQL alike (otherwise each backend invents names).
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Current time as an aware UTC datetime (the only kind stored in the database)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that always hands Python an aware UTC datetime.

    PostgreSQL stores ``timestamptz`` natively. SQLite has no time zones: it would silently
    drop ``tzinfo`` and give back naive values. So values are normalised to UTC on the way
    in (naive input is refused: its meaning is ambiguous) and stored without offset on
    SQLite, which also keeps text comparison/ordering correct; on the way out naive values
    are tagged as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (UTC)")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


E = TypeVar("E", bound=enum.StrEnum)


class StrEnumType(TypeDecorator[E]):
    """A ``VARCHAR`` holding a :class:`enum.StrEnum` value.

    Plain strings in the database (readable in SQL, no native PostgreSQL ENUM to migrate),
    enum members in Python. Unknown values are refused before reaching the database; the
    table additionally carries a CHECK constraint for writes that bypass Python.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum_class: type[E], length: int = 16) -> None:
        super().__init__(length)
        self.enum_class = enum_class

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.enum_class(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        if value is None:
            return None
        return self.enum_class(value)


def import_all_models() -> MetaData:
    """Import every module of the ``models`` package so all tables are on the metadata.

    Alembic (``env.py``) and the schema comparison test need the complete metadata; a table
    declared in a new module is picked up without anyone having to register it.
    """
    import importlib
    import pkgutil

    import models

    for module in pkgutil.iter_modules(models.__path__):
        if module.name != "migrations":
            importlib.import_module(f"models.{module.name}")
    return Base.metadata


class Base(AsyncAttrs, DeclarativeBase):
    """Base class of every table; ``Base.metadata`` is Alembic's target metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def dialect_insert(session: AsyncSession) -> Any:
    """The INSERT of the session's database (PostgreSQL's or SQLite's): the one with
    ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def upsert(
    session: AsyncSession, model: type[Base], keys: dict[str, Any], values: dict[str, Any]
) -> None:
    """Insert a row, or update ``values`` of the row with these ``keys``: one statement,
    so two writers never race between a read and a write (SQLite and PostgreSQL alike)."""
    await upsert_many(session, model, list(keys), [{**keys, **values}])


async def upsert_many(
    session: AsyncSession, model: type[Base], key_names: list[str], rows: list[dict[str, Any]]
) -> None:
    """:func:`upsert` for many rows with the same columns, in one multi-row statement."""
    if not rows:
        return
    statement = dialect_insert(session)(model).values(rows)
    updated = [name for name in rows[0] if name not in key_names]
    statement = statement.on_conflict_do_update(
        index_elements=key_names, set_={name: statement.excluded[name] for name in updated}
    )
    await session.execute(statement)
