"""One matching pass: free agents and waiting tasks claimed together, offers made in bulk.

The pass locks the available agents and a batch of waiting tasks with ``FOR UPDATE SKIP
LOCKED`` (on SQLite the whole transaction is the single writer), decides every offer in memory
with the pure core, then writes them in a handful of statements: a second replica running at
the same time skips the rows this one holds, so no task is offered twice and no agent's load
is counted by two passes at once.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.engine.catalog import Catalog, load_catalog
from services.routing.engine.eligibility import Candidate, eligible_agents
from services.routing.engine.model import (
    OFFICIAL_LANGUAGES,
    AgentSnapshot,
    Channel,
    QueueConfig,
    TaskSnapshot,
    WideningKind,
)
from services.routing.engine.offers import offer_payload, record_agent_events
from services.routing.engine.ranking import order_tasks, rank_agents
from services.routing.engine.snapshots import agent_snapshot, task_snapshot
from services.routing.engine.widening import active_steps, next_step_due
from services.routing.models import Agent, AgentLanguage, AgentSkill, Reservation, Task
from services.routing.queues.hours import is_open
from services.routing.workload import agent_loads


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What a pass did: offers made, tasks examined, whether rows were held by another pass,
    and how soon a widening step falls due for a task left waiting."""

    offers: int = 0
    examined: int = 0
    contended: bool = False
    next_due: timedelta | None = None
    next_expiry: datetime | None = None


def _spare(agent: AgentSnapshot, channel: Channel) -> bool:
    return agent.load[channel] < agent.capacity[channel]


def _may_speak(agent: AgentSnapshot, task: TaskSnapshot, queue: QueueConfig, widened: bool) -> bool:
    # Cheap pre-filter: without a language step in force the agent must already be fluent.
    if widened:
        return True
    spoken = OFFICIAL_LANGUAGES if task.language == "und" else (task.language,)
    return all(agent.level(code) >= queue.min_language_level for code in spoken)


async def _claim_agents(session: AsyncSession) -> Sequence[Agent]:
    stmt = (
        select(Agent)
        .where(Agent.status == "available")
        .order_by(Agent.id)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(stmt)).all()


async def _snapshots(
    session: AsyncSession, rows: Sequence[Agent], now: datetime, stale_after: timedelta
) -> list[AgentSnapshot]:
    ids = [row.id for row in rows]
    languages: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    skills: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    for language in await session.scalars(
        select(AgentLanguage).where(AgentLanguage.agent_id.in_(ids))
    ):
        languages[language.agent_id][language.language] = language.level
    for skill in await session.scalars(select(AgentSkill).where(AgentSkill.agent_id.in_(ids))):
        skills[skill.agent_id][skill.skill] = skill.level
    loads = await agent_loads(session, ids)
    return [
        agent_snapshot(
            row,
            languages=languages[row.id],
            skills=skills[row.id],
            load={Channel(c): n for c, n in loads.get(row.id, {}).items()},
            now=now,
            stale_after=stale_after,
        )
        for row in rows
    ]


async def _claim_tasks(
    session: AsyncSession,
    queues: Mapping[uuid.UUID, QueueConfig],
    pool: Mapping[uuid.UUID, AgentSnapshot],
    batch_size: int,
) -> Sequence[Task]:
    """Lock the head of each open queue, as deep as its channels have free places (twice, so
    a few tasks nobody may take yet do not hide the ones behind them)."""
    spare = {c: sum(max(a.capacity[c] - a.load[c], 0) for a in pool.values()) for c in Channel}
    depth = {
        qid: min(batch_size, 2 * sum(spare[c] for c in q.channels) + 5)
        for qid, q in queues.items()
        if any(spare[c] for c in q.channels)
    }
    if not depth:
        return []
    channels = [str(c) for c, places in spare.items() if places]
    order = (Task.priority.desc(), Task.queued_at, Task.id)
    ranked = (
        select(
            Task.id,
            Task.queue_id,
            func.row_number().over(partition_by=Task.queue_id, order_by=order).label("place"),
        )
        .where(
            Task.state == "waiting",
            Task.queue_id.in_(list(depth)),
            Task.channel.in_(channels),
        )
        .subquery()
    )
    heads = select(ranked.c.id).where(ranked.c.place <= case(depth, value=ranked.c.queue_id))
    stmt = (
        select(Task)
        .where(Task.id.in_(heads), Task.state == "waiting")
        .order_by(Task.id)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(stmt)).all()


