"""One matching pass: free agents and waiting tasks claimed together, offers made in bulk.

The pass locks the available agents and a batch of waiting tasks with ``FOR UPDATE SKIP
LOCKED`` (on SQLite the whole transaction is the single writer), decides every offer in memory
with the pure core, then writes them in a handful of statements: a second replica running at
the same time skips the rows this one holds, so no task is offered twice and no agent's load
is counted by two passes at once.
"""

from __future__ import annotations

import bisect
import dataclasses
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import metrics
from services.routing.engine.catalog import Catalog, load_catalog
from services.routing.engine.eligibility import Candidate, eligible_agents
from services.routing.engine.model import (
    OFFICIAL_LANGUAGES,
    AgentSnapshot,
    Channel,
    QueueConfig,
    RoutingPolicy,
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


_PolicyKey = tuple[int, datetime]
_NEVER = datetime.min.replace(tzinfo=UTC)


class _FreeAgents:
    """The pass's free agents, kept in each policy's order so that the best agent for a task
    is usually found after assessing a few agents rather than all of them.

    For longest_idle and round_robin queues the policy's order depends on the agent alone, so
    the agents are walked in that order (then by id) and the walk stops at the first agent
    who fits the task as it arrived (no widening step, no translation): every agent after it
    ranks lower. ``rank_agents`` then picks among those assessed, with the preferred agent
    added, exactly as if all had been assessed. most_skilled queues assess every agent.
    """

    def __init__(self, agents: Iterable[AgentSnapshot], now: datetime) -> None:
        self._now = now
        self.pool: dict[uuid.UUID, AgentSnapshot] = {a.id: a for a in agents}
        self._orders: dict[RoutingPolicy, list[tuple[_PolicyKey, uuid.UUID]]] = {
            policy: sorted((self._key(a, policy), a.id) for a in self.pool.values())
            for policy in (RoutingPolicy.LONGEST_IDLE, RoutingPolicy.ROUND_ROBIN)
        }

    def _key(self, agent: AgentSnapshot, policy: RoutingPolicy) -> _PolicyKey:
        # The same order as ranking's policy keys for these two policies.
        if policy is RoutingPolicy.ROUND_ROBIN:
            return (0, agent.last_assigned_at or _NEVER)
        if agent.idle_since is None:
            return (1, self._now)
        return (0, min(agent.idle_since, self._now))

    def any_spare(self, channel: Channel) -> bool:
        """True when some free agent has room on ``channel``."""
        return any(_spare(agent, channel) for agent in self.pool.values())

    def _walk(self, policy: RoutingPolicy) -> Iterator[AgentSnapshot]:
        if policy not in self._orders:
            yield from list(self.pool.values())
            return
        for _, agent_id in self._orders[policy]:
            yield self.pool[agent_id]

    def best(self, task: TaskSnapshot, queue: QueueConfig, waited: timedelta) -> Candidate | None:
        """The best eligible agent for ``task``, or None."""
        steps = active_steps(queue, task.channel, waited)
        widened = any(
            s.kind in (WideningKind.BILINGUAL, WideningKind.OTHER_LANGUAGE) for s in steps
        )
        ordered = queue.policy in self._orders
        assessed: list[Candidate] = []
        preferred = self.pool.get(task.preferred_agent_id) if task.preferred_agent_id else None
        if preferred is not None and _spare(preferred, task.channel):
            assessed.extend(eligible_agents([preferred], task, queue, waited=waited))
        for agent in self._walk(queue.policy):
            if agent is preferred or not _spare(agent, task.channel):
                continue
            if not _may_speak(agent, task, queue, widened):
                continue
            found = eligible_agents([agent], task, queue, waited=waited)
            assessed.extend(found)
            if ordered and found:
                fit = found[0].eligibility
                if not fit.needs_translation and not fit.steps:
                    break
        ranked = rank_agents(assessed, task, queue, now=self._now)
        return ranked[0] if ranked else None

    def took(self, agent: AgentSnapshot, channel: Channel) -> None:
        """The agent was offered a task on ``channel``: its load and place in line change."""
        now = self._now
        updated = dataclasses.replace(
            agent,
            load={**agent.load, channel: agent.load[channel] + 1},
            idle_since=now,
            last_assigned_at=now,
        )
        keep = any(_spare(updated, c) for c in Channel)
        for policy, order in self._orders.items():
            del order[bisect.bisect_left(order, (self._key(agent, policy), agent.id))]
            if keep:
                bisect.insort(order, (self._key(updated, policy), agent.id))
        if keep:
            self.pool[agent.id] = updated
        else:
            del self.pool[agent.id]


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
    free = _FreeAgents(pool.values(), now)
    for task in order_tasks(snapshots, now=now, queues=open_queues):
        assert task.queue_id is not None
        queue = open_queues[task.queue_id]
        waited = now - task.arrived_at
        best = free.best(task, queue, waited)
        if best is None and task.declined_agent_ids:
            # Every agent who could take it has declined once: go round again rather than
            # leave the contact waiting for an agent who will never come.
            task = dataclasses.replace(task, declined_agent_ids=frozenset())
            best = free.best(task, queue, waited)
        row = task_rows[task.id]
        if best is None:
            reason = "no_eligible_agent" if free.any_spare(task.channel) else "no_agent_available"
            if row.wait_reason != reason:
                row.wait_reason = reason
            due = next_step_due(queue, task.channel, waited)
            if due is not None and (next_due is None or due < next_due):
                next_due = due
            continue
        offers.append((row, best, queue))
        free.took(best.agent, task.channel)
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
        metrics.offer_made(session, channel=row.channel, waited=now - row.queued_at)
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
