"""Queues: configuration with rules, hours and widening steps, and their live figures."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.routing import signals
from services.routing.engine.eligibility import as_free, queue_languages, takes
from services.routing.engine.model import Channel, QueueConfig
from services.routing.engine.snapshots import agent_snapshot, queue_config
from services.routing.engine.translation_check import as_applied, holds_translation
from services.routing.errors import (
    QueueInUse,
    QueueNameTaken,
    QueueNotFound,
    QueueWorkNotServed,
)
from services.routing.models import OPEN_TASK_STATES, Agent, Queue, QueueRule, Reservation, Task
from services.routing.queues.documents import business_hours
from services.routing.queues.hours import is_open
from services.routing.queues.schemas import (
    AgentCounts,
    QueueCreate,
    QueueRead,
    QueueRuleDoc,
    QueueRuleRead,
    QueueStats,
    QueueUpdate,
)
from services.routing.workload import agent_loads

_DOCUMENT_FIELDS = ("widening", "hours")


def queue_open(queue: Queue, now: datetime) -> bool:
    """Whether the queue's business hours have it open at ``now``."""
    return is_open(business_hours(queue.hours), now)


def read_queue(queue: Queue, now: datetime) -> QueueRead:
    """The API view of a queue loaded with its rules."""
    rules = [QueueRuleRead.model_validate(rule) for rule in queue.rules]
    fields = {name: getattr(queue, name) for name in QueueRead.model_fields if hasattr(queue, name)}
    fields.update(rules=sorted(rules, key=lambda r: r.order), open_now=queue_open(queue, now))
    return QueueRead.model_validate(fields)


def _rule_rows(rules: Sequence[QueueRuleDoc]) -> list[QueueRule]:
    return [QueueRule(**rule.model_dump(mode="json")) for rule in rules]


async def _ensure_name_free(
    session: AsyncSession, name: str, queue_id: uuid.UUID | None = None
) -> None:
    stmt = select(Queue.id).where(Queue.name == name)
    if queue_id is not None:
        stmt = stmt.where(Queue.id != queue_id)
    if await session.scalar(stmt) is not None:
        raise QueueNameTaken(name=name)


@asynccontextmanager
async def _named(
    session: AsyncSession, name: str | None, queue_id: uuid.UUID | None = None
) -> AsyncIterator[None]:
    """Write the queue in a savepoint: a name another request took since the check (both
    checked before either committed) is QueueNameTaken, not the database's error."""
    try:
        async with session.begin_nested():
            yield
            await session.flush()
    except IntegrityError:
        if name is not None:
            await _ensure_name_free(session, name, queue_id)
        raise


async def create_queue(session: AsyncSession, *, data: QueueCreate, now: datetime) -> Queue:
    """Store a new queue with its rules; raises QueueNameTaken."""
    await _ensure_name_free(session, data.name)
    values = data.model_dump(mode="json", exclude={"rules"})
    queue = Queue(id=uuid.uuid4(), **values, created_at=now, updated_at=now)
    queue.rules = _rule_rows(data.rules)
    async with _named(session, data.name):
        session.add(queue)
    signals.queues_changed(session)
    return queue


async def list_queues(session: AsyncSession) -> Sequence[Queue]:
    """Every queue with its rules, by name."""
    stmt = select(Queue).options(selectinload(Queue.rules)).order_by(Queue.name)
    return (await session.scalars(stmt)).all()


async def get_queue(session: AsyncSession, queue_id: uuid.UUID) -> Queue:
    """The queue with its rules; raises QueueNotFound."""
    stmt = select(Queue).where(Queue.id == queue_id).options(selectinload(Queue.rules))
    queue = await session.scalar(stmt)
    if queue is None:
        raise QueueNotFound(queue_id=queue_id)
    return queue


