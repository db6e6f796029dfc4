"""Tasks entering routing: one per conversation, in the queue its rules choose, sticky when
the conversation was handled recently; and the call-time question "would it be queued now?"."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import signals
from services.routing.engine.catalog import Catalog, recent_catalog
from services.routing.engine.model import Channel, QueueConfig, TaskSnapshot
from services.routing.engine.offers import cancel_task, lock_agents, open_task_for
from services.routing.engine.ranking import select_queue
from services.routing.models import OPEN_TASK_CONDITION, Agent, Callback, OutboxEvent, Task
from services.routing.queues.hours import is_open
from services.routing.queues.opening import queue_hours
from shared.contracts.routing import Availability, AvailabilityQuery
from shared.contracts.routing_events import ConversationQueued
from shared.outbox import emit

#: Why a conversation's assigned task ended when its customer wrote to an agent who logged out.
AGENT_OFFLINE = "agent_offline"


@dataclass(frozen=True, kw_only=True)
class TaskRequest:
    """What a conversation needs: channel, language, skills, priority and who had it before."""

    conversation_id: uuid.UUID
    channel: str
    language: str
    arrived_at: datetime
    contact_id: uuid.UUID | None = None
    message_id: uuid.UUID | None = None
    callback_id: uuid.UUID | None = None
    skills: Mapping[str, int] = field(default_factory=dict)
    attributes: Mapping[str, str] = field(default_factory=dict)
    priority: int = 0
    preferred_agent_id: uuid.UUID | None = None


def _probe(request: TaskRequest | AvailabilityQuery, arrived_at: datetime) -> TaskSnapshot:
    return TaskSnapshot(
        id=uuid.UUID(int=0),
        channel=Channel(request.channel),
        language=request.language,  # type: ignore[arg-type]
        arrived_at=arrived_at,
        skills=dict(request.skills),
        attributes=dict(request.attributes),
    )


def choose_queue(
    catalog: Catalog, request: TaskRequest | AvailabilityQuery, now: datetime
) -> QueueConfig | None:
    """The queue the first matching rule gives, or None."""
    return select_queue(_probe(request, now), catalog.rules, catalog.queues)


async def availability(
    session: AsyncSession, *, query: AvailabilityQuery, now: datetime
) -> Availability:
    """``queued`` when the contact's queue is open now; ``closed`` (holiday, outside hours, no
    queue) otherwise, so the telephony gateway plays the closed message."""
    queue = choose_queue(await recent_catalog(session), query, now)
    if queue is None:
        return Availability(action="closed", reason="no_queue")
    if is_open(queue.hours, now):
        return Availability(action="queued", queue_id=queue.id, queue_name=queue.name)
    local_day = now.astimezone(queue.hours.zone).date()
    reason = "holiday" if local_day in queue.hours.holidays else "outside_hours"
    return Availability(action="closed", queue_id=queue.id, queue_name=queue.name, reason=reason)


async def _recent_agent(
    session: AsyncSession, conversation_id: uuid.UUID, since: datetime
) -> uuid.UUID | None:
    stmt = (
        select(Task.agent_id)
        .where(
            Task.conversation_id == conversation_id,
            Task.agent_id.is_not(None),
            Task.assigned_at.is_not(None),
            Task.ended_at >= since,
        )
        .order_by(Task.ended_at.desc())
        .limit(1)
    )
    return await session.scalar(stmt)


def _route(
    queue: QueueConfig | None, now: datetime, preferred: uuid.UUID | None
) -> dict[str, object]:
    return {
        "queue": None if queue is None else {"id": str(queue.id), "name": queue.name},
        "queued_at": now.isoformat(),
        "preferred_agent_id": str(preferred) if preferred else None,
    }


@functools.cache
def _insert_statement(dialect: str, names: tuple[str, ...]) -> Any:
    """A new task unless its conversation has an open one (built once: building a statement
    costs more CPU than running it)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = Task.__table__.c
    return (
        insert(Task)
        .values({name: bindparam(f"p_{name}", type_=columns[name].type) for name in names})
        .on_conflict_do_nothing(
            index_elements=[Task.conversation_id], index_where=OPEN_TASK_CONDITION
        )
        .returning(Task)
    )


