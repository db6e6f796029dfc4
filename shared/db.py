"""Database plumbing: the declarative base, engines for SQLite and PostgreSQL, and sessions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLITE_BUSY_TIMEOUT_MS = 10_000
PING_AFTER_IDLE_SECONDS = 1.0
_IDLE_SINCE = "idle_since"
_HOLDS_WRITE_TURN = "holds_write_turn"
_QUERY_ONLY = "query_only"
#: Execution option marking a connection whose transactions only read (see ``read_only``).
READ_ONLY = "read_only"

#: A JSON document column: JSONB on PostgreSQL, JSON text on SQLite.
JsonDocument = JSON().with_variant(JSONB(), "postgresql")


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp stored in UTC; SQLite's naive values come back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        # asyncpg already returns every timestamptz aware and in UTC: no per-value call.
        if dialect.driver == "asyncpg":
            return None
        return super().result_processor(dialect, coltype)


class Base(DeclarativeBase):
    """Declarative base of every service's tables (each table name starts with its service)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _pragma(dbapi_connection: Any, pragma: str) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, emit BEGIN, so SAVEPOINT and transactions behave.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # Writers take turns in arrival order. SQLite's own busy handler retries a blocked BEGIN
    # with growing sleeps and no queue: under load an unlucky writer waited one or two seconds
    # while later ones went through. A turn longer than the busy timeout in coming is left to
    # SQLite's handler, as before (a transaction that waits on another of its own request's).
    turns = asyncio.Lock()

    def _end_turn(info: dict[Any, Any]) -> None:
        loop = info.pop(_HOLDS_WRITE_TURN, None)
        if loop is None:
            return
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is loop:
            turns.release()
        elif not loop.is_closed():  # the garbage collector ends a dropped connection anywhere
            loop.call_soon_threadsafe(turns.release)

    def _end_turn_of(dbapi_connection: Any) -> None:
        try:
            info = dbapi_connection.info
        except NotImplementedError:  # the engine's first connection, before the pool's own
            return
        _end_turn(info)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        info = connection.connection.info
        reads_only = bool(connection.get_execution_options().get(READ_ONLY))
        # query_only is switched as a pooled connection passes between readers and writers,
        # always before any BEGIN: reads in a row pay nothing, and a writer switches it off
        # before it queues for its turn. Until a switch is known done, it counts as on (the
        # pool clears ``info`` with a new connection, whose query_only is off).
        if info.get(_QUERY_ONLY, False) != reads_only:
            info[_QUERY_ONLY] = True
            _pragma(connection.connection.dbapi_connection, f"query_only={int(reads_only)}")
            info[_QUERY_ONLY] = reads_only
        if reads_only:
            # In WAL a reader takes no lock that a writer holds: no turn, a deferred BEGIN.
            connection.exec_driver_sql("BEGIN")
            return
        try:
            await_(asyncio.wait_for(turns.acquire(), SQLITE_BUSY_TIMEOUT_MS / 1000))
            info[_HOLDS_WRITE_TURN] = asyncio.get_running_loop()
        except TimeoutError:
            pass
        try:
            # One writer at a time: take the write lock up front instead of failing on upgrade.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            # Cancelled or not, the statement has failed or its connection is closed by now
            # (SQLAlchemy invalidates a connection whose statement was interrupted).
            _end_turn(info)
            raise

    # The turn passes on once the write lock is free, when COMMIT or ROLLBACK has completed:
    # the "commit" and "rollback" events come before the statement, and the next writer's
    # BEGIN IMMEDIATE would meet the lock still held and sleep in SQLite's busy handler.
    # The dialect is this engine's own, so wrapping its methods touches no other engine.
    dialect = engine.sync_engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def _commit_then_end_turn(dbapi_connection: Any) -> None:
        commit(dbapi_connection)
        # Only a COMMIT that ended the transaction ends the turn: one refused (a deferred
        # foreign key) leaves it open until the rollback that follows. An interrupted one
        # (cancelled) gets its connection invalidated and closed, then checked in, below.
        _end_turn_of(dbapi_connection)

    def _rollback_then_end_turn(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        except Exception:
            # A ROLLBACK refused (no transaction left) leaves no lock held either.
            _end_turn_of(dbapi_connection)
            raise
        # An interrupted one is left, as an interrupted COMMIT, to the check-in.
        _end_turn_of(dbapi_connection)

    dialect.do_commit = _commit_then_end_turn  # type: ignore[method-assign]
    dialect.do_rollback = _rollback_then_end_turn  # type: ignore[method-assign]

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        # A connection returned with its transaction never ended: invalidated (an interrupted
        # statement, COMMIT or ROLLBACK), so already closed, which ended the transaction.
        if record is not None:
            _end_turn(record.info)

    @event.listens_for(engine.sync_engine, "detach")
    def _on_detach(_dbapi_connection: Any, record: Any) -> None:
        # A write session dropped without being closed: the garbage collector detaches its
        # connection from the pool (and terminates it) without a check-in.
        _end_turn(record.info)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine for the URL, tuned for SQLite (WAL, foreign keys) or PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=0, pool_timeout=30)
        _configure_sqlite(engine)
        return engine
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_timeout=10)
    _ping_after_idle(engine)
    return engine


def _ping_after_idle(engine: AsyncEngine) -> None:
    """Test a pooled connection before use only when it sat idle for a while.

    ``pool_pre_ping`` costs three round trips per checkout on asyncpg (BEGIN, a ping,
    ROLLBACK), several per request. A connection in steady use has just proved itself; one
    idle for longer may have been dropped (a database restart, a proxy's idle timeout), so it
    is tested and, when dead, replaced before the request sees it.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # whatever the driver raises, the connection is unusable
            raise DisconnectionError() from exc


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (responses are built after it)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def read_only(engine: AsyncEngine) -> dict[str, bool]:
    """Execution options that make a connection's transactions refuse writes.

    SQLite: a deferred ``BEGIN`` under ``PRAGMA query_only``, without the writers' turn, so a
    read never waits for a write in progress (WAL). The pragma is switched only when a pooled
    connection passes from a writer to a reader or back (the writer switches it off before
    it waits for its turn), not per transaction: each switch is a trip to the driver's thread.
    PostgreSQL: asyncpg folds ``READ ONLY`` into its ``BEGIN``, no round trip more.
    A write is refused by the database on both: SQLITE_READONLY, or SQLSTATE 25006.
    """
    if engine.dialect.name == "postgresql":
        return {READ_ONLY: True, "postgresql_readonly": True}
    return {READ_ONLY: True}


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for work that only reads (see ``read_only``), on the same connection pool."""
    return async_sessionmaker(engine.execution_options(**read_only(engine)), expire_on_commit=False)


@asynccontextmanager
async def session_scope(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work for background jobs: commit on success, roll back on error."""
    async with sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def ping(engine: AsyncEngine) -> None:
    """Run a trivial query; raises when the database cannot be reached.

    Read-only: on SQLite, readiness must not queue behind the writers for its answer.
    """
    async with engine.connect() as connection:
        await connection.execution_options(**read_only(engine))
        await connection.execute(text("SELECT 1"))
