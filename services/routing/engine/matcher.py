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
import functools
import uuid
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Integer,
    Table,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
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
from services.routing.engine.offers import offer_document, write_agent_events
from services.routing.engine.ranking import order_tasks, rank_agents
from services.routing.engine.snapshots import agent_snapshot, stream_connected, task_snapshot
from services.routing.engine.widening import active_steps, next_step_due
from services.routing.models import Agent, AgentLanguage, AgentSkill, Reservation, Task
from services.routing.queues.hours import is_open
from services.routing.workload import agent_loads


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What a pass did: offers made (and the tasks offered), tasks examined, whether rows were
    held by another pass, whether a queue had more waiting tasks than the pass examined, and
    how soon a widening step falls due for a task left waiting."""

    offers: int = 0
    offered: tuple[uuid.UUID, ...] = ()
    examined: int = 0
    contended: bool = False
    more: bool = False
    next_due: timedelta | None = None
    next_expiry: datetime | None = None


def _spare_places(agents: Iterable[AgentSnapshot]) -> dict[Channel, int]:
    """Free places per channel over these agents."""
    places = dict.fromkeys(Channel, 0)
    for agent in agents:
        load = agent.load
        for channel, capacity in agent.capacity.items():
            if capacity > load[channel]:
                places[channel] += capacity - load[channel]
    return places


def _spare(agent: AgentSnapshot, channel: Channel) -> bool:
    return agent.load[channel] < agent.capacity[channel]


def _may_speak(agent: AgentSnapshot, task: TaskSnapshot, queue: QueueConfig, widened: bool) -> bool:
    # Cheap pre-filter: without a language step in force the agent must already be fluent.
    if widened:
        return True
    spoken = OFFICIAL_LANGUAGES if task.language == "und" else (task.language,)
    return all(agent.level(code) >= queue.min_language_level for code in spoken)


_AGENT_COLUMNS = (
    Agent.id,
    Agent.status,
    Agent.away_reason,
    Agent.idle_since,
    Agent.last_assigned_at,
    Agent.stream_seen_at,
    Agent.stream_dropped_at,
    Agent.capacity_phone,
    Agent.capacity_email,
    Agent.capacity_fax,
    Agent.tier,
    Agent.updated_at,
)


async def _claim_agents(session: AsyncSession) -> Sequence[Any]:
    """The available agents' rows (the columns a decision needs), locked, skipping those
    another pass holds."""
    stmt = (
        select(*_AGENT_COLUMNS)
        .where(Agent.status == "available")
        .order_by(Agent.id)
        .with_for_update(skip_locked=True)
    )
    # Through the connection: plain rows, without the ORM's per-row loading.
    return (await (await session.connection()).execute(stmt)).all()


_UPDATED_AT = _AGENT_COLUMNS.index(Agent.updated_at)
_Fingerprint = tuple[Any, ...]
_Levels = tuple[dict[str, int], dict[str, int]]
_Copies = dict[uuid.UUID, tuple[_Fingerprint, AgentSnapshot]]
#: Per database, the snapshots of the last pass's agents with what they were made from (an
#: agent whose row and load are unchanged keeps its snapshot), and each agent's languages and
#: skills with the ``updated_at`` they were read at (the agents service sets it whenever they
#: change).
_snapshot_copies: weakref.WeakKeyDictionary[Any, _Copies] = weakref.WeakKeyDictionary()
_level_copies: weakref.WeakKeyDictionary[Any, dict[uuid.UUID, tuple[Any, _Levels]]]
_level_copies = weakref.WeakKeyDictionary()


async def _levels(session: AsyncSession, rows: Sequence[Any]) -> dict[uuid.UUID, _Levels]:
    """These agents' languages and skills, read only for agents changed since last read."""
    known = _level_copies.setdefault(session.get_bind(), {})
    missing = [
        row[0]
        for row in rows
        if (entry := known.get(row[0])) is None or entry[0] != row[_UPDATED_AT]
    ]
    if missing:
        fresh: dict[uuid.UUID, _Levels] = {agent_id: ({}, {}) for agent_id in missing}
        wanted = (
            AgentLanguage.agent_id.in_(missing)
            if len(missing) <= 200
            else AgentLanguage.agent_id.in_(select(Agent.id).where(Agent.status == "available"))
        )
        stmt = select(AgentLanguage.agent_id, AgentLanguage.language, AgentLanguage.level)
        for agent_id, code, level in await session.execute(stmt.where(wanted)):
            if agent_id in fresh:
                fresh[agent_id][0][code] = level
        held = (
            AgentSkill.agent_id.in_(missing)
            if len(missing) <= 200
            else AgentSkill.agent_id.in_(select(Agent.id).where(Agent.status == "available"))
        )
        stmt = select(AgentSkill.agent_id, AgentSkill.skill, AgentSkill.level)
        for agent_id, name, level in await session.execute(stmt.where(held)):
            if agent_id in fresh:
                fresh[agent_id][1][name] = level
        for row in rows:
            if row[0] in fresh:
                known[row[0]] = (row[_UPDATED_AT], fresh[row[0]])
    return {row[0]: known[row[0]][1] for row in rows}


