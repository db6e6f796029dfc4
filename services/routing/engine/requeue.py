"""Conversations the agents' workspace hands back to routing: transfers, escalations, callbacks.

A transfer or an escalation ends the conversation's open task at once (its offer is withdrawn
or its assignment ended, so the agent's capacity is free; no wrap-up, since handing a contact
on is not finishing it) and opens a new task in the target queue. A new task rather than the
old one moved: an assignment belongs to one task, and offers in the new queue start afresh.
The new task's ``route`` records where it came from and why it went where it went.

An escalation without a queue goes to a queue whose ``tiers`` include the requested tier (such
a queue takes only agents of those tiers) and which serves the task's channel and language.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import signals
from services.routing.engine import intake, offers
from services.routing.engine.catalog import Catalog, load_catalog
from services.routing.engine.eligibility import as_free, eligible
from services.routing.engine.model import Channel, QueueConfig, TaskSnapshot
from services.routing.engine.snapshots import agent_snapshot, task_snapshot
from services.routing.models import (
    OPEN_TASK_CONDITION,
    Agent,
    AgentLanguage,
    AgentSkill,
    Callback,
    OutboxEvent,
    Reservation,
    Task,
)
from services.routing.queues.hours import is_open
from services.routing.workload import agent_loads
from shared.contracts.inbox_events import CallbackRequested
from shared.contracts.routing import HandoverCheck, HandoverQuery
from shared.contracts.routing_events import ConversationQueued
from shared.logging import get_logger
from shared.outbox import emit

log = get_logger(__name__)

Kind = Literal["transfer", "escalation"]
#: The rule an escalation without a queue follows, as recorded in the task's route.
TIER_RULE = (
    "a queue whose tiers include the requested tier and which serves the task's channel and "
    "language; the task's own language before bilingual, then the higher queue priority"
)
#: Wait reason of a task transferred to an agent who may not take it now.
AGENT_UNAVAILABLE = "transfer_agent_unavailable"


@dataclass(frozen=True, kw_only=True)
class Requeue:
    """One transfer or escalation as routing applies it, with the event that asked for it."""

    event_id: uuid.UUID
    occurred_at: datetime
    kind: Kind
    conversation_id: uuid.UUID
    from_agent_id: uuid.UUID | None = None
    to_queue_id: uuid.UUID | None = None
    to_agent_id: uuid.UUID | None = None
    tier: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """Where a requeued task goes: the queue (None when none fits), how it was chosen
    (requested, tier, current or rules) and, when the one asked for was not usable, why."""

    queue: QueueConfig | None
    choice: str
    fallback: str | None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _serves(queue: QueueConfig, task: Task) -> bool:
    return Channel(task.channel) in queue.channels and queue.accepts_language(task.language)


def _queue_record(queue: QueueConfig | None) -> dict[str, str] | None:
    return None if queue is None else {"id": str(queue.id), "name": queue.name}


def choose_target(catalog: Catalog, previous: Task, request: Requeue, now: datetime) -> Target:
    """The queue the requeued task goes to: the one asked for, else (escalations) a queue of
    the tier, else the task's current queue, else the queue the rules give; with why."""
    fallback: str | None = None
    if request.to_queue_id is not None:
        asked = catalog.queues.get(request.to_queue_id)
        if asked is None:
            fallback = "queue_unknown"
        elif not _serves(asked, previous):
            fallback = "queue_not_suitable"
        else:
            return Target(asked, "requested", None)
    if request.kind == "escalation" and request.tier is not None:
        tier = request.tier
        queues = catalog.queues.values()
        candidates = [q for q in queues if tier in q.tiers and _serves(q, previous)]
        if candidates:
            best = min(
                candidates,
                key=lambda q: (q.language != previous.language, -q.priority, q.name, q.id),
            )
            return Target(best, "tier", fallback)
        fallback = fallback or "no_tier_queue"
    current = catalog.queues.get(previous.queue_id) if previous.queue_id else None
    if current is not None and _serves(current, previous):
        return Target(current, "current", fallback)
    rules = intake.choose_queue(
        catalog,
        intake.TaskRequest(
            conversation_id=previous.conversation_id,
            channel=previous.channel,
            language=previous.language,
            arrived_at=previous.arrived_at,
            skills=previous.skills,
            attributes=previous.attributes,
            priority=previous.priority,
        ),
        now,
    )
    return Target(rules, "rules", fallback)


async def _latest_task(session: AsyncSession, conversation_id: uuid.UUID) -> Task | None:
    stmt = (
        select(Task)
        .where(Task.conversation_id == conversation_id)
        .order_by(Task.created_at.desc(), Task.id)
        .limit(1)
    )
    return await session.scalar(stmt)