async def update_queue(
    session: AsyncSession, *, queue_id: uuid.UUID, data: QueueUpdate, now: datetime
) -> Queue:
    """Change the fields given; rules, widening and hours given replace the stored ones."""
    queue = await get_queue(session, queue_id)
    changes = data.model_dump(mode="json", exclude_unset=True, exclude={"rules"})
    new_name = changes.get("name")
    if new_name is not None:
        await _ensure_name_free(session, new_name, queue.id)
    await _ensure_work_still_served(
        session,
        queue,
        language=changes.get("language") or queue.language,
        channels=changes.get("channels") or queue.channels,
    )
    async with _named(session, new_name, queue.id):
        for name, value in changes.items():
            if value is not None or name in _DOCUMENT_FIELDS:
                setattr(queue, name, value if value is not None else _empty(name))
        if data.rules is not None:
            queue.rules = _rule_rows(data.rules)
        queue.updated_at = now
    signals.queues_changed(session)
    return queue


#: The tasks a queue still has to route: an assigned task is with its agent already.
_ROUTED_STATES = ("waiting", "offered")


async def _ensure_work_still_served(
    session: AsyncSession, queue: Queue, *, language: str, channels: Sequence[str]
) -> None:
    """Refuse a change that would leave waiting or offered tasks in a queue that no longer
    takes their channel or language (the engine would never offer them again); raises
    QueueWorkNotServed."""
    if language == queue.language and set(channels) >= set(queue.channels):
        return
    stranded = or_(
        Task.channel.not_in(list(channels)),
        false() if language == "bilingual" else Task.language != language,
    )
    count = await session.scalar(
        select(func.count())
        .select_from(Task)
        .where(Task.queue_id == queue.id, Task.state.in_(_ROUTED_STATES), stranded)
    )
    if count:
        raise QueueWorkNotServed(count=count)


def _empty(name: str) -> Any:
    return [] if name == "widening" else {}


async def delete_queue(session: AsyncSession, *, queue_id: uuid.UUID) -> None:
    """Delete a queue holding no open task; raises QueueNotFound or QueueInUse."""
    queue = await get_queue(session, queue_id)
    count = await session.scalar(
        select(func.count())
        .select_from(Task)
        .where(Task.queue_id == queue_id, Task.state.in_(OPEN_TASK_STATES))
    )
    if count:
        raise QueueInUse(count=count)
    await session.delete(queue)
    signals.queues_changed(session)
    await session.flush()


def _routable(queue: Queue) -> QueueConfig | None:
    """The engine's view of the queue; None when its configuration is broken, as the engine
    then routes nothing to it (see ``load_catalog``)."""
    try:
        return queue_config(queue)
    except (ValueError, KeyError, TypeError):
        return None


async def _agent_counts(
    session: AsyncSession,
    queue: Queue,
    *,
    config: QueueConfig | None,
    now: datetime,
    stale_after: timedelta,
) -> AgentCounts:
    """The agents who serve the queue in at least one language it takes, by the engine's own
    rule as ``config`` has it (as ``GET /agents/{id}/queues`` lists them), by presence, and per
    language."""
    languages = queue_languages(config) if config is not None else ()
    counts = dict.fromkeys(("available", "busy", "wrap_up", "away"), 0)
    offerable, by_channel = 0, dict.fromkeys(queue.channels, 0)
    available_in = dict.fromkeys(languages, 0)
    offerable_in = dict.fromkeys(languages, 0)
    if config is None:
        # The engine routes nothing to a queue it cannot read: no agent serves it.
        return AgentCounts(
            **counts,
            offerable=offerable,
            offerable_by_channel=by_channel,
            available_by_language=available_in,
            offerable_by_language=offerable_in,
        )
    stmt = (
        select(Agent)
        .where(Agent.status != "offline")
        .options(selectinload(Agent.languages), selectinload(Agent.skills))
    )
    rows = (await session.scalars(stmt)).all()
    loads = await agent_loads(session, [row.id for row in rows])
    for row in rows:
        held = loads.get(row.id, {})
        agent = agent_snapshot(
            row,
            languages={item.language: item.level for item in row.languages},
            skills={item.skill: item.level for item in row.skills},
            load={Channel(channel): count for channel, count in held.items()},
            now=now,
            stale_after=stale_after,
        )
        served = takes(as_free(agent), config, now=now, widened=False)
        if not served:
            continue
        status = row.status
        if status == "available":
            spare = any(
                agent.load[Channel(channel)] < agent.capacity[Channel(channel)]
                for channel in queue.channels
            )
            status = "available" if spare else "busy"
        counts[status] += 1
        if status != "available":
            continue
        for language in {language for _, language in served}:
            available_in[language] += 1
        now_taken = takes(agent, config, now=now)
        offerable += bool(now_taken)
        for channel in {channel for channel, _ in now_taken}:
            by_channel[str(channel)] += 1
        for language in {language for _, language in now_taken}:
            offerable_in[language] += 1
    return AgentCounts(
        **counts,
        offerable=offerable,
        offerable_by_channel=by_channel,
        available_by_language=available_in,
        offerable_by_language=offerable_in,
    )