async def _declined(
    session: AsyncSession, task_ids: list[uuid.UUID]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    declined: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    if task_ids:
        stmt = select(Reservation.task_id, Reservation.agent_id).where(
            Reservation.task_id.in_(task_ids),
            Reservation.state.in_(("rejected", "expired", "canceled")),
        )
        for task_id, agent_id in (await session.execute(stmt)).all():
            declined[task_id].add(agent_id)
    return declined


async def match_once(
    session: AsyncSession,
    *,
    now: datetime,
    batch_size: int,
    stale_after: timedelta,
    catalog: Catalog | None = None,
) -> MatchResult:
    """Offer waiting tasks in open queues to the best eligible free agents, in one transaction.

    ``catalog`` may be a recent copy of the queues, to spare reading them on every pass.
    """
    catalog = catalog or await load_catalog(session)
    open_queues = {qid: q for qid, q in catalog.queues.items() if is_open(q.hours, now)}
    if not open_queues:
        return MatchResult()
    agent_rows = await _claim_agents(session)
    if not agent_rows:
        if session.get_bind().dialect.name != "postgresql":
            return MatchResult()
        available = await session.scalar(
            select(func.count()).select_from(Agent).where(Agent.status == "available")
        )
        return MatchResult(contended=bool(available))
    pool = {a.id: a for a in await _snapshots(session, agent_rows, now, stale_after)}
    channels = {c for a in pool.values() for c in Channel if _spare(a, c)}
    if not channels:
        return MatchResult()
    task_rows = {row.id: row for row in await _claim_tasks(session, open_queues, pool, batch_size)}
    declined = await _declined(session, list(task_rows))
    snapshots = [task_snapshot(row, declined=declined[row.id]) for row in task_rows.values()]
    offers: list[tuple[Task, Candidate, QueueConfig]] = []
    next_due: timedelta | None = None
    agents_by_id = {row.id: row for row in agent_rows}
    for task in order_tasks(snapshots, now=now, queues=open_queues):
        assert task.queue_id is not None
        queue = open_queues[task.queue_id]
        waited = now - task.arrived_at
        steps = active_steps(queue, task.channel, waited)
        widened = any(
            s.kind in (WideningKind.BILINGUAL, WideningKind.OTHER_LANGUAGE) for s in steps
        )
        spare = [a for a in pool.values() if _spare(a, task.channel)]
        free = [a for a in spare if _may_speak(a, task, queue, widened)]
        ranked = rank_agents(
            eligible_agents(free, task, queue, waited=waited), task, queue, now=now
        )
        if not ranked and task.declined_agent_ids:
            # Every agent who could take it has declined once: go round again rather than
            # leave the contact waiting for an agent who will never come.
            task = dataclasses.replace(task, declined_agent_ids=frozenset())
            candidates = eligible_agents(free, task, queue, waited=waited)
            ranked = rank_agents(candidates, task, queue, now=now)
        row = task_rows[task.id]
        if not ranked:
            reason = "no_eligible_agent" if spare else "no_agent_available"
            if row.wait_reason != reason:
                row.wait_reason = reason
            due = next_step_due(queue, task.channel, waited)
            if due is not None and (next_due is None or due < next_due):
                next_due = due
            continue
        best = ranked[0]
        offers.append((row, best, queue))
        agent = best.agent
        pool[agent.id] = dataclasses.replace(
            agent,
            load={**agent.load, task.channel: agent.load[task.channel] + 1},
            idle_since=now,
            last_assigned_at=now,
        )
        if not any(_spare(pool[agent.id], c) for c in Channel):
            del pool[agent.id]
    events: list[tuple[uuid.UUID, str, dict[str, Any]]] = []
    made: list[Reservation] = []
    for row, candidate, queue in offers:
        eligibility = candidate.eligibility
        why: dict[str, Any] = {
            **eligibility.why(),
            "queue_name": queue.name,
            "policy": str(queue.policy),
            "sticky": row.preferred_agent_id == candidate.agent.id,
        }
        reservation = Reservation(
            id=uuid.uuid4(),
            task_id=row.id,
            agent_id=candidate.agent.id,
            queue_id=queue.id,
            channel=row.channel,
            state="pending",
            offered_at=now,
            expires_at=now + timedelta(seconds=queue.offer_timeout_seconds),
            why=why,
        )
        session.add(reservation)
        made.append(reservation)
        row.state, row.agent_id, row.offered_at, row.wait_reason = (
            "offered",
            candidate.agent.id,
            now,
            None,
        )
        agent_row = agents_by_id[candidate.agent.id]
        agent_row.idle_since, agent_row.last_assigned_at = now, now
        events.append((candidate.agent.id, "offer", offer_payload(reservation, row)))
    record_agent_events(session, now, events)
    await session.flush()
    expiries = [reservation.expires_at for reservation in made]
    return MatchResult(
        offers=len(offers),
        examined=len(task_rows),
        next_due=next_due,
        next_expiry=min(expiries) if expiries else None,
    )