async def open_task(
    session: AsyncSession, *, request: TaskRequest, now: datetime, sticky: timedelta
) -> Task:
    """The conversation's open task, updated while it waits, or a new one in its queue.

    A new task emits ``conversation.queued`` (when a queue takes it) and asks for a matching
    pass; an existing task already offered or assigned is returned unchanged, but for an email
    task assigned to an agent who is offline: the customer wrote again, so that task ends
    (``agent_offline``, her capacity freed, ``task.canceled`` on her stream) and a new one waits
    in its queue, her first, the inbox told (``conversation.queued``). The insert is
    tried first (the partial unique index keeps one open task per conversation), so a new
    task costs one statement and its outbox row; the queue comes from the recent catalog.
    """
    preferred = request.preferred_agent_id
    if preferred is None and sticky:
        preferred = await _recent_agent(session, request.conversation_id, now - sticky)
    catalog = await recent_catalog(session)
    queue = choose_queue(catalog, request, now)
    if queue is None:
        reason = "no_queue"
    else:
        reason = "waiting_for_agent" if is_open(queue.hours, now) else "queue_closed"
    values = {
        "id": uuid.uuid4(),
        "conversation_id": request.conversation_id,
        "contact_id": request.contact_id,
        "message_id": request.message_id,
        "callback_id": request.callback_id,
        "channel": request.channel,
        "language": request.language,
        "skills": dict(request.skills),
        "attributes": dict(request.attributes),
        "priority": request.priority,
        "arrived_at": request.arrived_at,
        "queue_id": queue.id if queue else None,
        "queued_at": now,
        "state": "waiting",
        "preferred_agent_id": preferred,
        "wait_reason": reason,
        "route": _route(queue, now, preferred),
        "needs_translation": False,
        "created_at": now,
    }
    stmt = _insert_statement(session.get_bind().dialect.name, tuple(values))
    params = {f"p_{name}": value for name, value in values.items()}
    existing: Task | None = None
    task: Task | None = await session.scalar(stmt, params)
    if task is None:
        # The conversation has an open task already (perhaps opened by another replica).
        existing = await open_task_for(session, request.conversation_id)
        if existing is None:
            # It ended between the two statements: the insert may go through now.
            task = await session.scalar(stmt, params)
            if task is None:
                raise RuntimeError("the conversation's open task vanished while it was created")
    if task is None:
        assert existing is not None
        if existing.state == "waiting":
            existing.priority = max(existing.priority, request.priority)
            existing.skills = {**existing.skills, **request.skills}
            signals.request_match(session)
            await session.flush()
        if not await _held_offline(session, existing, request):
            return existing
        queue, values = _handed_back(catalog, existing, request, values, now)
        ended_by = {"kind": AGENT_OFFLINE, "task_id": str(values["id"]), "at": now.isoformat()}
        existing.route = {**existing.route, "ended_by": ended_by}
        await cancel_task(session, task=existing, reason=AGENT_OFFLINE, now=now)
        task = await session.scalar(stmt, {f"p_{name}": value for name, value in values.items()})
        if task is None:
            raise RuntimeError("another task opened for the conversation while it was handed back")
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
                hours=queue_hours(queue.hours, now),
            ),
        )
    signals.request_match(session)
    await session.flush()
    return task


async def _held_offline(session: AsyncSession, task: Task, request: TaskRequest) -> bool:
    """True when a new email on the conversation finds its email task assigned to an agent
    who logged out: the customer wrote again and nobody is there to read it. Her status is
    read without a lock (an agent at work costs one plain read); an offline agent is then
    locked (task first, then agent: the engine's lock order), so her coming back waits."""
    if task.state != "assigned" or task.agent_id is None:
        return False
    if request.channel != Channel.EMAIL or task.channel != Channel.EMAIL:
        return False  # calls and faxes stay with their agent, as they always did
    status = await session.scalar(select(Agent.status).where(Agent.id == task.agent_id))
    if status != "offline":
        return False
    agent = (await lock_agents(session, [task.agent_id])).get(task.agent_id)
    return agent is not None and agent.status == "offline"


