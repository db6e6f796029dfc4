"""What an accept writes is built in SQL on PostgreSQL: it must read exactly as Python writes it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, select

from services.routing.engine.accept import iso_text
from shared.db import UTCDateTime, create_engine


@pytest.mark.postgresql_only
@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 3, 9, 40, 1, tzinfo=UTC),
        datetime(2026, 12, 3, 9, 40, 1, 120000, tzinfo=UTC),
        datetime(2026, 12, 3, 9, 40, 1, 1, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
async def test_timestamps_written_in_sql_read_like_python_isoformat(
    db_url: str, moment: datetime
) -> None:
    engine = create_engine(db_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            written = await connection.scalar(
                select(iso_text(bindparam("moment", type_=UTCDateTime))), {"moment": moment}
            )
    finally:
        await engine.dispose()

    assert written == moment.isoformat()
