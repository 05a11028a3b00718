"""Interest (« ce métier m'intéresse ») as one figure, the people interested: a person once a
day per post and once a day per trade, a repeat counting nothing; /stats's ranking and the
weeks read it; migration 0011 keeps the existing figures. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Date, bindparam, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models.db import downgrade, upgrade
from models.interest import forget_visitors_before, interest_by_day, record_visit, top_posts
from models.stats import campaign_stats
from models.tables import InterestDay, InterestPost, InterestTradeVisitor, InterestVisitor
from models.weekly import weeks

MONDAY = date(2026, 11, 30)
INTEREST_TABLES = ("interest_posts", "interest_days", "interest_visitors")


async def figures(session: AsyncSession) -> tuple[dict[int, int], dict[tuple[date, str], int]]:
    posts = await session.execute(select(InterestPost.submission_id, InterestPost.visitors))
    days = await session.execute(select(InterestDay.day, InterestDay.trade, InterestDay.visitors))
    return {p: n for p, n in posts}, {(d, trade): n for d, trade, n in days}


async def test_a_person_counts_once_a_day_per_post_and_per_trade(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        visits = [
            *[(MONDAY, 1, "Pâtissier·ère", "lou")] * 40,  # one person, forty times
            (MONDAY, 2, "Pâtissier·ère", "lou"),  # another post of the same trade
            (MONDAY, 3, "Coiffeur·se", "lou"),  # another trade
            (MONDAY, 1, "Pâtissier·ère", "kim"),
            (MONDAY + timedelta(days=1), 1, "Pâtissier·ère", "lou"),  # the next day
        ]
        firsts = [await record_visit(session, *visit) for visit in visits]
    assert firsts == [True, *[False] * 39, True, True, True, True]
    async with session_factory() as session:
        posts, days = await figures(session)
        assert posts == {1: 3, 2: 1, 3: 1}
        assert days == {
            (MONDAY, "Pâtissier·ère"): 2,  # Lou once though she opened two of its posts
            (MONDAY, "Coiffeur·se"): 1,
            (MONDAY + timedelta(days=1), "Pâtissier·ère"): 1,
        }
        assert await interest_by_day(session, MONDAY) == {MONDAY: 3, MONDAY + timedelta(days=1): 1}
        [week] = await weeks(session, 1, MONDAY + timedelta(days=6))
        assert (week.monday, week.visitors) == (MONDAY, 4)

    async with session_factory() as session, session.begin():
        assert await forget_visitors_before(session, MONDAY + timedelta(days=1)) == 4 + 3
        kept_posts = list(await session.scalars(select(InterestVisitor.day)))
        kept_trades = list(await session.scalars(select(InterestTradeVisitor.day)))
    assert kept_posts == kept_trades == [MONDAY + timedelta(days=1)]


async def test_posts_are_ranked_by_the_people_they_interested(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        for _ in range(40):
            await record_visit(session, MONDAY, 2, "Coiffeur·se", "flo")
        for person in ("lou", "kim", "noa"):
            await record_visit(session, MONDAY, 1, "Pâtissier·ère", person)
        await record_visit(session, MONDAY, 3, "Boucher·ère", "eli")
    async with session_factory() as session:
        ranked = [(p.submission_id, p.visitors) for p in await top_posts(session, 3)]
    assert ranked == [(1, 3), (3, 1), (2, 1)]  # three people first; ties: the newest entry
    stats = await campaign_stats(session_factory)
    assert [p.submission_id for p in stats.top_posts] == [1, 3, 2]


def _interest_schema(connection: Connection) -> dict[str, Any]:
    inspector = inspect(connection)
    return {
        table: (
            sorted(c["name"] for c in inspector.get_columns(table)),
            sorted((i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)),
            inspector.get_pk_constraint(table)["constrained_columns"],
        )
        for table in inspector.get_table_names()
        if table.startswith("interest_")
    }


async def test_0011_keeps_the_people_as_the_figure_and_recounts_todays_trades(
    engine: AsyncEngine,
) -> None:
    """0010's rows: the visitors stay the figure (visits, repeats included, are dropped);
    the days whose digests are still kept count a person once per trade; the downgrade
    gives back 0010's schema with visits equal to visitors."""
    await downgrade(engine, "0010")
    async with engine.connect() as connection:
        schema_0010 = await connection.run_sync(_interest_schema)
    assert set(schema_0010) == set(INTEREST_TABLES)
    yesterday, today = MONDAY - timedelta(days=1), MONDAY
    async with engine.begin() as connection:
        run = connection.execute
        await run(
            text(
                "INSERT INTO interest_posts (submission_id, trade, visits, visitors)"
                " VALUES (1, 'Pâtissier·ère', 48, 2), (2, 'Pâtissier·ère', 3, 1),"
                " (3, 'Coiffeur·se', 5, 4)"
            )
        )
        await run(
            text(
                "INSERT INTO interest_days (day, trade, visits, visitors) VALUES"
                " (:yesterday, 'Pâtissier·ère', 9, 5), (:today, 'Pâtissier·ère', 42, 3),"
                " (:today, 'Coiffeur·se', 2, 1)"
            ).bindparams(bindparam("yesterday", type_=Date()), bindparam("today", type_=Date())),
            {"yesterday": yesterday, "today": today},
        )
        # Today Lou opened posts 1 and 2 (one pastry person, counted twice by 0010's rule),
        # Kim post 1, Noa post 3.
        await run(
            text(
                "INSERT INTO interest_visitors (day, submission_id, digest) VALUES"
                " (:today, 1, 'lou'), (:today, 2, 'lou'), (:today, 1, 'kim'),"
                " (:today, 3, 'noa')"
            ).bindparams(bindparam("today", type_=Date())),
            {"today": today},
        )

    await upgrade(engine)
    async with engine.connect() as connection:
        schema = await connection.run_sync(_interest_schema)
        posts = await connection.execute(
            text("SELECT submission_id, visitors FROM interest_posts ORDER BY submission_id")
        )
        days = await connection.execute(
            text("SELECT day, trade, visitors FROM interest_days ORDER BY day, trade")
        )
        digests = await connection.execute(
            text("SELECT trade, digest FROM interest_trade_visitors ORDER BY trade, digest")
        )
        assert [tuple(row) for row in posts] == [(1, 2), (2, 1), (3, 4)]
        assert [(str(d), trade, n) for d, trade, n in days] == [
            (str(yesterday), "Pâtissier·ère", 5),  # its digests are gone: kept as it was
            (str(today), "Coiffeur·se", 1),
            (str(today), "Pâtissier·ère", 2),  # Lou and Kim
        ]
        assert [tuple(row) for row in digests] == [
            ("Coiffeur·se", "noa"),
            ("Pâtissier·ère", "kim"),
            ("Pâtissier·ère", "lou"),
        ]
    assert "visits" not in schema["interest_posts"][0] + schema["interest_days"][0]
    assert ("ix_interest_posts_visitors", ("visitors", "submission_id")) in schema[
        "interest_posts"
    ][1]
    assert schema["interest_trade_visitors"][2] == ["day", "trade", "digest"]

    # The bot goes on from there: Lou again on post 2 counts nothing, a new person on 2 does.
    async with async_sessionmaker(engine)() as session, session.begin():
        assert not await record_visit(session, today, 2, "Pâtissier·ère", "lou")
        assert await record_visit(session, today, 2, "Pâtissier·ère", "zoé")
        assert (await figures(session))[1][(today, "Pâtissier·ère")] == 3

    await downgrade(engine, "0010")
    async with engine.connect() as connection:
        assert await connection.run_sync(_interest_schema) == schema_0010
        posts = await connection.execute(
            text("SELECT submission_id, visits, visitors FROM interest_posts ORDER BY 1")
        )
        assert [tuple(row) for row in posts] == [(1, 2, 2), (2, 2, 2), (3, 4, 4)]
    await upgrade(engine)
