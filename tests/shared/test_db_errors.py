"""A database that loses a race, locks up or drops the connection answers 503, never 500.

A small probe service, built with the same factory as ours, runs SQL that makes the database
itself raise: a deadlock or serialization failure on PostgreSQL (raised, and provoked for real),
a terminated connection, a locked SQLite file, a database that cannot be opened.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.settings import CommonSettings
from shared.web import SessionDep, create_service_app, service_context
from tests.support.apps import serving
from tests.support.logs import captured_logs

_SQLSTATE = re.compile(r"^[0-9A-Z]{5}$")
needs_postgresql = pytest.mark.postgresql_only


def probe_app(database_url: str) -> FastAPI:
    """A service whose routes make the database fail in chosen ways."""
    router = APIRouter(prefix="/probe")

    @router.post("/raise/{sqlstate}")
    async def raise_sqlstate(sqlstate: str, session: SessionDep) -> dict[str, str]:
        assert _SQLSTATE.match(sqlstate)
        await session.execute(
            text(f"DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '{sqlstate}'; END $$")
        )
        return {"status": "unreachable"}

    @router.post("/stale-update")
    async def stale_update(request: Request, session: SessionDep) -> dict[str, str]:
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        await session.execute(text("SELECT n FROM probe_row WHERE id = 1"))
        engine = service_context(request).engine
        assert engine is not None
        async with engine.begin() as other:  # a concurrent request commits first
            await other.execute(text("UPDATE probe_row SET n = n + 1 WHERE id = 1"))
        await session.execute(text("UPDATE probe_row SET n = n + 10 WHERE id = 1"))
        return {"status": "unreachable"}

    @router.post("/fail-at-commit")
    async def fail_at_commit(session: SessionDep) -> dict[str, str]:
        # A deferred check that fails as the request's transaction commits, after this returns.
        for statement in (
            "CREATE TEMP TABLE probe_commit (id int) ON COMMIT DROP",
            "CREATE FUNCTION pg_temp.probe_fail() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION USING ERRCODE = '40001'; END $$",
            "CREATE CONSTRAINT TRIGGER probe_fail AFTER INSERT ON probe_commit "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pg_temp.probe_fail()",
            "INSERT INTO probe_commit VALUES (1)",
        ):
            await session.execute(text(statement))
        return {"status": "written"}

    @router.post("/terminate")
    async def terminate(session: SessionDep) -> dict[str, str]:
        await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        await session.execute(text("SELECT 1"))
        return {"status": "unreachable"}

    @router.post("/divide-by-zero")
    async def divide_by_zero(session: SessionDep) -> dict[str, str]:
        await session.execute(text("SELECT 1 / 0"))
        return {"status": "unreachable"}

    @router.post("/write")
    async def write(session: SessionDep) -> dict[str, str]:
        await session.execute(text("INSERT INTO probe_row (id, n) VALUES (2, 0)"))
        return {"status": "written"}

    @router.post("/write-impatiently")
    async def write_impatiently() -> dict[str, str]:
        # Its own engine with a 50 ms busy timeout, so a held lock fails fast instead of in 10 s.
        engine = create_async_engine(database_url, connect_args={"timeout": 0.05})
        try:
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO probe_row (id, n) VALUES (3, 0)"))
        finally:
            await engine.dispose()
        return {"status": "written"}

    settings = CommonSettings(database_url=database_url, run_workers=False, log_json=True)
    return create_service_app(
        name="probe", title="Probe", description="Test-only.", settings=settings, routers=[router]
    )


async def _client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    before = set(threading.enumerate())
    app = probe_app(database_url)
    async with serving(app) as client:
        yield client
    await _sqlite_threads_finished(set(threading.enumerate()) - before)


async def _sqlite_threads_finished(started: set[threading.Thread]) -> None:
    """Wait, with the loop still running, for the aiosqlite worker threads the probe started to
    end: a connection that failed to open stops its thread by posting to the loop, and a thread
    that posts after the test's loop closed fails (reported against whichever test runs next)."""
    for thread in started:
        if thread.name.endswith("(_connection_worker_thread)"):
            await asyncio.to_thread(thread.join, 30)


