"""Offers and the task lifecycle after them: reject, expire, rescind, complete, cancel (accept
has its own module, ``accept``).

Lock order, everywhere but the matcher: task, then reservation, then agent. The matcher takes
agents and tasks with SKIP LOCKED and never waits, so no cycle can form. An agent's stream
events are written after its row is locked, so one agent's event ids commit in order.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import metrics, signals
from services.routing.errors import (
    OfferClosed,
    OfferNotFound,
    TaskNotAssigned,
    TaskNotFound,
    TaskNotHeld,
    state_term,
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
from shared.contracts.routing_events import ConversationReleased
from shared.errors import AppError
from shared.outbox import emit

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
    # Another agent's offer is not found either: an agent cannot tell it from an unknown id.
    if found is None or (acting_agent_id is not None and found.agent_id != acting_agent_id):
        raise OfferNotFound(offer_id=offer_id)
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
        raise OfferClosed(state=state_term(reservation.state))
    if reservation.expires_at <= now:
        raise OfferClosed(state=state_term("expired"))
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


async def closed_offer(
    session: AsyncSession, offer_id: uuid.UUID, acting_agent_id: uuid.UUID | None
) -> AppError:
    """Why an offer could not be answered (read after the claim found nothing to change)."""
    found = await session.get(Reservation, offer_id, populate_existing=True)
    if found is None or (acting_agent_id is not None and found.agent_id != acting_agent_id):
        return OfferNotFound(offer_id=offer_id)
    return OfferClosed(state=state_term(found.state if found.state != "pending" else "expired"))


def _back_to_waiting(task: Task, reason: str) -> None:
    task.state, task.agent_id, task.offered_at, task.wait_reason = "waiting", None, None, reason


async def reject_offer(
    session: AsyncSession,
    *,
    offer_id: uuid.UUID,
    acting_agent_id: uuid.UUID | None,
    now: datetime,
) -> Reservation:
    """Decline an offer: the task goes to the next agent; raises like ``accept.accept_offer``."""
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
    session: AsyncSession,
    *,
    agent_id: uuid.UUID,
    now: datetime,
    reason: str,
    offer_ids: Collection[uuid.UUID] | None = None,
) -> int:
    """Withdraw the agent's pending offers it no longer may take (status change; only
    ``offer_ids`` when given); the agent's row must already be locked. Offers whose task is
    being answered right now are left."""
    stmt = (
        select(Task, Reservation)
        .join(Reservation, Reservation.task_id == Task.id)
        .where(Reservation.agent_id == agent_id, Reservation.state == "pending")
        .with_for_update(skip_locked=True, of=Task)
    )
    if offer_ids is not None:
        if not offer_ids:
            return 0
        stmt = stmt.where(Reservation.id.in_(list(offer_ids)))
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
    The inbox is told (``conversation.released``) in the same transaction, so that it stops
    showing the conversation assigned and asks for an agent when the customer writes next.

    Raises TaskNotFound (for an agent, also a task never offered to it, as when reading it),
    TaskNotHeld (a task offered to the agent but held by another) or TaskNotAssigned.
    """
    task = await _lock_task(session, task_id)
    if acting_agent_id is not None and task.agent_id != acting_agent_id:
        offered = await session.scalar(
            select(Reservation.id)
            .where(Reservation.task_id == task_id, Reservation.agent_id == acting_agent_id)
            .limit(1)
        )
        if offered is None:
            raise TaskNotFound(task_id=task_id)
        raise TaskNotHeld()
    if task.state != "assigned" or task.agent_id is None:
        raise TaskNotAssigned(state=state_term(task.state))
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
    # Also after a resolve: an assignment the inbox heard of after it resolved would
    # otherwise read assigned for good.
    emit(
        session,
        OutboxEvent,
        ConversationReleased(
            conversation_id=task.conversation_id,
            task_id=task.id,
            agent_id=agent.id,
            reason=reason,
            released_at=now,
        ),
    )
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


def ended_by_inbox(task: Task, *, reason: str, asked_at: datetime) -> None:
    """Record on a task the inbox ended (resolved, canceled) when the inbox asked, in the
    inbox's time: a transfer or an escalation asked before that is stale for it, one asked
    after is not (``requeue``), however late routing applied either."""
    moment = asked_at if asked_at.tzinfo is not None else asked_at.replace(tzinfo=UTC)
    task.route = {**task.route, "ended_by": {"kind": reason, "asked_at": moment.isoformat()}}


async def resolve_conversation(
    session: AsyncSession,
    *,
    conversation_id: uuid.UUID,
    now: datetime,
    asked_at: datetime | None = None,
) -> Task | None:
    """The conversation ended: complete its assigned task, or cancel one still waiting.
    ``asked_at``: when the inbox resolved it, recorded on the task (``ended_by_inbox``)."""
    task = await open_task_for(session, conversation_id)
    if task is None:
        return None
    if task.state == "assigned":
        task = await complete_task(
            session, task_id=task.id, acting_agent_id=None, now=now, reason="resolved"
        )
    else:
        task = await cancel_task(session, task=task, reason="resolved", now=now)
    if asked_at is not None:
        ended_by_inbox(task, reason="resolved", asked_at=asked_at)
    return task


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
