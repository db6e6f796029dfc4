"""The embedded SQLite database: writers wait their turn in the order they came, and a turn
ends once its transaction has ended, however it ended."""

from __future__ import annotations

import asyncio
import gc
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import SAWarning
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import SQLITE_BUSY_TIMEOUT_MS, create_engine, create_sessionmaker, session_scope


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


# A writer that met another's write lock would sleep in SQLite's busy handler; with no busy
# timeout it fails at once with "database is locked", so any such meeting shows.
def _no_busy_wait(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.close()


async def _turns_engine(tmp_path: Path) -> AsyncEngine:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}", pool_size=20)
    _no_busy_wait(engine)
    async with engine.begin() as connection:
        await connection.execute(
            text("CREATE TABLE log (id INTEGER PRIMARY KEY, who TEXT, body BLOB)")
        )
    return engine


async def _written(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list((await connection.execute(text("SELECT who FROM log ORDER BY id"))).scalars())


async def test_the_next_sqlite_writer_begins_only_once_the_commit_before_it_is_done(
    tmp_path: Path,
) -> None:
    engine = await _turns_engine(tmp_path)
    sessions = create_sessionmaker(engine)

    async def write(who: str) -> None:
        # A large row: its COMMIT takes a while to write, as the next writer comes for its turn.
        async with session_scope(sessions) as session:
            await session.execute(
                text("INSERT INTO log (who, body) VALUES (:who, zeroblob(1000000))"), {"who": who}
            )

    try:
        writers = [f"w{n}" for n in range(60)]
        outcomes = await asyncio.gather(*(write(who) for who in writers), return_exceptions=True)

        assert [repr(o) for o in outcomes if o is not None] == []
        assert sorted(await _written(engine)) == sorted(writers)
    finally:
        await engine.dispose()


#: A turn left held lets the next writer through only once its wait for the turn gives up,
#: after the busy timeout: the next write must be done well before that.
NEXT_WRITE_DEADLINE_SECONDS = SQLITE_BUSY_TIMEOUT_MS / 1000 / 2


@pytest.mark.parametrize("statement", ["BEGIN IMMEDIATE", "INSERT", "COMMIT"])
async def test_a_sqlite_writer_cancelled_in_its_turn_leaves_the_turn_to_the_next(
    tmp_path: Path, statement: str
) -> None:
    engine = await _turns_engine(tmp_path)
    loop = asyncio.get_running_loop()
    reached, release = asyncio.Event(), threading.Event()

    def hold(sql: str) -> None:  # on the driver's thread, as the statement starts
        if sql.startswith(statement) and not reached.is_set():
            loop.call_soon_threadsafe(reached.set)
            release.wait(timeout=60)  # a bound for a broken test, not a timing

    async def cancelled() -> None:
        async with engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.set_trace_callback(hold)
            async with connection.begin():
                await connection.execute(text("INSERT INTO log (who) VALUES ('cancelled')"))

    try:
        victim = asyncio.create_task(cancelled())
        await reached.wait()  # the writer holds its turn, in the middle of the statement
        came = asyncio.Event()
        following = asyncio.create_task(_write(engine, "next", came))
        await came.wait()
        victim.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await victim

        await asyncio.wait_for(following, timeout=NEXT_WRITE_DEADLINE_SECONDS)
        assert "next" in await _written(engine)
    finally:
        release.set()
        await engine.dispose()


async def test_a_sqlite_write_session_dropped_unclosed_leaves_the_turn_to_the_next(
    tmp_path: Path,
) -> None:
    engine = await _turns_engine(tmp_path)
    sessions = create_sessionmaker(engine)
    try:
        dropped = sessions()
        await dropped.execute(text("INSERT INTO log (who) VALUES ('dropped')"))
        del dropped
        with pytest.warns(SAWarning, match="garbage collector"):
            gc.collect()

        async with asyncio.timeout(NEXT_WRITE_DEADLINE_SECONDS):
            async with session_scope(sessions) as session:
                await session.execute(text("INSERT INTO log (who) VALUES ('next')"))
        assert await _written(engine) == ["next"]
    finally:
        await engine.dispose()
