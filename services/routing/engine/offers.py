"""Offers and the task lifecycle after them: accept, reject, expire, rescind, complete, cancel.

Lock order, everywhere but the matcher: task, then reservation, then agent. The matcher takes
agents and tasks with SKIP LOCKED and never waits, so no cycle can form. An agent's stream
events are written after its row is locked, so one agent's event ids commit in order.
"""

from __future__ import annotations

import functools
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.routing import metrics, signals
from services.routing.errors import (
    NotOwnAgent,
    OfferClosed,
    OfferNotFound,
    TaskNotAssigned,
    TaskNotFound,
)
from services.routing.models import (
    OPEN_TASK_STATES,
    Agent,
    AgentEvent,
    Assignment,
    OutboxEvent,
    Queue,
    Reservation,
    Task,
)
from shared.contracts.routing_events import ConversationAssigned
from shared.errors import AppError
from shared.outbox import emitted_values

_AGENT_EVENTS = cast(Table, AgentEvent.__table__)


def _event_rows(
    now: datetime, events: Iterable[tuple[uuid.UUID, str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    return [
        {
            "agent_id": agent_id,
            "type": kind,
            "reservation_id": uuid.UUID(str(payload["offer_id"]))
            if "offer_id" in payload
            else None,
            "payload": payload,
            "created_at": now,
        }
        for agent_id, kind, payload in events
    ]


def record_agent_events(
    session: AsyncSession, now: datetime, events: Iterable[tuple[uuid.UUID, str, dict[str, Any]]]
) -> None:
    """Add stream events (agent, type, payload) to the transaction; lock the agents first."""
    rows = _event_rows(now, events)
    session.add_all(AgentEvent(**row) for row in rows)
    signals.notify_agents(session, {row["agent_id"] for row in rows})


async def write_agent_events(
    session: AsyncSession, now: datetime, events: Iterable[tuple[uuid.UUID, str, dict[str, Any]]]
) -> None:
    """Write stream events at once, in one statement, in order; lock the agents first."""
    rows = _event_rows(now, events)
    if rows:
        await (await session.connection()).execute(insert(_AGENT_EVENTS), rows)
    signals.notify_agents(session, {row["agent_id"] for row in rows})


async def lock_agents(
    session: AsyncSession, agent_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Agent]:
    """The agents, locked for this transaction, in id order (a stable order avoids deadlocks)."""
    ids = sorted(set(agent_ids))
    if not ids:
        return {}
    stmt = (
        select(Agent)
        .where(Agent.id.in_(ids))
        .order_by(Agent.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {agent.id: agent for agent in await session.scalars(stmt)}


async def _lock_task(session: AsyncSession, task_id: uuid.UUID) -> Task:
    stmt = (
        select(Task)
        .where(Task.id == task_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    task = await session.scalar(stmt)
    if task is None:
        raise TaskNotFound(task_id=task_id)
    return task


async def _pending_offer(session: AsyncSession, task_id: uuid.UUID) -> Reservation | None:
    stmt = (
        select(Reservation)
        .where(Reservation.task_id == task_id, Reservation.state == "pending")
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await session.scalar(stmt)


def offer_payload(reservation: Reservation, task: Task) -> dict[str, Any]:
    """What an agent's stream and offer list show of an offer."""
    return offer_document(
        offer_id=reservation.id,
        task_id=task.id,
        conversation_id=task.conversation_id,
        channel=task.channel,
        language=task.language,
        queue_id=reservation.queue_id,
        offered_at=reservation.offered_at,
        expires_at=reservation.expires_at,
        why=reservation.why,
    )


async def _answerable(
    session: AsyncSession, offer_id: uuid.UUID, acting_agent_id: uuid.UUID | None, now: datetime
) -> tuple[Task, Reservation, Agent]:
    found = await session.get(Reservation, offer_id)
    if found is None:
        raise OfferNotFound(offer_id=offer_id)
    if acting_agent_id is not None and found.agent_id != acting_agent_id:
        raise NotOwnAgent()
    task = await _lock_task(session, found.task_id)
    stmt = (
        select(Reservation)
        .where(Reservation.id == offer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    reservation = await session.scalar(stmt)
    assert reservation is not None
    if reservation.state != "pending":
        raise OfferClosed(state=reservation.state)
    if reservation.expires_at <= now:
        raise OfferClosed(state="expired")
    agents = await lock_agents(session, [reservation.agent_id])
    return task, reservation, agents[reservation.agent_id]


def offer_document(
    *,
    offer_id: uuid.UUID,
    task_id: uuid.UUID,
    conversation_id: uuid.UUID,
    channel: str,
    language: str,
    queue_id: uuid.UUID | None,
    offered_at: datetime,
    expires_at: datetime,
    why: Mapping[str, Any],
) -> dict[str, Any]:
    """What an agent's stream and offer list show of an offer (its ids, contact, timing)."""
    return {
        "offer_id": str(offer_id),
        "task_id": str(task_id),
        "conversation_id": str(conversation_id),
        "channel": channel,
        "language": language,
        "queue_id": str(queue_id) if queue_id else None,
        "offered_at": offered_at.isoformat(),
        "expires_at": expires_at.isoformat(),
        "needs_translation": bool(why.get("needs_translation", False)),
    }


async def _closed_offer(
    session: AsyncSession, offer_id: uuid.UUID, acting_agent_id: uuid.UUID | None
) -> AppError:
    """Why an offer could not be answered (read after the claim found nothing to change)."""
    found = await session.get(Reservation, offer_id, populate_existing=True)
    if found is None:
        return OfferNotFound(offer_id=offer_id)
    if acting_agent_id is not None and found.agent_id != acting_agent_id:
        return NotOwnAgent()
    return OfferClosed(state=found.state if found.state != "pending" else "expired")


_OFFERED_COLUMNS = (
    Reservation.state,
    Reservation.agent_id,
    Reservation.queue_id,
    Reservation.channel,
    Reservation.offered_at,
    Reservation.expires_at,
    Reservation.why,
    Reservation.task_id,
    Task.conversation_id,
    Task.language,
    Task.queue_id.label("task_queue_id"),
)
_OUTBOX_COLUMNS = ("id", "type", "payload", "occurred_at", "available_at", "attempts")


def _param(name: str, column: Any) -> Any:
    # Prefixed: a column's own name is reserved for SQLAlchemy's VALUES parameters.
    return bindparam(f"p_{name}", type_=column.type)


def _params(values: Mapping[str, Any]) -> dict[str, Any]:
    return {f"p_{name}": value for name, value in values.items()}


@functools.cache
def _offered_statement() -> Any:
    """The offer with its task's columns, read without locks: what an accept writes is built
    from columns that never change once the offer is made, and its state is rechecked by the
    claim."""
    return (
        select(*_OFFERED_COLUMNS)
        .join(Task, Task.id == Reservation.task_id)
        .where(Reservation.id == _param("offer_id", Reservation.id))
    )


def _route_with(postgresql: bool) -> Any:
    """The task's route with the accepted offer's why under ``assignment``, merged in SQL so
    that a route written since the offer was read is kept."""
    why = _param("why", Task.route)
    if postgresql:
        return Task.route.op("||")(func.jsonb_build_object("assignment", why))
    return func.json_set(Task.route, "$.assignment", func.json(why))


@functools.cache
def _accept_statements(postgresql: bool, outbox: bool) -> tuple[Any, ...]:
    """Claim the offer, lock the agent, write its stream event, the assignment (and the
    outbox event), assign the task. Each returns a row only when the offer was claimed.

    On PostgreSQL one statement, which runs as its own transaction: the task is locked first
    (a ``FOR UPDATE`` common table expression the claim joins), then the offer is claimed
    (``state = 'pending'`` rechecked on its newest version once locked, so an offer already
    answered, expired or withdrawn is never answered twice), then the agent's row is locked
    by its update; every write hangs on the claim's row, so nothing is written when the claim
    finds nothing. The stream event is built from the locked agent's row, so its id is drawn
    only once the agent's lock is held (one agent's stream ids commit in order). Lock order:
    task, offer, agent, as everywhere. On SQLite, the same writes one by one in the one
    writer's transaction.
    """
    offer_id, task_id = _param("offer_id", Reservation.id), _param("task_id", Task.id)
    agent_id = _param("agent_id", Agent.id)
    now = _param("now", Agent.last_assigned_at)
    claim = (
        update(Reservation)
        .where(
            Reservation.id == offer_id,
            Reservation.state == "pending",
            Reservation.expires_at > now,
        )
        .values(state="accepted", answered_at=now)
        .returning(Reservation.id, Reservation.agent_id, Reservation.task_id)
    )
    lock_agent = update(Agent).values(last_assigned_at=now, missed_offers=0).returning(Agent.id)
    assignment_columns = {
        "id": _param("assignment_id", Assignment.id),
        "task_id": task_id,
        "reservation_id": offer_id,
        "agent_id": agent_id,
        "queue_id": _param("queue_id", Assignment.queue_id),
        "channel": _param("channel", Assignment.channel),
        "assigned_at": now,
        "needs_translation": _param("needs_translation", Assignment.needs_translation),
    }
    outbox_columns = {
        name: _param(f"outbox_{name}", OutboxEvent.__table__.c[name]) for name in _OUTBOX_COLUMNS
    }
    event_columns = {
        "agent_id": agent_id,
        "type": _param("event_type", AgentEvent.type),
        "reservation_id": offer_id,
        "payload": _param("payload", AgentEvent.payload),
        "created_at": now,
    }
    assign_task = update(Task).values(
        state="assigned",
        assigned_at=now,
        agent_id=agent_id,
        needs_translation=_param("needs_translation", Task.needs_translation),
        route=_route_with(postgresql),
    )
    if not postgresql:
        return (
            claim.where(Reservation.task_id == task_id),
            lock_agent.where(Agent.id == agent_id),
            insert(AgentEvent).values(event_columns).returning(AgentEvent.id),
            insert(Assignment).values(assignment_columns).returning(Assignment.id),
            *([insert(OutboxEvent).values(outbox_columns).returning(OutboxEvent.id)] * outbox),
            assign_task.where(Task.id == task_id).returning(Task.id),
        )
    locked_task = select(Task.id).where(Task.id == task_id).with_for_update().cte("locked_task")
    claimed = claim.where(Reservation.task_id == locked_task.c.id).cte("claimed")
    agent = lock_agent.where(Agent.id == claimed.c.agent_id).cte("locked_agent")
    event = insert(AgentEvent).from_select(
        list(event_columns), select(agent.c.id, *list(event_columns.values())[1:])
    )
    ctes = [
        locked_task,
        claimed,
        agent,
        event.cte("agent_event"),
        insert(Assignment)
        .from_select(
            list(assignment_columns), select(*assignment_columns.values()).select_from(claimed)
        )
        .cte("assignment"),
    ]
    if outbox:
        ctes.append(
            insert(OutboxEvent)
            .from_select(
                list(outbox_columns), select(*outbox_columns.values()).select_from(claimed)
            )
            .cte("outbox_event")
        )
    statement = assign_task.where(Task.id == claimed.c.task_id).returning(Task.id).add_cte(*ctes)
    return (statement,)


async def _accept_connection(session: AsyncSession) -> tuple[AsyncConnection, bool]:
    """The session's connection, and whether it is PostgreSQL's. A PostgreSQL session not yet
    in a transaction gets its connection in autocommit: the accept is one statement, which is
    its own transaction, so no BEGIN and COMMIT round trips are spent on it."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql and not session.in_transaction():
        return await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"}), True
    return await session.connection(), postgresql


async def accept_offer(
    session: AsyncSession,
    *,
    offer_id: uuid.UUID,
    acting_agent_id: uuid.UUID | None,
    now: datetime,
) -> Reservation:
    """Assign the offered task to the agent and tell the inbox; raises OfferClosed once answered
    or expired, NotOwnAgent for another agent's offer, OfferNotFound. Returns a detached copy
    of the answered offer.

    Two round trips on PostgreSQL: the offer and its task read, then one statement that claims
    the offer and writes everything else (see ``_accept_statements``). The statements are
    built once and reused.
    """
    connection, postgresql = await _accept_connection(session)
    offered = (
        await connection.execute(_offered_statement(), _params({"offer_id": offer_id}))
    ).first()
    if offered is None:
        raise OfferNotFound(offer_id=offer_id)
    agent_id = offered.agent_id
    if acting_agent_id is not None and agent_id != acting_agent_id:
        raise NotOwnAgent()
    if offered.state != "pending":
        raise OfferClosed(state=offered.state)
    if offered.expires_at <= now:
        raise OfferClosed(state="expired")
    why: dict[str, Any] = offered.why
    needs_translation = bool(why.get("needs_translation", False))
    reservation = Reservation(
        id=offer_id,
        task_id=offered.task_id,
        agent_id=agent_id,
        queue_id=offered.queue_id,
        channel=offered.channel,
        state="accepted",
        offered_at=offered.offered_at,
        expires_at=offered.expires_at,
        answered_at=now,
        why=why,
    )
    params: dict[str, Any] = {
        "agent_id": agent_id,
        "now": now,
        "offer_id": offer_id,
        "task_id": offered.task_id,
        "assignment_id": uuid.uuid4(),
        "queue_id": offered.task_queue_id,
        "channel": offered.channel,
        "needs_translation": needs_translation,
        "why": why,
        "event_type": "assignment",
        "payload": offer_document(
            offer_id=offer_id,
            task_id=offered.task_id,
            conversation_id=offered.conversation_id,
            channel=offered.channel,
            language=offered.language,
            queue_id=offered.queue_id,
            offered_at=offered.offered_at,
            expires_at=offered.expires_at,
            why=why,
        ),
    }
    outbox = offered.task_queue_id is not None
    if outbox:
        event = ConversationAssigned(
            conversation_id=offered.conversation_id,
            task_id=offered.task_id,
            agent_id=agent_id,
            queue_id=offered.task_queue_id,
            needs_translation=needs_translation,
            assigned_at=now,
        )
        values = emitted_values(session, event)
        params.update({f"outbox_{name}": values[name] for name in _OUTBOX_COLUMNS})
    for statement in _accept_statements(postgresql, outbox):
        if (await connection.execute(statement, _params(params))).first() is None:
            # Only the claim (the first, or the only, statement) can find nothing.
            raise await _closed_offer(session, offer_id, acting_agent_id)
    metrics.offer_ended(session, channel=offered.channel, outcome="accepted")
    signals.notify_agents(session, [agent_id])
    return reservation


def _back_to_waiting(task: Task, reason: str) -> None:
    task.state, task.agent_id, task.offered_at, task.wait_reason = "waiting", None, None, reason


async def reject_offer(
    session: AsyncSession,
    *,
    offer_id: uuid.UUID,
    acting_agent_id: uuid.UUID | None,
    now: datetime,
) -> Reservation:
    """Decline an offer: the task goes to the next agent; raises like ``accept_offer``."""
    task, reservation, agent = await _answerable(session, offer_id, acting_agent_id, now)
    reservation.state, reservation.answered_at = "rejected", now
    metrics.offer_ended(session, channel=reservation.channel, outcome="rejected")
    _back_to_waiting(task, "offer_declined")
    payload = {**offer_payload(reservation, task), "reason": "rejected"}
    record_agent_events(session, now, [(agent.id, "offer.ended", payload)])
    signals.request_match(session)
    await session.flush()
    return reservation


async def expire_offers(
    session: AsyncSession, *, now: datetime, missed_limit: int, limit: int = 500
) -> int:
    """Expire due offers (tasks go back to waiting) and set away agents who missed too many."""
    stmt = (
        select(Task, Reservation)
        .join(Reservation, Reservation.task_id == Task.id)
        .where(Reservation.state == "pending", Reservation.expires_at <= now)
        .order_by(Reservation.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Task)
    )
    due = (await session.execute(stmt)).all()
    if not due:
        return 0
    missed = Counter(reservation.agent_id for _, reservation in due)
    agents = await lock_agents(session, missed)
    events: list[tuple[uuid.UUID, str, dict[str, Any]]] = []
    for task, reservation in due:
        reservation.state, reservation.answered_at = "expired", now
        metrics.offer_ended(session, channel=reservation.channel, outcome="expired")
        _back_to_waiting(task, "offer_expired")
        events.append(
            (
                reservation.agent_id,
                "offer.ended",
                {**offer_payload(reservation, task), "reason": "expired"},
            )
        )
    for agent_id, count in missed.items():
        agent = agents[agent_id]
        agent.missed_offers += count
        if agent.missed_offers >= missed_limit and agent.status == "available":
            _set_status(agent, "away", "missed_offers", now)
            events.append((agent_id, "status", {"status": "away", "reason": "missed_offers"}))
    record_agent_events(session, now, events)
    signals.request_match(session)
    await session.flush()
    return len(due)


def _set_status(agent: Agent, status: str, reason: str | None, now: datetime) -> None:
    agent.status, agent.away_reason, agent.status_changed_at = status, reason, now
    if status == "available":
        agent.idle_since, agent.wrap_up_until, agent.missed_offers = now, None, 0


async def rescind_offers(
    session: AsyncSession, *, agent_id: uuid.UUID, now: datetime, reason: str
) -> int:
    """Withdraw the agent's pending offers it no longer may take (status change); the agent's
    row must already be locked. Offers whose task is being answered right now are left."""
    stmt = (
        select(Task, Reservation)
        .join(Reservation, Reservation.task_id == Task.id)
        .where(Reservation.agent_id == agent_id, Reservation.state == "pending")
        .with_for_update(skip_locked=True, of=Task)
    )
    pending = (await session.execute(stmt)).all()
    for task, reservation in pending:
        reservation.state, reservation.answered_at = "canceled", now
        metrics.offer_ended(session, channel=reservation.channel, outcome="canceled")
        _back_to_waiting(task, "offer_rescinded")
    record_agent_events(
        session,
        now,
        [
            (agent_id, "offer.ended", {**offer_payload(reservation, task), "reason": reason})
            for task, reservation in pending
        ],
    )
    if pending:
        signals.request_match(session)
    await session.flush()
    return len(pending)


async def set_agent_status(
    session: AsyncSession, *, agent_id: uuid.UUID, status: str, reason: str | None, now: datetime
) -> Agent:
    """Change presence: offers are withdrawn when the agent stops being available, wrap-up ends
    when it says it is available (its wrapped-up tasks complete)."""
    agents = await lock_agents(session, [agent_id])
    agent = agents[agent_id]
    previous = agent.status
    if status == "available" and previous != "available":
        await session.execute(
            update(Task)
            .where(Task.agent_id == agent_id, Task.state == "wrap_up")
            .values(state="completed")
            .execution_options(synchronize_session=False)
        )
    _set_status(agent, status, reason if status == "away" else None, now)
    if status != "available" and previous == "available":
        await rescind_offers(session, agent_id=agent_id, now=now, reason="rescinded")
    record_agent_events(session, now, [(agent_id, "status", {"status": status, "reason": reason})])
    if status == "available":
        signals.request_match(session)
    await session.flush()
    return agent


async def _wrap_up_seconds(session: AsyncSession, queue_id: uuid.UUID | None) -> int:
    if queue_id is None:
        return 0
    return int(await session.scalar(select(Queue.wrap_up_seconds).where(Queue.id == queue_id)) or 0)


async def complete_task(
    session: AsyncSession,
    *,
    task_id: uuid.UUID,
    acting_agent_id: uuid.UUID | None,
    now: datetime,
    reason: str = "completed",
) -> Task:
    """End an assigned task: the agent wraps up for the queue's time, then is available again.

    Raises TaskNotFound, NotOwnAgent (another agent's task) or TaskNotAssigned.
    """
    task = await _lock_task(session, task_id)
    if acting_agent_id is not None and task.agent_id != acting_agent_id:
        raise NotOwnAgent()
    if task.state != "assigned" or task.agent_id is None:
        raise TaskNotAssigned(state=task.state)
    wrap_up = timedelta(seconds=await _wrap_up_seconds(session, task.queue_id))
    agent = (await lock_agents(session, [task.agent_id]))[task.agent_id]
    task.ended_at, task.end_reason = now, reason
    if wrap_up:
        task.state, task.wrap_up_until = "wrap_up", now + wrap_up
    else:
        task.state = "completed"
    await _end_assignment(session, task.id, now)
    events: list[tuple[uuid.UUID, str, dict[str, Any]]] = [
        (agent.id, "task.completed", {"task_id": str(task.id), "reason": reason})
    ]
    if wrap_up and agent.status == "available":
        agent.status, agent.status_changed_at = "wrap_up", now
        agent.wrap_up_until = max(agent.wrap_up_until or now, now + wrap_up)
        signals.sweep_at(session, agent.wrap_up_until)
        events.append((agent.id, "status", {"status": "wrap_up", "reason": None}))
    elif not wrap_up and agent.status == "available":
        agent.idle_since = now
    record_agent_events(session, now, events)
    signals.request_match(session)
    await session.flush()
    return task


async def _end_assignment(session: AsyncSession, task_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(Assignment)
        .where(Assignment.task_id == task_id, Assignment.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )


async def open_task_for(session: AsyncSession, conversation_id: uuid.UUID) -> Task | None:
    """The conversation's open task (waiting, offered or assigned), locked, or None."""
    stmt = (
        select(Task)
        .where(Task.conversation_id == conversation_id, Task.state.in_(OPEN_TASK_STATES))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await session.scalar(stmt)


async def cancel_task(session: AsyncSession, *, task: Task, reason: str, now: datetime) -> Task:
    """End an open task that no agent will handle; its offer or assignment is withdrawn."""
    events: list[tuple[uuid.UUID, str, dict[str, Any]]] = []
    if task.state == "offered":
        reservation = await _pending_offer(session, task.id)
        if reservation is not None:
            await lock_agents(session, [reservation.agent_id])
            reservation.state, reservation.answered_at = "canceled", now
            metrics.offer_ended(session, channel=reservation.channel, outcome="canceled")
            payload = {**offer_payload(reservation, task), "reason": "canceled"}
            events.append((reservation.agent_id, "offer.ended", payload))
    elif task.state == "assigned" and task.agent_id is not None:
        await lock_agents(session, [task.agent_id])
        await _end_assignment(session, task.id, now)
        payload = {"task_id": str(task.id), "conversation_id": str(task.conversation_id)}
        events.append((task.agent_id, "task.canceled", {**payload, "reason": reason}))
    task.state, task.ended_at, task.end_reason = "canceled", now, reason
    record_agent_events(session, now, events)
    signals.request_match(session)
    await session.flush()
    return task


async def resolve_conversation(
    session: AsyncSession, *, conversation_id: uuid.UUID, now: datetime
) -> Task | None:
    """The conversation ended: complete its assigned task, or cancel one still waiting."""
    task = await open_task_for(session, conversation_id)
    if task is None:
        return None
    if task.state == "assigned":
        return await complete_task(
            session, task_id=task.id, acting_agent_id=None, now=now, reason="resolved"
        )
    return await cancel_task(session, task=task, reason="resolved", now=now)


async def end_wrap_ups(session: AsyncSession, *, now: datetime) -> Sequence[uuid.UUID]:
    """Finish wrap-ups that are due: tasks complete, their agents become available."""
    await session.execute(
        update(Task)
        .where(Task.state == "wrap_up", Task.wrap_up_until <= now)
        .values(state="completed")
        .execution_options(synchronize_session=False)
    )
    stmt = (
        select(Agent)
        .where(Agent.status == "wrap_up", Agent.wrap_up_until <= now)
        .order_by(Agent.id)
        .with_for_update(skip_locked=True)
    )
    agents = (await session.scalars(stmt)).all()
    for agent in agents:
        _set_status(agent, "available", None, now)
    record_agent_events(
        session, now, [(a.id, "status", {"status": "available", "reason": None}) for a in agents]
    )
    if agents:
        signals.request_match(session)
    await session.flush()
    return [agent.id for agent in agents]