async def _snapshots(
    session: AsyncSession, rows: Sequence[Any], now: datetime, stale_after: timedelta
) -> list[AgentSnapshot]:
    """The agents' snapshots; an agent whose row, stream and load are unchanged since the
    last pass keeps its snapshot (its languages and skills are not even looked up)."""
    loads = await agent_loads(session)
    bind = session.get_bind()
    previous = _snapshot_copies.get(bind, {})
    kept: _Copies = {}
    stale: list[tuple[Any, dict[str, int] | None, _Fingerprint]] = []
    for row in rows:
        load = loads.get(row[0])
        fingerprint = (
            tuple(row),
            row.stream_seen_at is not None
            and stream_connected(row, now=now, stale_after=stale_after),
            tuple(sorted(load.items())) if load else (),
        )
        copy = previous.get(row[0])
        if copy is not None and copy[0] == fingerprint:
            kept[row[0]] = copy
        else:
            stale.append((row, load, fingerprint))
    if stale:
        levels = await _levels(session, [row for row, _, _ in stale])
        for row, load, fingerprint in stale:
            languages, skills = levels[row[0]]
            snapshot = agent_snapshot(
                row,
                languages=languages,
                skills=skills,
                load={Channel(c): n for c, n in load.items()} if load else {},
                now=now,
                stale_after=stale_after,
            )
            kept[row[0]] = (fingerprint, snapshot)
    _snapshot_copies[bind] = kept
    return [snapshot for _, snapshot in kept.values()]


_ENDED_OFFERS = ("rejected", "expired", "canceled")


@functools.cache
def _heads_statement(queues: int) -> Any:
    """Locks the head of ``queues`` queues (parameters ``queue_<n>``, ``depth_<n>``,
    ``channels_<n>``): one limited read per queue along ix_routing_task_waiting (the same
    order), so the cost follows the depth examined, not the number of tasks waiting. Each
    task comes with whether an offer of it ever ended unanswered. Built once per count."""
    order = (Task.priority.desc(), Task.queued_at, Task.id)
    heads = union_all(
        *(
            select(
                select(Task.id)
                .where(
                    Task.state == "waiting",
                    Task.queue_id == bindparam(f"queue_{n}"),
                    Task.channel.in_(bindparam(f"channels_{n}", expanding=True)),
                )
                .order_by(*order)
                .limit(bindparam(f"depth_{n}", type_=Integer))
                .subquery()
                .c.id
            )
            for n in range(queues)
        )
    )
    declined = (
        exists()
        .where(Reservation.task_id == Task.id, Reservation.state.in_(_ENDED_OFFERS))
        .label("declined")
    )
    return (
        select(Task, declined)
        .where(Task.id.in_(heads), Task.state == "waiting")
        .order_by(Task.id)
        .with_for_update(skip_locked=True, of=Task)
    )


async def _claim_tasks(
    session: AsyncSession,
    queues: Mapping[uuid.UUID, QueueConfig],
    spare: Mapping[Channel, int],
    batch_size: int,
) -> tuple[Sequence[tuple[Task, bool]], bool]:
    """Lock the head of each open queue, as deep as its channels have free places (twice, so
    a few tasks nobody may take yet do not hide the ones behind them); each task with
    whether it was ever declined, and whether a queue had more than was examined."""
    depth = {
        qid: min(batch_size, 2 * sum(spare[c] for c in q.channels) + 5)
        for qid, q in queues.items()
        if any(spare[c] for c in q.channels)
    }
    if not depth:
        return [], False
    channels = [str(c) for c, places in spare.items() if places]
    params: dict[str, Any] = {}
    for n, (queue_id, limit) in enumerate(depth.items()):
        params |= {f"queue_{n}": queue_id, f"depth_{n}": limit, f"channels_{n}": channels}
    rows = [
        (task, bool(declined))
        for task, declined in await session.execute(_heads_statement(len(depth)), params)
    ]
    claimed = Counter(task.queue_id for task, _ in rows)
    return rows, any(claimed[qid] >= limit for qid, limit in depth.items())