async def queue_stats(
    session: AsyncSession,
    *,
    queue_id: uuid.UUID,
    now: datetime,
    stale_after: timedelta,
    machine_translation: bool,
) -> QueueStats:
    """Live figures: tasks by state, longest wait, agents by presence and how many the engine
    would offer the queue's work now (streams older than ``stale_after`` are gone; without
    ``machine_translation``, no other_language step), today's offers and SL."""
    queue = await get_queue(session, queue_id)
    config = _routable(queue)
    applied = as_applied(config, machine_translation=machine_translation) if config else None
    hours = business_hours(queue.hours)
    local_today = now.astimezone(hours.zone).date()
    day_start = datetime.combine(local_today, time(0), tzinfo=hours.zone)
    states = dict(
        (
            await session.execute(
                select(Task.state, func.count())
                .where(Task.queue_id == queue_id, Task.state.in_(OPEN_TASK_STATES))
                .group_by(Task.state)
            )
        ).all()
    )
    oldest = await session.scalar(
        select(func.min(Task.queued_at)).where(
            Task.queue_id == queue_id, Task.state.in_(("waiting", "offered"))
        )
    )
    offers = dict(
        (
            await session.execute(
                select(Reservation.state, func.count())
                .where(Reservation.queue_id == queue_id, Reservation.offered_at >= day_start)
                .group_by(Reservation.state)
            )
        ).all()
    )
    today = (
        await session.execute(
            select(Task.queued_at, Task.assigned_at).where(
                Task.queue_id == queue_id, Task.queued_at >= day_start
            )
        )
    ).all()
    target = timedelta(seconds=queue.service_level_seconds)
    waits = [assigned - queued for queued, assigned in today if assigned is not None]
    overdue = sum(1 for queued, assigned in today if assigned is None and now - queued > target)
    within = sum(1 for wait in waits if wait <= target)
    counted = len(waits) + overdue
    return QueueStats(
        queue_id=queue.id,
        open_now=is_open(hours, now),
        waiting=states.get("waiting", 0),
        offered=states.get("offered", 0),
        assigned=states.get("assigned", 0),
        longest_wait_seconds=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        translation_held_back=(
            config is not None and holds_translation(config) and not machine_translation
        ),
        agents=await _agent_counts(
            session, queue, config=applied, now=now, stale_after=stale_after
        ),
        offers_today=sum(offers.values()),
        accepted_today=offers.get("accepted", 0),
        rejected_today=offers.get("rejected", 0),
        expired_today=offers.get("expired", 0),
        answered_today=len(waits),
        service_level_percent_today=round(100 * within / counted, 1) if counted else None,
        average_wait_seconds_today=(
            round(sum(w.total_seconds() for w in waits) / len(waits), 1) if waits else None
        ),
    )
