"""The embedded SQLite database: writers wait their turn in the order they came."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine


async def _write(engine: AsyncEngine, who: str, came: asyncio.Event) -> None:
    async with engine.connect() as connection:
        came.set()
        async with connection.begin():
            await connection.execute(text("INSERT INTO log (who) VALUES (:who)"), {"who": who})


async def test_sqlite_writers_take_turns_in_the_order_they_came(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}", pool_size=5)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE log (id INTEGER PRIMARY KEY, who TEXT)"))

        async with engine.connect() as holder:
            await holder.begin()
            await holder.execute(text("INSERT INTO log (who) VALUES ('a')"))
            writers = []
            for who in ("b", "c", "d"):  # each one asks for its turn before the next comes
                came = asyncio.Event()
                writers.append(asyncio.create_task(_write(engine, who, came)))
                await came.wait()
            await holder.commit()
        await asyncio.wait_for(asyncio.gather(*writers), timeout=30)

        async with engine.connect() as connection:
            order = (await connection.execute(text("SELECT who FROM log ORDER BY id"))).scalars()
            assert list(order) == ["a", "b", "c", "d"]
    finally:
        await engine.dispose()
