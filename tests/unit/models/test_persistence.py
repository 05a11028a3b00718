"""The PTB persistence on the bot's database: one transaction per round, nothing lost."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app.persistence import SQLPersistence
from models.state import ROWS_PER_STATEMENT, load_state


async def test_round_trip_dedup_and_deletion(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    persistence = SQLPersistence(session_factory)
    await persistence.update_user_data(1, {"lang": "en", "entry": {"trade": "Boucher·ère"}})
    await persistence.update_user_data(2, {"lang": "fr"})
    await persistence.update_conversation("apprentice", (1, 1), "trade")
    await persistence.flush()
    restarted = SQLPersistence(session_factory)
    assert await restarted.get_user_data() == {
        1: {"lang": "en", "entry": {"trade": "Boucher·ère"}},
        2: {"lang": "fr"},
    }
    assert await restarted.get_conversations("apprentice") == {(1, 1): "trade"}

    await restarted.update_conversation("apprentice", (1, 1), None)  # conversation ended
    await restarted.drop_user_data(2)
    await restarted.update_user_data(1, {"lang": "en", "entry": {"trade": "Boucher·ère"}})
    await restarted.flush()
    async with session_factory() as session:
        assert await load_state(session, "conversation:apprentice") == {}
        assert set(await load_state(session, "user")) == {"1"}


async def test_a_round_larger_than_one_statement(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A viral hour: more touched users in one round than one statement carries."""
    persistence = SQLPersistence(session_factory)
    users = 2 * ROWS_PER_STATEMENT + 7
    for user in range(users):
        await persistence.update_user_data(user, {"entry": {"n": user}})
        await persistence.update_conversation("apprentice", (user, user), "name")
    await persistence.flush()
    for user in range(0, users, 2):
        await persistence.drop_user_data(user)
        await persistence.update_conversation("apprentice", (user, user), "trade")
    await persistence.flush()
    restarted = SQLPersistence(session_factory)
    assert await restarted.get_user_data() == {u: {"entry": {"n": u}} for u in range(1, users, 2)}
    states = await restarted.get_conversations("apprentice")
    assert states == {(u, u): "trade" if u % 2 == 0 else "name" for u in range(users)}
