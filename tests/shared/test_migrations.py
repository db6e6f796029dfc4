"""One migration history: up, down and up again, and never drifting from the models."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from services import migrate
from services.inbox.conversations.search import UNMODELLED_OBJECTS
from shared.db import Base, create_engine
from tests.support.database import (
    BACKEND,
    create_postgres_database,
    drop_postgres_database,
    sqlite_url,
)

SERVICE_PREFIXES = ("inbox_", "routing_", "translation_")


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the backend under test, for this test only."""
    if BACKEND == "postgresql":
        url = asyncio.run(create_postgres_database())
        try:
            yield url
        finally:
            asyncio.run(drop_postgres_database(url))
    else:
        yield sqlite_url(tmp_path)


def table_names(url: str) -> set[str]:
    async def read() -> set[str]:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.connect() as connection:
                names = await connection.run_sync(lambda c: inspect(c).get_table_names())
        finally:
            await engine.dispose()
        return set(names) - {"alembic_version"} - UNMODELLED_OBJECTS

    return asyncio.run(read())


def test_upgrade_downgrade_upgrade_without_drift(fresh_url: str) -> None:
    model_tables = set(Base.metadata.tables)

    migrate.upgrade(fresh_url)
    after_upgrade = table_names(fresh_url)
    migrate.check(fresh_url)
    migrate.downgrade(fresh_url, "base")
    after_downgrade = table_names(fresh_url)
    migrate.upgrade(fresh_url)

    assert after_upgrade == model_tables
    assert after_downgrade == set()
    assert table_names(fresh_url) == model_tables


def test_every_table_belongs_to_one_service_and_no_foreign_key_crosses_services() -> None:
    for table in Base.metadata.sorted_tables:
        owner = next((p for p in SERVICE_PREFIXES if table.name.startswith(p)), None)
        assert owner is not None, f"{table.name} has no service prefix"
        for key in table.foreign_keys:
            assert key.column.table.name.startswith(owner), f"{table.name} → {key.target_fullname}"