def _stale(previous: Task, request: Requeue) -> bool:
    """True when the task already changed after the event happened: a later requeue moved it,
    or the inbox ended it (resolved, canceled) after it asked for the transfer.

    Both compare the inbox's own times (its events' ``occurred_at``), never routing's clock:
    a resolve routing applied late, after the inbox had reopened the conversation by a
    transfer, does not make that transfer stale (it was asked for after the resolve). A task
    routing ended by itself (completed through the tasks API) does not either: the inbox,
    which asked for the transfer, waits for an agent, so the transfer opens the new task.
    """
    occurred = _aware(request.occurred_at)
    applied = previous.route.get("requeue", {}).get("occurred_at")
    if isinstance(applied, str) and datetime.fromisoformat(applied) > occurred:
        return True
    if previous.state in ("waiting", "offered", "assigned"):
        return False
    asked = previous.route.get("ended_by", {}).get("asked_at")
    return isinstance(asked, str) and _aware(datetime.fromisoformat(asked)) > occurred


async def check_handover(
    session: AsyncSession, *, query: HandoverQuery, now: datetime
) -> HandoverCheck:
    """Whether a transfer or an escalation would go where it asks, by the rules that apply it
    (``choose_target``, then the agent's eligibility in that queue as if it were free: an
    agent busy or away now may still be asked for). Read only; the inbox asks before it
    accepts one, so that what routing could only fall back from is refused up front."""
    previous = await _latest_task(session, query.conversation_id)
    if previous is None:
        # Routing never had a task for it: judge by what the inbox knows of the conversation.
        previous = Task(
            id=uuid.UUID(int=0),
            conversation_id=query.conversation_id,
            channel=query.channel,
            language=query.language,
            arrived_at=now,
            queue_id=None,
            skills={},
            attributes={},
            priority=0,
        )
    request = Requeue(
        event_id=uuid.UUID(int=0),
        occurred_at=now,
        kind="transfer" if query.kind == "transfer" else "escalation",
        conversation_id=query.conversation_id,
        to_queue_id=query.to_queue_id,
        to_agent_id=query.to_agent_id,
        tier=query.tier if query.kind == "escalation" else None,
    )
    catalog = await load_catalog(session)
    target = choose_target(catalog, previous, request, now)
    queue = target.queue
    where = {"queue_id": queue.id, "queue_name": queue.name} if queue else {}
    if query.to_queue_id is not None and target.choice != "requested":
        refusal = "queue_not_found" if target.fallback == "queue_unknown" else "queue_not_suitable"
        asked = catalog.queues.get(query.to_queue_id)
        named = {"queue_id": asked.id, "queue_name": asked.name} if asked else {}
        return HandoverCheck(possible=False, refusal=refusal, **named)
    if request.kind == "escalation" and target.fallback == "no_tier_queue":
        return HandoverCheck(possible=False, refusal="no_tier_queue")
    if query.to_agent_id is not None:
        reasons = await _agent_refusals(session, query.to_agent_id, previous, target, now)
        if reasons is None:
            return HandoverCheck(possible=False, refusal="agent_not_found", **where)
        if reasons:
            agent = await session.get(Agent, query.to_agent_id)
            return HandoverCheck(
                possible=False,
                refusal="agent_not_suitable",
                agent_name=agent.name if agent else None,
                agent_refusals=reasons,
                **where,
            )
    return HandoverCheck(possible=True, **where)


async def _agent_refusals(
    session: AsyncSession, agent_id: uuid.UUID, previous: Task, target: Target, now: datetime
) -> list[str] | None:
    """Why the agent may never take the requeued task in the target queue (none: it may);
    None when routing knows no such agent."""
    row = await session.get(Agent, agent_id)
    if row is None:
        return None
    queue = target.queue
    if queue is None:
        return []
    languages = await session.execute(
        select(AgentLanguage.language, AgentLanguage.level).where(AgentLanguage.agent_id == row.id)
    )
    skills = await session.execute(
        select(AgentSkill.skill, AgentSkill.level).where(AgentSkill.agent_id == row.id)
    )
    agent = agent_snapshot(
        row,
        languages={language: level for language, level in languages},
        skills={skill: level for skill, level in skills},
        load={},
        now=now,
        stale_after=timedelta(0),
    )
    kept = previous.queue_id == queue.id
    task = TaskSnapshot(
        id=uuid.UUID(int=0),
        channel=Channel(previous.channel),
        language=previous.language,  # type: ignore[arg-type]
        arrived_at=now,
        skills=dict(previous.skills) if kept else {},
        attributes=dict(previous.attributes),
        queue_id=queue.id,
    )
    decision = eligible(as_free(agent), task, queue, waited=timedelta(0))
    return sorted({str(reason.code) for reason in decision.reasons})


