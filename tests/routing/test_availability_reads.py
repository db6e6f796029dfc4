"""The call-time availability question only reads: it is answered while another request holds
routing's write turn, instead of waiting behind it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from services.routing.models import Queue
from tests.routing.scenario import SERVICE
from tests.support.apps import Running


@pytest.mark.sqlite_only
async def test_a_ringing_call_is_answered_while_a_routing_write_is_open(app: Running) -> None:
    routing = app.context("routing")
    async with routing.require_sessions()() as session:
        before = await session.scalar(select(func.sum(Queue.priority)))

    async with routing.require_sessions()() as holder:
        # Another request's transaction, open: it holds the write turn and SQLite's write lock.
        await holder.execute(update(Queue).values(priority=Queue.priority + 1))
        answer = await app.client.post(
            "/routing/v1/availability", json={"channel": "phone", "language": "fr"}, headers=SERVICE
        )
        await holder.rollback()

    assert answer.status_code == 200, answer.text
    assert answer.json()["action"] == "queued"
    assert answer.json()["queue_name"] == "Téléphone — français"
    async with routing.require_sessions()() as session:
        # The held change was rolled back; the question itself wrote nothing.
        assert await session.scalar(select(func.sum(Queue.priority))) == before
