"""Every test starts from a fresh database of its own, whichever worker runs it and in
whatever order: what the rest of the suite stands on."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Submission, SubmissionStatus
from models.db import MIGRATIONS_DIR, current_revision, make_engine
from tests.support.data import AddSubmission


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    from models.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None and MIGRATIONS_DIR.is_dir()
    return head


async def test_db_url_is_at_the_latest_revision(db_url: str) -> None:
    assert await current_revision(db_url) == head_revision()


async def test_empty_db_url_has_no_table(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: sync.dialect.get_table_names(sync))
    finally:
        await engine.dispose()
    assert tables == []
    assert await current_revision(empty_db_url) is None


@pytest.mark.parametrize("turn", ["one", "other"])
async def test_a_test_never_sees_the_entries_of_another(
    turn: str,
    session_factory: async_sessionmaker[AsyncSession],
    add_submission: AddSubmission,
) -> None:
    """Two tests writing the same entry: whichever runs second, on the same worker or not,
    finds the database as new."""
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Submission)) == 0
    entry = await add_submission(SubmissionStatus.PENDING, display_name=turn)
    assert entry.id == 1  # numbering starts over too
