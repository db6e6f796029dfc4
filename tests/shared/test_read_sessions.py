"""Read-only sessions: on SQLite a read waits for no writer, and on both backends a write
through one is refused by the database and changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from services.inbox.models import Disposition
from shared.auth import Role
from shared.db import (
    READ_ONLY,
    create_engine,
    create_read_sessionmaker,
    create_sessionmaker,
    utc_now,
)
from shared.settings import CommonSettings
from shared.web import (
    ReadSessionDep,
    SessionDep,
    create_service_app,
    get_read_session,
    get_session,
)
from tests.inbox.builders import email, raw_headers
from tests.support.apps import Running, serving
from tests.support.logs import captured_logs

UNREACHABLE = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"


def _disposition(code: str) -> Disposition:
    return Disposition(code=code, label_en="Probe", label_fr="Sonde", created_at=utc_now())


async def _count(session: AsyncSession, code: str) -> int:
    found = await session.scalar(
        select(func.count()).select_from(Disposition).where(Disposition.code == code)
    )
    return found or 0


def _refused(error: DBAPIError) -> bool:
    """Whether the database itself refused a write in a read-only transaction."""
    return (
        getattr(error.orig, "sqlstate", None) == "25006"
        or getattr(error.orig, "sqlite_errorname", None) == "SQLITE_READONLY"
    )


def probe_app(database_url: str) -> FastAPI:
    """A service with the same factory as ours, reading and writing through either session."""
    router = APIRouter(prefix="/probe")

    @router.get("/read")
    async def read(session: ReadSessionDep) -> dict[str, int]:
        return {"probes": await _count(session, "probe")}

    @router.get("/read-in-write-session")
    async def read_in_write_session(session: SessionDep) -> dict[str, int]:
        return {"probes": await _count(session, "probe")}

    @router.post("/write-in-read-session")
    async def write_in_read_session(session: ReadSessionDep) -> dict[str, str]:
        session.add(_disposition("probe"))
        await session.flush()
        return {"status": "written"}

    settings = CommonSettings(database_url=database_url, run_workers=False, log_json=True)
    return create_service_app(
        name="probe", title="Probe", description="Test-only.", settings=settings, routers=[router]
    )


@contextmanager
def writer_connecting(engine: AsyncEngine) -> Iterator[asyncio.Event]:
    """An event set when a writer gets its connection, on its way to a BEGIN that waits for the
    write turn: whatever is asked after it is asked later than that writer."""
    connected = asyncio.Event()

    def on_connect(connection: Any) -> None:
        if not connection.get_execution_options().get(READ_ONLY):
            connected.set()

    event.listen(engine.sync_engine, "engine_connect", on_connect)
    try:
        yield connected
    finally:
        event.remove(engine.sync_engine, "engine_connect", on_connect)


@pytest.fixture
async def probe(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = probe_app(db_url)
    async with serving(app) as client:
        yield client


@pytest.mark.sqlite_only
async def test_agents_reads_answer_while_a_write_transaction_is_open_and_writes_wait(
    app: Running,
) -> None:
    gateway, supervisor = await app.token(Role.GATEWAY), await app.token(Role.SUPERVISOR)
    ingested = await app.client.post(
        "/inbox/v1/inbound/email", content=email(), headers=raw_headers(gateway)
    )
    conversation_id = ingested.json()["conversation_id"]
    headers = {"Authorization": f"Bearer {supervisor}"}
    reads = [
        "/inbox/v1/conversations",
        f"/inbox/v1/conversations/{conversation_id}",
        f"/inbox/v1/conversations/{conversation_id}/timeline",
        "/inbox/v1/dispositions",
        "/routing/v1/queues",
        "/translation/v1/templates",
        "/readyz",
    ]
    inbox, service = app.context("inbox"), app.service("inbox")
    assert inbox.engine is not None

    async with inbox.require_sessions()() as holder:
        # An ingest's transaction, open: it holds the write turn and SQLite's write lock.
        holder.add(_disposition("held"))
        await holder.flush()
        # The same list through a write session: it asks for the turn, then must wait.
        service.dependency_overrides[get_read_session] = get_session
        try:
            with writer_connecting(inbox.engine) as connected:
                writing = asyncio.create_task(
                    app.client.get("/inbox/v1/dispositions", headers=headers)
                )
                await asyncio.wait_for(connected.wait(), timeout=30)
        finally:
            service.dependency_overrides.clear()

        answers = [await app.client.get(path, headers=headers) for path in reads]
        scrape = await app.client.get("/metrics")

        assert [answer.status_code for answer in answers] == [200] * len(reads)
        assert answers[1].json()["id"] == conversation_id
        # A read sees what is committed, not the open transaction's row.
        assert "held" not in [row["code"] for row in answers[3].json()]
        # The scrape's database figures were read too, not given up after a wait.
        assert scrape.status_code == 200
        sources_up = [
            line for line in scrape.text.splitlines() if line.startswith("metrics_source_up{")
        ]
        assert sources_up
        assert [line for line in sources_up if not line.endswith(" 1.0")] == []
        assert not writing.done()
        await holder.commit()

    after = await asyncio.wait_for(writing, timeout=30)
    assert after.status_code == 200
    assert "held" in [row["code"] for row in after.json()]


@pytest.mark.sqlite_only
async def test_a_gateways_repost_is_answered_while_a_write_transaction_is_open(
    app: Running,
) -> None:
    gateway = await app.token(Role.GATEWAY)
    raw = email(message_id="<deja-recu@exemple.ca>")
    first = await app.client.post(
        "/inbox/v1/inbound/email", content=raw, headers=raw_headers(gateway)
    )

    async with app.context("inbox").require_sessions()() as holder:
        # Another request's transaction, open: it holds the write turn and the write lock.
        holder.add(_disposition("held"))
        await holder.flush()
        # The duplicate check only reads: it needs neither, and the answer needs nothing else.
        again = await app.client.post(
            "/inbox/v1/inbound/email", content=raw, headers=raw_headers(gateway)
        )
        await holder.rollback()

    assert again.status_code == 202, again.text
    assert again.json()["duplicate"] is True
    assert again.json()["message_id"] == first.json()["message_id"]


@pytest.mark.sqlite_only
async def test_a_read_session_begins_without_waiting_for_an_open_write(db_url: str) -> None:
    engine = create_engine(db_url, pool_size=3)
    writes, reads = create_sessionmaker(engine), create_read_sessionmaker(engine)
    try:
        async with writes() as holder:
            holder.add(_disposition("held"))
            await holder.flush()
            with writer_connecting(engine) as connected:
                waiting = asyncio.create_task(_count_in(writes, "held"))
                await asyncio.wait_for(connected.wait(), timeout=30)
            # Asked after the writer, answered while it still waits behind the holder.
            async with reads() as reader:
                seen = await _count(reader, "held")
            assert not waiting.done()
            await holder.commit()
        written = await asyncio.wait_for(waiting, timeout=30)
    finally:
        await engine.dispose()

    assert seen == 0
    assert written == 1


async def _count_in(sessions: async_sessionmaker[AsyncSession], code: str) -> int:
    async with sessions() as session:
        return await _count(session, code)


async def test_a_write_through_a_read_session_is_refused_and_changes_nothing(
    db_url: str,
) -> None:
    engine = create_engine(db_url, pool_size=2)
    writes, reads = create_sessionmaker(engine), create_read_sessionmaker(engine)
    try:
        async with writes() as session:
            session.add(_disposition("kept"))
            await session.commit()
        async with reads() as session:
            session.add(_disposition("probe"))
            with pytest.raises(DBAPIError) as raised:
                await session.flush()
            await session.rollback()
        async with reads() as session:
            with pytest.raises(DBAPIError) as raised_in_sql:
                await session.execute(text("DELETE FROM inbox_disposition"))
            await session.rollback()
        async with writes() as session:
            kept, probes = await _count(session, "kept"), await _count(session, "probe")
    finally:
        await engine.dispose()

    assert _refused(raised.value), raised.value
    assert _refused(raised_in_sql.value), raised_in_sql.value
    assert (kept, probes) == (1, 0)


async def test_a_write_in_a_read_only_request_is_a_server_error_not_a_retry(
    probe: httpx.AsyncClient,
) -> None:
    with captured_logs() as records:
        answer = await probe.post("/probe/write-in-read-session")
    after = await probe.get("/probe/read-in-write-session")

    assert answer.status_code == 500  # a bug: a 500, never a 503 to retry forever
    assert answer.json()["code"] == "internal"
    [failed] = [record for record in records if record["event"] == "request.failed"]
    # The database itself refused the write.
    assert any(
        refusal in failed["exception"]
        for refusal in ("read-only transaction", "attempt to write a readonly database")
    ), failed["exception"]
    assert after.json() == {"probes": 0}


async def test_a_pooled_connection_used_read_only_is_writable_by_the_next_writer(
    db_url: str,
) -> None:
    engine = create_engine(db_url, pool_size=1)  # one connection: every session shares it
    writes, reads = create_sessionmaker(engine), create_read_sessionmaker(engine)
    try:
        async with reads() as session:
            connection = await session.connection()
            reader = (await connection.get_raw_connection()).dbapi_connection
            assert await _read_only_now(connection)
            await session.commit()
        async with reads() as session:  # ended by a rollback, after a refused write
            with pytest.raises(DBAPIError):
                await session.execute(text("DELETE FROM inbox_disposition"))
            await session.rollback()
        async with writes() as session:
            connection = await session.connection()
            writer = (await connection.get_raw_connection()).dbapi_connection
            read_only = await _read_only_now(connection)
            session.add(_disposition("written"))
            await session.commit()
        async with reads() as session:
            written = await _count(session, "written")
    finally:
        await engine.dispose()

    assert writer is reader
    assert not read_only
    assert written == 1


async def _read_only_now(connection: AsyncConnection) -> bool:
    """Whether the connection's current transaction refuses writes, as the database says."""
    if connection.dialect.name == "postgresql":
        return bool(await connection.scalar(text("SHOW transaction_read_only")) == "on")
    return bool(await connection.scalar(text("PRAGMA query_only")))


@pytest.mark.parametrize("path", ["/probe/read", "/probe/read-in-write-session"])
async def test_an_unreachable_database_is_503_through_either_session(path: str) -> None:
    app = probe_app(UNREACHABLE)
    async with serving(app) as client:
        answer = await client.get(path, headers={"Accept-Language": "fr"})

    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert answer.json()["code"] == "database.unavailable"
    assert answer.json()["title"] == "Base de données indisponible"
