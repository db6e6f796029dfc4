"""Exclusivity: the schema refuses double offers and assignments; concurrent passes never try."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.routing.engine.loop import RoutingEngine
from services.routing.models import Assignment, Reservation, Task
from services.routing.settings import RoutingSettings
from shared.db import create_engine, create_sessionmaker, session_scope, utc_now
from tests.routing.scenario import admin, create_agent, open_task, run_engine
from tests.support.apps import Running, settings_for


async def _offered_task(app: Running) -> Reservation:
    headers = await admin(app)
    await create_agent(app, headers, name="Marie", languages={"fr": 5})
    await open_task(app, language="fr")
    await run_engine(app)
    async with app.context("routing").require_sessions()() as session:
        reservation: Reservation | None = await session.scalar(select(Reservation))
    assert reservation is not None
    return reservation


async def test_the_database_refuses_a_second_pending_offer_for_a_task(app: Running) -> None:
    first = await _offered_task(app)
    sessions = app.context("routing").require_sessions()

    with pytest.raises(IntegrityError):
        async with session_scope(sessions) as session:
            session.add(
                Reservation(
                    task_id=first.task_id,
                    agent_id=first.agent_id,
                    channel="email",
                    state="pending",
                    offered_at=utc_now(),
                    expires_at=utc_now(),
                    why={},
                )
            )

    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Reservation)) == 1


async def test_the_database_refuses_a_second_assignment_and_a_second_open_task(
    app: Running,
) -> None:
    first = await _offered_task(app)
    sessions = app.context("routing").require_sessions()
    now = utc_now()
    async with session_scope(sessions) as session:
        session.add(
            Assignment(
                task_id=first.task_id,
                reservation_id=first.id,
                agent_id=first.agent_id,
                channel="email",
                assigned_at=now,
            )
        )
    async with sessions() as session:
        task = await session.get(Task, first.task_id)
    assert task is not None

    with pytest.raises(IntegrityError):
        async with session_scope(sessions) as session:
            session.add(
                Assignment(
                    task_id=first.task_id,
                    reservation_id=first.id,
                    agent_id=first.agent_id,
                    channel="email",
                    assigned_at=now,
                )
            )
    with pytest.raises(IntegrityError):
        async with session_scope(sessions) as session:
            session.add(
                Task(
                    conversation_id=task.conversation_id,
                    channel="email",
                    language="fr",
                    arrived_at=now,
                    queued_at=now,
                    state="waiting",
                )
            )


async def test_two_engines_at_once_never_offer_a_task_twice_nor_overload_an_agent(
    app: Running, db_url: str, tmp_path: Path
) -> None:
    headers = await admin(app)
    agents = [
        await create_agent(app, headers, name=f"Agent {n}", languages={"fr": 5, "en": 5})
        for n in range(6)
    ]
    for n in range(40):
        await open_task(app, language="fr" if n % 2 else "en")
    settings = RoutingSettings(**settings_for(db_url, tmp_path, match_batch_size=7))
    engines = [create_engine(db_url, pool_size=2) for _ in range(2)]
    try:
        routers = [RoutingEngine(create_sessionmaker(engine), settings) for engine in engines]
        now = utc_now()
        await asyncio.gather(*(router.run_once(now) for router in routers))
    finally:
        for engine in engines:
            await engine.dispose()

    async with app.context("routing").require_sessions()() as session:
        pending = (
            await session.execute(
                select(Reservation.task_id, Reservation.agent_id).where(
                    Reservation.state == "pending"
                )
            )
        ).all()
        offered = await session.scalar(
            select(func.count()).select_from(Task).where(Task.state == "offered")
        )
    per_task = Counter(task_id for task_id, _ in pending)
    per_agent = Counter(agent_id for _, agent_id in pending)
    assert len(pending) == offered == 6 * 3
    assert max(per_task.values()) == 1
    assert set(per_agent.values()) == {3}
    assert set(per_agent) == {uuid.UUID(a["id"]) for a in agents}