def _handed_back(
    catalog: Catalog, previous: Task, request: TaskRequest, values: dict[str, Any], now: datetime
) -> tuple[QueueConfig | None, dict[str, Any]]:
    """The new waiting task of a conversation handed back from its offline agent: in the
    queue it was in when that queue still serves it (a transfer or an escalation chose it),
    else the rules' queue; with the requirements it had, for the customer's new message,
    that agent first (stickiness), who wakes the engine when she comes back."""
    queue = catalog.queues.get(previous.queue_id) if previous.queue_id else None
    if queue is None or not (
        Channel(previous.channel) in queue.channels and queue.accepts_language(request.language)
    ):
        queue = choose_queue(catalog, request, now)
    if queue is None:
        reason = "no_queue"
    else:
        reason = "waiting_for_agent" if is_open(queue.hours, now) else "queue_closed"
    preferred = previous.agent_id
    route = _route(queue, now, preferred)
    route["handed_back"] = {
        "reason": AGENT_OFFLINE,
        "from_task_id": str(previous.id),
        "from_agent_id": str(previous.agent_id),
    }
    return queue, {
        **values,
        "contact_id": request.contact_id or previous.contact_id,
        "callback_id": previous.callback_id,
        "skills": {**previous.skills, **request.skills},
        "attributes": {**previous.attributes, **request.attributes},
        "priority": max(previous.priority, request.priority),
        "queue_id": queue.id if queue else None,
        "preferred_agent_id": preferred,
        "wait_reason": reason,
        "route": route,
    }


def _call_request(callback: Callback) -> TaskRequest:
    """The phone call a due callback asks for, first to the agent it is for."""
    return TaskRequest(
        conversation_id=callback.conversation_id,
        contact_id=callback.contact_id,
        callback_id=callback.id,
        channel="phone",
        language=callback.language,
        skills=callback.skills,
        priority=callback.priority,
        arrived_at=callback.due_at,
        preferred_agent_id=callback.agent_id,
        attributes={
            "kind": "callback",
            **({"phone": callback.phone} if callback.phone else {}),
        },
    )


async def _call(
    session: AsyncSession, callback: Callback, *, now: datetime, sticky: timedelta
) -> None:
    """Give a due callback its call: a phone task, or the conversation's call already open
    (the customer on the line, a voicemail, another callback's call). While the conversation's
    open task is an email or a fax, that is no call: the callback waits ``queued`` without a
    task until that task ends (``release_waiting_callbacks``), rather than ride on it."""
    current = await open_task_for(session, callback.conversation_id)
    task = None
    if current is None or current.channel == Channel.PHONE:
        task = await open_task(session, request=_call_request(callback), now=now, sticky=sticky)
    if task is not None and task.channel != Channel.PHONE:
        task = None  # another replica opened the email's task meanwhile
    callback.state, callback.task_id = "queued", None if task is None else task.id


async def release_callbacks(
    session: AsyncSession, *, now: datetime, sticky: timedelta, limit: int = 200
) -> int:
    """Turn due callbacks into phone calls (first to the agent who scheduled them)."""
    stmt = (
        select(Callback)
        .where(Callback.state == "scheduled", Callback.due_at <= now)
        .order_by(Callback.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    due = (await session.scalars(stmt)).all()
    for callback in due:
        await _call(session, callback, now=now, sticky=sticky)
    await session.flush()
    return len(due)


async def release_waiting_callbacks(
    session: AsyncSession, *, conversation_id: uuid.UUID, now: datetime, sticky: timedelta
) -> int:
    """Give their calls to the conversation's due callbacks that waited for its email or fax
    task to end, soonest due first (they then share the one call); call it once that task
    ended."""
    stmt = (
        select(Callback)
        .where(
            Callback.conversation_id == conversation_id,
            Callback.state == "queued",
            Callback.task_id.is_(None),
        )
        .order_by(Callback.due_at, Callback.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    waiting = (await session.scalars(stmt)).all()
    for callback in waiting:
        await _call(session, callback, now=now, sticky=sticky)
    await session.flush()
    return len(waiting)