def handed_over_by(task: Task) -> dict[uuid.UUID, datetime]:
    """The agent who transferred or escalated this task away counts as having declined it
    when routing opened it (the task's ``created_at``): others first, and it comes back to
    that agent only when no one else may take it, and not before the re-offer delay."""
    requeue = task.route.get("requeue") if task.route else None
    agent = requeue.get("from_agent_id") if isinstance(requeue, dict) else None
    return {uuid.UUID(agent): _utc(task.created_at)} if isinstance(agent, str) else {}


#: Offers the agent itself turned down (rejected, or let expire), as opposed to withdrawn.
_TURNED_DOWN = ("rejected", "expired")
#: Per task, each agent whose offer of it ended unanswered, with when the agent last turned it
#: down (None when its offers were only withdrawn).
_Declined = dict[uuid.UUID, dict[uuid.UUID, datetime | None]]


async def _declined(session: AsyncSession, task_ids: list[uuid.UUID]) -> _Declined:
    declined: _Declined = defaultdict(dict)
    if task_ids:
        stmt = select(
            Reservation.task_id, Reservation.agent_id, Reservation.state, Reservation.answered_at
        ).where(Reservation.task_id.in_(task_ids), Reservation.state.in_(_ENDED_OFFERS))
        for task_id, agent_id, state, answered_at in (await session.execute(stmt)).all():
            agents = declined[task_id]
            last = agents.get(agent_id)
            if state in _TURNED_DOWN and answered_at is not None:
                answered_at = _utc(answered_at)
                last = answered_at if last is None else max(last, answered_at)
            agents[agent_id] = last
    return declined


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were written in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _cooling(
    declined: Mapping[uuid.UUID, datetime | None], now: datetime, after: timedelta
) -> dict[uuid.UUID, datetime]:
    """The agents who turned the task down too recently to be offered it again, each with
    the moment it may be offered to them again."""
    return {
        agent_id: answered + after
        for agent_id, answered in declined.items()
        if answered is not None and answered + after > now
    }


_PolicyKey = tuple[int, datetime]
#: The policies whose order depends on the agent alone (see ``_FreeAgents``).
_ORDERED = (RoutingPolicy.LONGEST_IDLE, RoutingPolicy.ROUND_ROBIN)
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
        # Built when a queue of the policy first needs it, then kept up to date by ``took``.
        self._orders: dict[RoutingPolicy, list[tuple[_PolicyKey, uuid.UUID]]] = {}

    def _order(self, policy: RoutingPolicy) -> list[tuple[_PolicyKey, uuid.UUID]]:
        if policy not in self._orders:
            self._orders[policy] = sorted((self._key(a, policy), a.id) for a in self.pool.values())
        return self._orders[policy]

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
        if policy not in _ORDERED:
            yield from list(self.pool.values())
            return
        for _, agent_id in self._order(policy):
            yield self.pool[agent_id]

    def best(self, task: TaskSnapshot, queue: QueueConfig, waited: timedelta) -> Candidate | None:
        """The best eligible agent for ``task``, or None."""
        steps = active_steps(queue, task.channel, waited)
        widened = any(
            s.kind in (WideningKind.BILINGUAL, WideningKind.OTHER_LANGUAGE) for s in steps
        )
        ordered = queue.policy in _ORDERED
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


_RESERVATIONS = cast(Table, Reservation.__table__)
_TASKS = cast(Table, Task.__table__)
_OFFER_TASKS = (
    update(_TASKS)
    .where(_TASKS.c.id == bindparam("b_task"))
    .values(state="offered", agent_id=bindparam("b_agent"), offered_at=bindparam("b_now"))
    .values(wait_reason=None)
)
_INSERT_RESERVATIONS = insert(_RESERVATIONS)
_AGENTS = cast(Table, Agent.__table__)
_OFFERED_AGENTS = (
    update(_AGENTS)
    .where(_AGENTS.c.id.in_(bindparam("b_agents", expanding=True)))
    .values(idle_since=bindparam("b_now"), last_assigned_at=bindparam("b_now"))
)


