"""Agents: who they are, the languages and skills they bring, their capacity and presence."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.routing.agents.schemas import (
    AgentCreate,
    AgentRead,
    AgentStatusUpdate,
    AgentUpdate,
    Capacity,
)
from services.routing.engine import offers
from services.routing.engine.catalog import load_catalog
from services.routing.engine.eligibility import Refusal, eligible, takes
from services.routing.engine.model import (
    AgentSnapshot,
    AgentStatus,
    Channel,
    QueueConfig,
)
from services.routing.engine.snapshots import capacity, stream_connected, task_snapshot
from services.routing.errors import AgentEmailTaken, AgentHoldsTasks, AgentNotFound
from services.routing.models import (
    Agent,
    AgentLanguage,
    AgentSkill,
    OutboxEvent,
    Reservation,
    Task,
)
from services.routing.workload import HELD_STATES, agent_loads
from shared.contracts.routing import AgentQueues, ServedQueue
from shared.contracts.routing_events import AgentDeleted
from shared.outbox import emit


def read_agent(
    agent: Agent, *, load: Mapping[str, int], now: datetime, stale_after: timedelta
) -> AgentRead:
    """The API view of an agent loaded with its languages and skills."""
    return AgentRead(
        id=agent.id,
        name=agent.name,
        email=agent.email,
        tier=agent.tier,
        languages={row.language: row.level for row in agent.languages},
        skills={row.skill: row.level for row in agent.skills},
        capacity=Capacity(
            phone=agent.capacity_phone, email=agent.capacity_email, fax=agent.capacity_fax
        ),
        load=Capacity(
            phone=load.get("phone", 0), email=load.get("email", 0), fax=load.get("fax", 0)
        ),
        status=agent.status,
        away_reason=agent.away_reason,
        status_changed_at=agent.status_changed_at,
        idle_since=agent.idle_since,
        wrap_up_until=agent.wrap_up_until,
        missed_offers=agent.missed_offers,
        stream_connected=stream_connected(agent, now=now, stale_after=stale_after),
        created_at=agent.created_at,
        updated_at=agent.updated_at,
    )


async def read_agents(
    session: AsyncSession, agents: Sequence[Agent], *, now: datetime, stale_after: timedelta
) -> list[AgentRead]:
    """API views of agents with their current load (one query for all)."""
    loads = await agent_loads(session, [agent.id for agent in agents])
    return [
        read_agent(agent, load=loads.get(agent.id, {}), now=now, stale_after=stale_after)
        for agent in agents
    ]


async def _ensure_email_free(
    session: AsyncSession, email: str, agent_id: uuid.UUID | None = None
) -> None:
    # Both sides lowered by the database, which SQLite does for ASCII letters only: the same
    # address is always found, whatever letters it holds.
    stmt = select(Agent.id).where(func.lower(Agent.email) == func.lower(email))
    if agent_id is not None:
        stmt = stmt.where(Agent.id != agent_id)
    if await session.scalar(stmt) is not None:
        raise AgentEmailTaken(email=email)


async def _flush(session: AsyncSession, email: str) -> None:
    """Write the agent; the address taken meanwhile by another request is AgentEmailTaken."""
    try:
        await session.flush()
    except IntegrityError as exc:  # the email is the agent's only unique column but its id
        raise AgentEmailTaken(email=email) from exc


def _levels(
    agent: Agent, languages: Mapping[str, int] | None, skills: Mapping[str, int] | None
) -> None:
    if languages is not None:
        agent.languages = [
            AgentLanguage(language=code, level=level) for code, level in sorted(languages.items())
        ]
    if skills is not None:
        agent.skills = [
            AgentSkill(skill=name, level=level) for name, level in sorted(skills.items())
        ]


async def create_agent(session: AsyncSession, *, data: AgentCreate, now: datetime) -> Agent:
    """Store a new agent, offline; raises AgentEmailTaken."""
    await _ensure_email_free(session, data.email)
    agent = Agent(
        id=uuid.uuid4(),
        name=data.name,
        email=data.email,
        tier=data.tier,
        capacity_phone=data.capacity.phone,
        capacity_email=data.capacity.email,
        capacity_fax=data.capacity.fax,
        status="offline",
        status_changed_at=now,
        missed_offers=0,
        created_at=now,
        updated_at=now,
    )
    agent.languages, agent.skills = [], []
    _levels(agent, data.languages, data.skills)
    session.add(agent)
    await _flush(session, data.email)
    return agent


async def list_agents(session: AsyncSession, *, status: str | None = None) -> Sequence[Agent]:
    """Agents by name, optionally only those with one status."""
    stmt = (
        select(Agent)
        .options(selectinload(Agent.languages), selectinload(Agent.skills))
        .order_by(Agent.name, Agent.id)
    )
    if status is not None:
        stmt = stmt.where(Agent.status == status)
    return (await session.scalars(stmt)).all()


async def get_agent(session: AsyncSession, agent_id: uuid.UUID) -> Agent:
    """The agent with its languages and skills; raises AgentNotFound."""
    stmt = (
        select(Agent)
        .where(Agent.id == agent_id)
        .options(selectinload(Agent.languages), selectinload(Agent.skills))
        .execution_options(populate_existing=True)
    )
    agent = await session.scalar(stmt)
    if agent is None:
        raise AgentNotFound(agent_id=agent_id)
    return agent


async def update_agent(
    session: AsyncSession, *, agent_id: uuid.UUID, data: AgentUpdate, now: datetime
) -> Agent:
    """Change the fields given, withdrawing the pending offers the agent may no longer take
    after it (see ``_withdraw_untakeable_offers``); raises AgentNotFound or AgentEmailTaken."""
    # Locked as a change of presence locks it: the offers it holds are weighed against the
    # agent as this transaction leaves it, and no offer is made to it meanwhile.
    await offers.lock_agents(session, [agent_id])
    agent = await get_agent(session, agent_id)
    if data.email is not None:
        await _ensure_email_free(session, data.email, agent.id)
        agent.email = data.email
    if data.name is not None:
        agent.name = data.name
    if data.tier is not None:
        agent.tier = data.tier
    if data.capacity is not None:
        agent.capacity_phone = data.capacity.phone
        agent.capacity_email = data.capacity.email
        agent.capacity_fax = data.capacity.fax
    _levels(agent, data.languages, data.skills)
    agent.updated_at = now
    await _flush(session, agent.email)
    if {"capacity", "languages", "skills", "tier"} & data.model_fields_set:
        await _withdraw_untakeable_offers(session, agent, now=now)
    return agent


#: Why a change to the agent itself may leave it unable to take an offer it holds; the
#: other refusals (its presence, a call it is on, the queue's own rule) are not its change's.
_OWN_REFUSALS = frozenset(
    {
        Refusal.TIER,
        Refusal.NO_CAPACITY,
        Refusal.LANGUAGE,
        Refusal.SKILL_MISSING,
        Refusal.SKILL_LEVEL,
    }
)


async def _withdraw_untakeable_offers(session: AsyncSession, agent: Agent, *, now: datetime) -> int:
    """Withdraw, as going offline does, the pending offers the (locked) agent may no longer
    take after a change of its capacity, languages, skills or tier, by the engine's rule for
    each offer's queue and the task's wait (so a widening step that reached the agent still
    does): its tasks go back to waiting and its stream hears ``offer.ended``. Offers are kept
    oldest first while its capacity on their channel, beside the tasks assigned to it, allows."""
    pending = (
        await session.execute(
            select(Task, Reservation)
            .join(Reservation, Reservation.task_id == Task.id)
            .where(Reservation.agent_id == agent.id, Reservation.state == "pending")
            .order_by(Reservation.offered_at, Reservation.id)
        )
    ).all()
    if not pending:
        return 0
    assigned = await session.execute(
        select(Task.channel, func.count())
        .where(Task.agent_id == agent.id, Task.state == "assigned")
        .group_by(Task.channel)
    )
    load: Counter[Channel] = Counter({Channel(channel): count for channel, count in assigned})
    catalog = await load_catalog(session)
    withdrawn: list[uuid.UUID] = []
    for task, reservation in pending:
        queue = catalog.queues.get(reservation.queue_id) if reservation.queue_id else None
        if queue is None:
            continue
        snapshot = as_available(agent, load=load)
        verdict = eligible(snapshot, task_snapshot(task), queue, waited=now - task.queued_at)
        if any(reason.code in _OWN_REFUSALS for reason in verdict.reasons):
            withdrawn.append(reservation.id)
        else:
            load[Channel(task.channel)] += 1
    return await offers.rescind_offers(
        session, agent_id=agent.id, now=now, reason="rescinded", offer_ids=withdrawn
    )


async def delete_agent(session: AsyncSession, *, agent_id: uuid.UUID, now: datetime) -> None:
    """Delete an agent holding no task, telling the inbox (``agent.deleted``) to revoke its
    tokens; raises AgentNotFound or AgentHoldsTasks."""
    agent = await get_agent(session, agent_id)
    held = await session.scalar(
        select(func.count())
        .select_from(Task)
        .where(Task.agent_id == agent_id, Task.state.in_(HELD_STATES))
    )
    if held:
        raise AgentHoldsTasks(count=held)
    await session.delete(agent)
    emit(session, OutboxEvent, AgentDeleted(agent_id=agent_id, deleted_at=now))
    await session.flush()


async def set_status(
    session: AsyncSession, *, agent_id: uuid.UUID, data: AgentStatusUpdate, now: datetime
) -> Agent:
    """Change the agent's presence (offers it can no longer take are withdrawn)."""
    await get_agent(session, agent_id)
    await offers.set_agent_status(
        session, agent_id=agent_id, status=data.status, reason=data.reason, now=now
    )
    return await get_agent(session, agent_id)


