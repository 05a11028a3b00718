"""The PTB persistence on the bot's database: one transaction per round, nothing lost."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.persistence import SQLPersistence
from models.state import load_state


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
