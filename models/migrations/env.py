"""Alembic environment.

Normally driven by :mod:`models.db`, which opens the connection (sync facade of an async
engine, via ``run_sync``) and hands it over in ``config.attributes["connection"]``. Without
one (plain ``alembic.command`` use with ``sqlalchemy.url`` set) it opens its own async
engine; with ``--sql`` it writes the SQL out instead.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection, TypeDecorator

from models.base import import_all_models
from models.db import make_engine

config = context.config
target_metadata = import_all_models()  # every models/ module, so every table


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render our TypeDecorators as their plain SQLAlchemy type.

    Migrations must stay frozen in time: they should not import application code that
    may change or disappear later.
    """
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl_instance!r}"
    return False


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        # Batch mode always: SQLite can only ALTER by copying tables, and the same revision
        # files run on PostgreSQL (where batch operations become plain ALTERs).
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
        **kwargs,
    )


def _run_on(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        # Batch mode re-creates tables; with foreign keys on, dropping a parent table would
        # cascade-delete its children. Effective because no write transaction has begun
        # yet; models.db switches them back on after the commit.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"migration left dangling foreign keys: {broken[:10]}")


async def _run_with_own_engine(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_on)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    _run_on(given)
else:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url configured")
    asyncio.run(_run_with_own_engine(url))