async def _insert_task(session: AsyncSession, values: dict[str, Any]) -> Task | None:
    """Insert the new open task; None when another one opened for the conversation meanwhile."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(Task)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=[Task.conversation_id], index_where=OPEN_TASK_CONDITION
        )
        .returning(Task)
    )
    task: Task | None = await session.scalar(stmt)
    return task


async def _offer_directly(
    session: AsyncSession,
    *,
    task: Task,
    queue: QueueConfig | None,
    agent_id: uuid.UUID,
    now: datetime,
    stale_after: timedelta,
) -> dict[str, Any]:
    """Offer the task to the agent it was transferred to when that agent may take it now (the
    queue's own eligibility rules); returns the record of what happened, for the route."""
    record: dict[str, Any] = {"id": str(agent_id)}
    row = (await offers.lock_agents(session, [agent_id])).get(agent_id)
    if row is None:
        return {**record, "outcome": "unknown"}
    if queue is None or not is_open(queue.hours, now):
        return {**record, "outcome": "queue_closed" if queue else "no_queue"}
    languages = await session.execute(
        select(AgentLanguage.language, AgentLanguage.level).where(AgentLanguage.agent_id == row.id)
    )
    skills = await session.execute(
        select(AgentSkill.skill, AgentSkill.level).where(AgentSkill.agent_id == row.id)
    )
    loads = (await agent_loads(session, [row.id])).get(row.id, {})
    agent = agent_snapshot(
        row,
        languages={language: level for language, level in languages},
        skills={skill: level for skill, level in skills},
        load={Channel(channel): count for channel, count in loads.items()},
        now=now,
        stale_after=stale_after,
    )
    decision = eligible(agent, task_snapshot(task), queue, waited=timedelta(0))
    if not decision.eligible:
        reasons = [{"code": str(r.code), "subject": r.subject} for r in decision.reasons]
        return {**record, "outcome": "not_eligible", "reasons": reasons}
    reservation = Reservation(
        id=uuid.uuid4(),
        task_id=task.id,
        agent_id=row.id,
        queue_id=queue.id,
        channel=task.channel,
        state="pending",
        offered_at=now,
        expires_at=now + timedelta(seconds=queue.offer_timeout_seconds),
        why={
            **decision.why(),
            "queue_name": queue.name,
            "policy": str(queue.policy),
            "sticky": True,
            "directed": True,
        },
    )
    session.add(reservation)
    task.state, task.agent_id, task.offered_at, task.wait_reason = "offered", row.id, now, None
    row.idle_since, row.last_assigned_at = now, now
    offers.record_agent_events(
        session, now, [(row.id, "offer", offers.offer_payload(reservation, task))]
    )
    signals.sweep_at(session, reservation.expires_at)
    return {**record, "outcome": "offered", "offer_id": str(reservation.id)}


def _requeue_record(
    request: Requeue, previous: Task, from_queue: QueueConfig | None, target: Target
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": request.kind,
        "event_id": str(request.event_id),
        "occurred_at": _aware(request.occurred_at).isoformat(),
        "from_task_id": str(previous.id),
        "from_task_state": previous.state,
        "from_agent_id": str(request.from_agent_id) if request.from_agent_id else None,
        "from_queue": _queue_record(from_queue),
        "to_queue_id": str(request.to_queue_id) if request.to_queue_id else None,
        "to_agent_id": str(request.to_agent_id) if request.to_agent_id else None,
        "queue_choice": target.choice,
        "fallback": target.fallback,
        "skills_kept": target.queue is not None
        and from_queue is not None
        and target.queue.id == from_queue.id,
    }
    if request.kind == "escalation":
        record.update(tier=request.tier, rule=TIER_RULE, reason=(request.reason or "")[:500])
    return record


async def requeue_conversation(
    session: AsyncSession, *, request: Requeue, now: datetime, stale_after: timedelta
) -> Task | None:
    """Move the conversation to its target queue (or agent) as a new waiting or offered task.

    Returns None, changing nothing, for a conversation routing never had a task for, or for an
    event that the task's later history overtook. An unknown or unsuitable queue, or an agent
    who may not take the task, leaves the task in its queue (or the rules' queue) with the
    reason in its route.
    """
    for _ in range(2):
        current = await offers.open_task_for(session, request.conversation_id)
        previous = current or await _latest_task(session, request.conversation_id)
        if previous is None:
            log.warning(
                "routing.requeue_skipped",
                reason="unknown_conversation",
                kind=request.kind,
                conversation_id=str(request.conversation_id),
                event_id=str(request.event_id),
            )
            return None
        if _stale(previous, request):
            log.info(
                "routing.requeue_skipped",
                reason="stale",
                kind=request.kind,
                task_id=str(previous.id),
                event_id=str(request.event_id),
            )
            return None
        if request.from_agent_id is None and current is not None and current.state == "assigned":
            # The inbox had not heard of the assignment yet (a supervisor's transfer racing
            # the agent's accept): the agent who held the task is the one it came from.
            request = dataclasses.replace(request, from_agent_id=current.agent_id)
        held = {current.agent_id, request.to_agent_id} if current else {request.to_agent_id}
        # Task first, then agents in id order: the lock order of engine.offers.
        await offers.lock_agents(session, [agent for agent in held if agent is not None])
        catalog = await load_catalog(session)
        from_queue = catalog.queues.get(previous.queue_id) if previous.queue_id else None
        target = choose_target(catalog, previous, request, now)
        record = _requeue_record(request, previous, from_queue, target)
        new_id = uuid.uuid4()
        if current is not None:
            ended_by = {"kind": request.kind, "task_id": str(new_id), "at": now.isoformat()}
            current.route = {**current.route, "ended_by": ended_by}
            ending = "transferred" if request.kind == "transfer" else "escalated"
            await offers.cancel_task(session, task=current, reason=ending, now=now)
        task = await _insert_task(
            session, _task_values(new_id, previous, target, request, record, now)
        )
        if task is not None:
            return await _place(session, task, target, request, now, stale_after)
        # Another event opened a task for the conversation meanwhile: requeue that one.
    raise RuntimeError("the conversation's open task kept changing while it was requeued")


def _task_values(
    new_id: uuid.UUID,
    previous: Task,
    target: Target,
    request: Requeue,
    record: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    queue = target.queue
    return {
        "id": new_id,
        "conversation_id": previous.conversation_id,
        "contact_id": previous.contact_id,
        "message_id": previous.message_id,
        "callback_id": previous.callback_id,
        "channel": previous.channel,
        "language": previous.language,
        # A new queue's requirements replace the contact's old ones: a person chose the queue.
        "skills": dict(previous.skills) if record["skills_kept"] else {},
        "attributes": dict(previous.attributes),
        "priority": previous.priority,
        "arrived_at": previous.arrived_at,
        "queue_id": queue.id if queue else None,
        "queued_at": now,
        "state": "waiting",
        "preferred_agent_id": request.to_agent_id,
        "wait_reason": "no_queue" if queue is None else "waiting_for_agent",
        "route": {
            "queue": _queue_record(queue),
            "queued_at": now.isoformat(),
            "preferred_agent_id": str(request.to_agent_id) if request.to_agent_id else None,
            "requeue": record,
        },
        "needs_translation": False,
        "created_at": now,
    }


async def _place(
    session: AsyncSession,
    task: Task,
    target: Target,
    request: Requeue,
    now: datetime,
    stale_after: timedelta,
) -> Task:
    """Offer the new task to its target agent if any may take it, tell the inbox its queue."""
    queue = target.queue
    if queue is not None and not is_open(queue.hours, now):
        task.wait_reason = "queue_closed"
    if request.to_agent_id is not None:
        agent = await _offer_directly(
            session,
            task=task,
            queue=queue,
            agent_id=request.to_agent_id,
            now=now,
            stale_after=stale_after,
        )
        if agent["outcome"] == "unknown":
            task.preferred_agent_id = None
        elif agent["outcome"] == "not_eligible":
            task.wait_reason = AGENT_UNAVAILABLE
        task.route = {**task.route, "requeue": {**task.route["requeue"], "agent": agent}}
    if queue is not None:
        emit(
            session,
            OutboxEvent,
            ConversationQueued(
                conversation_id=task.conversation_id,
                task_id=task.id,
                queue_id=queue.id,
                queue_name=queue.name,
                queued_at=now,
            ),
        )
    signals.request_match(session)
    await session.flush()
    log.info(
        "routing.requeued",
        kind=request.kind,
        task_id=str(task.id),
        queue_id=str(queue.id) if queue else None,
        state=task.state,
        fallback=target.fallback,
    )
    return task


async def schedule_callback(
    session: AsyncSession, *, callback_id: uuid.UUID, event: CallbackRequested, now: datetime
) -> Callback:
    """The callback the event asks for, made once: its id is the event's, so a replay finds it.

    It goes first to the agent who asked (see ``intake.release_callbacks``).
    """
    existing = await session.get(Callback, callback_id)
    if existing is not None:
        return existing
    callback = Callback(
        id=callback_id,
        conversation_id=event.conversation_id,
        contact_id=event.contact_id,
        agent_id=event.preferred_agent_id or event.requested_by_agent_id,
        requested_by_agent_id=event.requested_by_agent_id,
        language=event.language,
        skills={},
        priority=0,
        note=event.note,
        phone=event.phone,
        due_at=event.due_at,
        state="scheduled",
        created_at=now,
    )
    session.add(callback)
    # The engine sweeps due callbacks; have it look when this one falls due.
    signals.sweep_at(session, event.due_at)
    await session.flush()
    return callback