def served_in(agent: AgentSnapshot, queue: QueueConfig, *, now: datetime) -> ServedQueue | None:
    """What of ``queue`` the agent may take under the queue's base rule, None when nothing.

    The engine's own eligibility decides, for a contact of each language and channel the queue
    takes, with the agent as if free (available, connected, holding nothing) and no widening
    step: the queues an agent serves, not the ones a long wait may stretch to reach it.
    """
    taken = takes(agent, queue, now=now, widened=False)
    if not taken:
        return None
    return ServedQueue(
        queue_id=queue.id,
        name=queue.name,
        languages=sorted({language for _, language in taken}),
        channels=sorted({channel.value for channel, _ in taken}),
    )


def as_available(agent: Agent, *, load: Mapping[Channel, int] | None = None) -> AgentSnapshot:
    """The agent as the engine sees them when available with their stream connected: what
    their configuration alone lets them take (holding ``load``)."""
    return AgentSnapshot(
        id=agent.id,
        languages={row.language: row.level for row in agent.languages},
        skills={row.skill: row.level for row in agent.skills},
        status=AgentStatus.AVAILABLE,
        idle_since=None,
        stream_connected=True,
        capacity=capacity(agent),
        load=dict(load or {}),
        tier=agent.tier,
    )


async def served_queues(
    session: AsyncSession, *, agent_id: uuid.UUID, now: datetime
) -> AgentQueues:
    """The queues the agent serves, by name; raises AgentNotFound."""
    agent = await get_agent(session, agent_id)
    snapshot = as_available(agent)
    catalog = await load_catalog(session)
    queues = sorted(catalog.queues.values(), key=lambda queue: (queue.name, queue.id))
    served = (served_in(snapshot, queue, now=now) for queue in queues)
    return AgentQueues(
        agent_id=agent.id,
        agent_name=agent.name,
        queues=[queue for queue in served if queue is not None],
    )