async def _write_offers(
    session: AsyncSession, reservations: list[dict[str, Any]], now: datetime
) -> None:
    """Insert the offers, mark their tasks offered and their agents just assigned, each in one
    statement for the whole pass (Core: the unit of work's bookkeeping per row cost more than
    the writes)."""
    connection = await session.connection()
    await connection.execute(_INSERT_RESERVATIONS, reservations)
    await connection.execute(
        _OFFER_TASKS,
        [{"b_task": r["task_id"], "b_agent": r["agent_id"], "b_now": now} for r in reservations],
    )
    await connection.execute(
        _OFFERED_AGENTS, {"b_agents": sorted({r["agent_id"] for r in reservations}), "b_now": now}
    )


_NOBODY = "no_agent_available"
#: The waiting tasks of some channels in some open queues (``b_queues``, ``b_channels``) that
#: do not say yet that nobody may take them now, skipping those another transaction holds;
#: none while more agents are available than the pass claimed (``b_claimed``: another pass
#: holds the others, and may yet offer these tasks).
_UNEXPLAINED = (
    select(_TASKS.c.id)
    .where(
        # Written out, so that the planners match the partial index of waiting tasks.
        _TASKS.c.state == literal_column("'waiting'"),
        _TASKS.c.queue_id.in_(bindparam("b_queues", expanding=True)),
        _TASKS.c.channel.in_(bindparam("b_channels", expanding=True)),
        or_(_TASKS.c.wait_reason.is_(None), _TASKS.c.wait_reason != _NOBODY),
        select(func.count())
        .select_from(_AGENTS)
        .where(_AGENTS.c.status == "available")
        .scalar_subquery()
        == bindparam("b_claimed", type_=Integer),
    )
    .with_for_update(skip_locked=True)
)
_RECORD_NOBODY = (
    update(_TASKS)
    .where(_TASKS.c.id.in_(_UNEXPLAINED.scalar_subquery()))
    .values(wait_reason=_NOBODY)
)


_NobodyKey = tuple[frozenset[uuid.UUID], frozenset[Channel]]
#: Per database, for which queues and channels this process last recorded that nobody is
#: available, and when: the same is recorded again only ``_NOBODY_EVERY`` later (the scan
#: reads every waiting task of those channels, and passes come many times a second).
_nobody_recorded: weakref.WeakKeyDictionary[Any, tuple[_NobodyKey, datetime]]
_nobody_recorded = weakref.WeakKeyDictionary()
_NOBODY_EVERY = timedelta(seconds=1)


async def _record_nobody_available(
    session: AsyncSession,
    queues: Mapping[uuid.UUID, QueueConfig],
    spare: Mapping[Channel, int],
    *,
    claimed: int,
    now: datetime,
) -> None:
    """Record why the open queues' waiting tasks of the channels no available agent has a free
    place on wait: the pass does not even read them. One statement, which writes only tasks
    that said otherwise, so a pass that finds nothing changed writes nothing.

    Run at once when those channels or queues change (an agent left, or filled its last
    place); otherwise at most once every ``_NOBODY_EVERY``, for what changed meanwhile (a new
    task, an offer that ended), which until then says it waits for the next routing pass.
    """
    bind = session.get_bind()
    full = frozenset(channel for channel in Channel if not spare.get(channel))
    serving = frozenset(qid for qid, queue in queues.items() if not full.isdisjoint(queue.channels))
    if not serving:
        _nobody_recorded.pop(bind, None)
        return
    last = _nobody_recorded.get(bind)
    if last is not None and last[0] == (serving, full):
        since = now - last[1]
        if timedelta(0) <= since < _NOBODY_EVERY:
            return
    await (await session.connection()).execute(
        _RECORD_NOBODY,
        {"b_queues": sorted(serving), "b_channels": sorted(map(str, full)), "b_claimed": claimed},
    )
    _nobody_recorded[bind] = ((serving, full), now)


