"""An agent's live event stream as Server-Sent Events: pending offers, then what comes next."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncGenerator, Callable, Sequence
from datetime import datetime

import anyio
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.routing.errors import AgentNotFound
from services.routing.models import Agent, AgentEvent, Reservation
from services.routing.stream.broker import AgentBroker
from shared.db import session_scope, utc_now

RETRY_MILLISECONDS = 3000
_BATCH = 500


def format_event(event: AgentEvent) -> str:
    """One SSE message: the id to resume from, the event type and its JSON payload."""
    data = json.dumps(event.payload, separators=(",", ":"), sort_keys=True)
    return f"id: {event.id}\nevent: {event.type}\ndata: {data}\n\n"


async def _events_after(
    sessions: async_sessionmaker[AsyncSession], agent_id: uuid.UUID, after: int
) -> Sequence[AgentEvent]:
    async with sessions() as session:
        stmt = (
            select(AgentEvent)
            .where(AgentEvent.agent_id == agent_id, AgentEvent.id > after)
            .order_by(AgentEvent.id)
            .limit(_BATCH)
        )
        return (await session.scalars(stmt)).all()


async def _pending_offers(
    sessions: async_sessionmaker[AsyncSession], agent_id: uuid.UUID
) -> tuple[Sequence[AgentEvent], int]:
    async with sessions() as session:
        latest = await session.scalar(
            select(func.max(AgentEvent.id)).where(AgentEvent.agent_id == agent_id)
        )
        stmt = (
            select(AgentEvent)
            .join(Reservation, Reservation.id == AgentEvent.reservation_id)
            .where(
                AgentEvent.agent_id == agent_id,
                AgentEvent.type == "offer",
                Reservation.state == "pending",
            )
            .order_by(AgentEvent.id)
        )
        return (await session.scalars(stmt)).all(), latest or 0


async def require_agent(sessions: async_sessionmaker[AsyncSession], agent_id: uuid.UUID) -> None:
    """Raise AgentNotFound unless the agent exists."""
    async with sessions() as session:
        if await session.get(Agent, agent_id) is None:
            raise AgentNotFound(agent_id=agent_id)


async def mark_stream(
    sessions: async_sessionmaker[AsyncSession],
    agent_id: uuid.UUID,
    *,
    seen: datetime | None = None,
    dropped: datetime | None = None,
) -> None:
    """Record that the agent's stream is alive (``seen``) or has just closed (``dropped``)."""
    values = {"stream_seen_at": seen} if seen is not None else {"stream_dropped_at": dropped}
    async with session_scope(sessions) as session:
        await session.execute(
            update(Agent)
            .where(Agent.id == agent_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


async def agent_feed(
    sessions: async_sessionmaker[AsyncSession],
    reads: async_sessionmaker[AsyncSession],
    broker: AgentBroker,
    *,
    agent_id: uuid.UUID,
    last_event_id: int | None,
    heartbeat_seconds: float,
    clock: Callable[[], datetime] = utc_now,
) -> AsyncGenerator[str, None]:
    """SSE text for one agent: after ``last_event_id`` every event since, else the offers still
    pending; then each new event as it commits, with a keep-alive comment between.

    Events are read through ``reads`` (read-only sessions): on SQLite an offer reaches its agent
    without queueing behind the writers; only the liveness marks go through ``sessions``."""
    with broker.subscribe(agent_id) as flag:
        marked = clock()
        await mark_stream(sessions, agent_id, seen=marked)
        try:
            yield f"retry: {RETRY_MILLISECONDS}\n\n"
            if last_event_id is None:
                backlog, last = await _pending_offers(reads, agent_id)
            else:
                backlog, last = (
                    await _events_after(reads, agent_id, last_event_id),
                    last_event_id,
                )
            while True:
                for event in backlog:
                    last = max(last, event.id)
                    yield format_event(event)
                if len(backlog) == _BATCH:
                    backlog = await _events_after(reads, agent_id, last)
                    continue
                try:
                    await asyncio.wait_for(flag.wait(), timeout=heartbeat_seconds)
                except TimeoutError:
                    backlog = []
                    yield ": keep-alive\n\n"
                else:
                    flag.clear()
                    backlog = await _events_after(reads, agent_id, last)
                # A busy stream may never time out: the liveness mark follows the clock.
                if (clock() - marked).total_seconds() >= heartbeat_seconds:
                    marked = clock()
                    await mark_stream(sessions, agent_id, seen=marked)
        finally:
            with anyio.CancelScope(shield=True):
                await mark_stream(sessions, agent_id, dropped=clock())
