"""Fixtures shared by the whole suite: the backend under test, its database and the running app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from services import migrate
from tests.support.apps import Running, running_all_in_one
from tests.support.database import (
    BACKEND,
    create_postgres_database,
    drop_postgres_database,
    empty_tables,
    sqlite_url,
)

pytest_plugins = ["tests.support.smtp"]


def pytest_report_header() -> str:
    return f"database backend: {BACKEND}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgresql_only: PostgreSQL behaviour, run in the PostgreSQL pass only"
    )
    config.addinivalue_line("markers", "sqlite_only: SQLite behaviour, run in the SQLite pass only")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the other backend's tests out of this pass: deselected (run in that backend's
    pass of ``make test``), never counted as skipped."""
    marker = "sqlite_only" if BACKEND == "postgresql" else "postgresql_only"
    other = [item for item in items if item.get_closest_marker(marker)]
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = [item for item in items if not item.get_closest_marker(marker)]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head once per run, on the backend named by TEST_DATABASE."""
    if BACKEND == "postgresql":
        url = asyncio.run(create_postgres_database())
        try:
            migrate.upgrade(url)
            yield url
        finally:
            asyncio.run(drop_postgres_database(url))
    elif BACKEND == "sqlite":
        url = sqlite_url(tmp_path_factory.mktemp("db"))
        migrate.upgrade(url)
        yield url
    else:
        raise pytest.UsageError(f"TEST_DATABASE must be sqlite or postgresql, not {BACKEND!r}")


@pytest.fixture
async def db_url(database_url: str) -> AsyncIterator[str]:
    """The run's database for one test, emptied afterwards (tests see real commits)."""
    yield database_url
    await empty_tables(database_url)


@pytest.fixture
async def app(db_url: str, tmp_path: Path) -> AsyncIterator[Running]:
    """The three services in one process on the test database, background loops off."""
    async with running_all_in_one(db_url, tmp_path / "data") as running:
        yield running