@pytest.fixture
async def postgres(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The probe on the run's PostgreSQL database, with a one-row table to fight over."""
    engine = create_async_engine(db_url)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE probe_row (id int PRIMARY KEY, n int)"))
        await connection.execute(text("INSERT INTO probe_row VALUES (1, 0)"))
    try:
        async for client in _client(db_url):
            yield client
    finally:
        async with engine.begin() as connection:
            await connection.execute(text("DROP TABLE probe_row"))
        await engine.dispose()


def assert_busy(answers: dict[str, httpx.Response], *, code: str = "database.busy") -> None:
    english, french = answers["en"], answers["fr"]
    for answer in (english, french):
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert int(answer.headers["retry-after"]) >= 1
        assert answer.json()["code"] == code
        assert answer.json()["status"] == 503
    titles = {
        "database.busy": ("Database busy", "Base de données occupée"),
        "database.unavailable": ("Database unavailable", "Base de données indisponible"),
    }
    assert (english.json()["title"], french.json()["title"]) == titles[code]
    assert french.headers["content-language"] == "fr"
    assert "réessayez" in french.json()["detail"]
    assert "retry" in english.json()["detail"]


async def ask_twice(client: httpx.AsyncClient, path: str) -> dict[str, httpx.Response]:
    return {
        language: await client.post(path, headers={"Accept-Language": language})
        for language in ("en", "fr")
    }


@needs_postgresql
@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
async def test_a_deadlock_or_serialization_failure_is_503_busy(
    postgres: httpx.AsyncClient, sqlstate: str
) -> None:
    assert_busy(await ask_twice(postgres, f"/probe/raise/{sqlstate}"))


@needs_postgresql
async def test_a_real_concurrent_update_under_repeatable_read_is_503_and_changes_nothing(
    postgres: httpx.AsyncClient, db_url: str
) -> None:
    answers = await ask_twice(postgres, "/probe/stale-update")

    assert_busy(answers)
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as connection:
            n = await connection.scalar(text("SELECT n FROM probe_row WHERE id = 1"))
    finally:
        await engine.dispose()
    assert n == 2  # only the two concurrent updates; the failed requests' +10 never landed


@needs_postgresql
async def test_a_serialization_failure_at_commit_is_503_busy(postgres: httpx.AsyncClient) -> None:
    assert_busy(await ask_twice(postgres, "/probe/fail-at-commit"))


@needs_postgresql
async def test_a_connection_killed_under_the_request_is_503_unavailable(
    postgres: httpx.AsyncClient,
) -> None:
    answers = await ask_twice(postgres, "/probe/terminate")
    after = await postgres.post("/probe/write")

    assert_busy(answers, code="database.unavailable")
    assert after.status_code == 200  # the pool replaced the dead connection


@needs_postgresql
async def test_a_plain_sql_error_is_a_500_problem_logged_with_its_traceback(
    postgres: httpx.AsyncClient,
) -> None:
    with captured_logs() as records:
        answer = await postgres.post("/probe/divide-by-zero", headers={"Accept-Language": "fr"})
    failed = [record for record in records if record["event"] == "request.failed"]

    # A bug, not the database's state: a server error, as a problem like every other error.
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "internal"
    assert answer.json()["title"] == "Erreur interne"
    request_id = answer.headers["x-request-id"]
    assert answer.json()["request_id"] == request_id
    # The operator finds it in the log by that id, with the whole traceback.
    assert len(failed) == 1
    assert failed[0]["request_id"] == request_id
    assert failed[0]["path"] == "/probe/divide-by-zero"
    assert "Traceback (most recent call last)" in failed[0]["exception"]
    assert "DivisionByZeroError" in failed[0]["exception"]


async def test_a_locked_sqlite_database_is_503_busy_and_the_write_is_not_made(
    tmp_path: Path,
) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE probe_row (id int PRIMARY KEY, n int)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        async for client in _client(f"sqlite+aiosqlite:///{path}"):
            answers = await ask_twice(client, "/probe/write-impatiently")
    finally:
        holder.rollback()
    rows = holder.execute("SELECT count(*) FROM probe_row").fetchone()
    holder.close()

    assert_busy(answers)
    assert rows == (0,)


async def test_a_sqlite_database_that_cannot_be_opened_is_503_unavailable(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "a-folder-not-a-file.db"
    folder.mkdir()
    async for client in _client(f"sqlite+aiosqlite:///{folder}"):
        answers = await ask_twice(client, "/probe/write")

    assert_busy(answers, code="database.unavailable")