async def match_once(
    session: AsyncSession,
    *,
    now: datetime,
    batch_size: int,
    stale_after: timedelta,
    reoffer_after: timedelta = timedelta(0),
    catalog: Catalog | None = None,
) -> MatchResult:
    """Offer waiting tasks in open queues to the best eligible free agents, in one transaction.

    An agent who declined a task (rejected it, let it expire, or handed it over) is passed
    over while another agent may take it; when no one else may, the task goes round again,
    but not to an agent who turned it down less than ``reoffer_after`` ago. ``catalog`` may
    be a recent copy of the queues, to spare reading them on every pass.
    """
    catalog = catalog or await load_catalog(session)
    open_queues = {qid: q for qid, q in catalog.queues.items() if is_open(q.hours, now)}
    if not open_queues:
        return MatchResult()
    agent_rows = await _claim_agents(session)
    if not agent_rows:
        if session.get_bind().dialect.name == "postgresql":
            available = await session.scalar(
                select(func.count()).select_from(Agent).where(Agent.status == "available")
            )
            if available:
                return MatchResult(contended=True)
        await _record_nobody_available(session, open_queues, {}, claimed=0, now=now)
        return MatchResult()
    pool = {a.id: a for a in await _snapshots(session, agent_rows, now, stale_after)}
    spare = _spare_places(pool.values())
    await _record_nobody_available(session, open_queues, spare, claimed=len(agent_rows), now=now)
    if not any(spare.values()):
        return MatchResult()
    claimed, more = await _claim_tasks(session, open_queues, spare, batch_size)
    task_rows = {row.id: row for row, _ in claimed}
    # Only tasks offered before can have agents who turned them down; a task handed over has
    # the agent it came from, as declined when it was opened.
    declined = await _declined(session, [row.id for row, ended in claimed if ended])
    for row in task_rows.values():
        for agent_id, handed_at in handed_over_by(row).items():
            last = declined[row.id].get(agent_id)
            declined[row.id][agent_id] = handed_at if last is None else max(last, handed_at)
    snapshots = [task_snapshot(row, declined=declined[row.id].keys()) for row in task_rows.values()]
    offers: list[tuple[Task, Candidate, QueueConfig]] = []
    next_due: timedelta | None = None
    free = _FreeAgents(pool.values(), now)
    for task in order_tasks(snapshots, now=now, queues=open_queues):
        assert task.queue_id is not None
        queue = open_queues[task.queue_id]
        waited = now - task.arrived_at
        best = free.best(task, queue, waited)
        cooling: dict[uuid.UUID, datetime] = {}
        if best is None and task.declined_agent_ids:
            # Every agent who could take it has declined once: go round again rather than
            # leave the contact waiting for an agent who will never come, but give whoever
            # just turned it down a while first (someone else may come free meanwhile).
            cooling = _cooling(declined.get(task.id, {}), now, reoffer_after)
            if cooling.keys() != task.declined_agent_ids:
                task = dataclasses.replace(task, declined_agent_ids=frozenset(cooling))
                best = free.best(task, queue, waited)
        row = task_rows[task.id]
        if best is None:
            reason = "no_eligible_agent" if free.any_spare(task.channel) else "no_agent_available"
            if row.wait_reason != reason:
                row.wait_reason = reason
            due = next_step_due(queue, task.channel, waited)
            if cooling:
                # The pass to run when the first of them may be offered the task again.
                ends = min(cooling.values()) - now
                due = ends if due is None else min(due, ends)
            if due is not None and (next_due is None or due < next_due):
                next_due = due
            continue
        offers.append((row, best, queue))
        free.took(best.agent, task.channel)
    reservations: list[dict[str, Any]] = []
    events: list[tuple[uuid.UUID, str, dict[str, Any]]] = []
    for row, candidate, queue in offers:
        agent_id = candidate.agent.id
        why: dict[str, Any] = {
            **candidate.eligibility.why(),
            "queue_name": queue.name,
            "policy": str(queue.policy),
            "sticky": row.preferred_agent_id == agent_id,
        }
        offer_id, expires_at = uuid.uuid4(), now + timedelta(seconds=queue.offer_timeout_seconds)
        offer: dict[str, Any] = {
            "id": offer_id,
            "task_id": row.id,
            "agent_id": agent_id,
            "queue_id": queue.id,
            "channel": row.channel,
            "state": "pending",
            "offered_at": now,
            "expires_at": expires_at,
            "why": why,
        }
        reservations.append(offer)
        metrics.offer_made(session, channel=row.channel, waited=now - row.queued_at)
        document = offer_document(
            offer_id=offer_id,
            task_id=row.id,
            conversation_id=row.conversation_id,
            channel=row.channel,
            language=row.language,
            queue_id=queue.id,
            offered_at=now,
            expires_at=expires_at,
            why=why,
        )
        events.append((agent_id, "offer", document))
    if reservations:
        await _write_offers(session, reservations, now)
        await write_agent_events(session, now, events)
    await session.flush()
    expiries = [offer["expires_at"] for offer in reservations]
    return MatchResult(
        offers=len(offers),
        offered=tuple(offer["task_id"] for offer in reservations),
        examined=len(task_rows),
        more=more,
        next_due=next_due,
        next_expiry=min(expiries) if expiries else None,
    )
