"""Accepting an offer: the task is assigned, the agent's stream and the inbox are told.

On PostgreSQL an accept is one statement in its own transaction (one round trip): the task is
locked first (a ``FOR UPDATE`` common table expression the claim joins), then the offer is
claimed (``state = 'pending'`` rechecked on its newest version once locked, so an offer
already answered, expired or withdrawn is never answered twice), then the agent's row is
locked by its update. Every other write hangs on the claim's row, so nothing is written when
the claim finds nothing, and every value is taken from the rows themselves: the stream event's
document and the outbox event's payload are built in SQL, to the formats of
``offers.offer_document`` and ``ConversationAssigned`` (tests hold them equal). The stream
event is built from the locked agent's row, so its id is drawn only once the agent's lock is
held (one agent's stream ids commit in order). Lock order: task, offer, agent, as everywhere.

On SQLite, the offer is read, then the same writes go one by one in the one writer's
transaction.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import (
    Boolean,
    Text,
    bindparam,
    case,
    cast,
    false,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.routing import metrics, signals
from services.routing.engine.offers import closed_offer, offer_document
from services.routing.errors import OfferClosed, OfferNotFound, state_term
from services.routing.models import (
    Agent,
    AgentEvent,
    Assignment,
    OutboxEvent,
    Queue,
    Reservation,
    Task,
)
from shared.contracts.routing_events import ConversationAssigned
from shared.outbox import emitted_values, note_emitted

_OUTBOX_COLUMNS = (
    "id",
    "type",
    "payload",
    "occurred_at",
    "available_at",
    "attempts",
    "ordering_key",
)
_EVENT_COLUMNS = ("agent_id", "type", "reservation_id", "payload", "created_at")
_ASSIGNMENT_COLUMNS = (
    "id",
    "task_id",
    "reservation_id",
    "agent_id",
    "queue_id",
    "channel",
    "assigned_at",
    "needs_translation",
)
_JSON_TIME = TypeAdapter(datetime)


def _queue_name() -> Any:
    """The name of the task's queue, for ``ConversationAssigned.queue_name``."""
    return select(Queue.name).where(Queue.id == Task.queue_id).scalar_subquery()


#: The offer's columns an accept answers with (its task's follow).
_OFFER_COLUMNS = (
    Reservation.id,
    Reservation.task_id,
    Reservation.agent_id,
    Reservation.queue_id,
    Reservation.channel,
    Reservation.offered_at,
    Reservation.expires_at,
    Reservation.why,
)


@dataclass(frozen=True, slots=True)
class Accepted:
    """An accepted offer with its task's columns: what the agent is answered."""

    id: uuid.UUID
    task_id: uuid.UUID
    agent_id: uuid.UUID
    conversation_id: uuid.UUID
    channel: str
    language: str
    queue_id: uuid.UUID | None
    offered_at: datetime
    expires_at: datetime
    answered_at: datetime
    why: dict[str, Any]
    state: str = "accepted"


def _param(name: str, column: Any) -> Any:
    # Prefixed: a column's own name is reserved for SQLAlchemy's VALUES parameters.
    return bindparam(f"p_{name}", type_=column.type)


def _params(values: Mapping[str, Any]) -> dict[str, Any]:
    return {f"p_{name}": value for name, value in values.items()}


def iso_text(moment: Any) -> Any:
    """SQL for ``datetime.isoformat()`` of an aware timestamp in UTC (PostgreSQL)."""
    utc = func.timezone("UTC", moment)
    return case(
        (
            func.date_trunc("second", moment) == moment,
            func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
        ),
        else_=func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
    )


def _text(column: Any) -> Any:
    return cast(column, Text)


@functools.cache
def _accept_statement(own: bool) -> Any:
    """The whole accept on PostgreSQL (see the module); returns the claimed offer's row."""
    offer_id = _param("offer_id", Reservation.id)
    now = _param("now", Reservation.answered_at)
    locked_task = (
        select(
            Task.id,
            Task.conversation_id,
            Task.language,
            Task.queue_id.label("task_queue_id"),
            _queue_name().label("task_queue_name"),
        )
        .join(Reservation, Reservation.task_id == Task.id)
        .where(Reservation.id == offer_id)
        .with_for_update(of=Task)
        .cte("locked_task")
    )
    conditions = [
        Reservation.id == offer_id,
        Reservation.state == "pending",
        Reservation.expires_at > now,
        Reservation.task_id == locked_task.c.id,
    ]
    if own:
        conditions.append(Reservation.agent_id == _param("acting_agent_id", Reservation.agent_id))
    claimed = (
        update(Reservation)
        .where(*conditions)
        .values(state="accepted", answered_at=now)
        .returning(
            *_OFFER_COLUMNS,
            locked_task.c.conversation_id,
            locked_task.c.language,
            locked_task.c.task_queue_id,
            locked_task.c.task_queue_name,
        )
        .cte("claimed")
    )
    needs_translation = func.coalesce(
        cast(func.jsonb_extract_path_text(claimed.c.why, "needs_translation"), Boolean), false()
    )
    agent = (
        update(Agent)
        .where(Agent.id == claimed.c.agent_id)
        .values(last_assigned_at=now, missed_offers=0)
        .returning(Agent.id)
        .cte("locked_agent")
    )
    document = func.jsonb_build_object(
        "offer_id", _text(claimed.c.id),
        "task_id", _text(claimed.c.task_id),
        "conversation_id", _text(claimed.c.conversation_id),
        "channel", claimed.c.channel,
        "language", claimed.c.language,
        "queue_id", _text(claimed.c.queue_id),
        "offered_at", iso_text(claimed.c.offered_at),
        "expires_at", iso_text(claimed.c.expires_at),
        "needs_translation", needs_translation,
    )  # fmt: skip
    event = insert(AgentEvent).from_select(
        list(_EVENT_COLUMNS),
        select(agent.c.id, literal("assignment"), claimed.c.id, document, now).select_from(
            agent.join(claimed, claimed.c.agent_id == agent.c.id)
        ),
    )
    assignment = insert(Assignment).from_select(
        list(_ASSIGNMENT_COLUMNS),
        select(
            _param("assignment_id", Assignment.id),
            claimed.c.task_id,
            claimed.c.id,
            claimed.c.agent_id,
            claimed.c.task_queue_id,
            claimed.c.channel,
            now,
            needs_translation,
        ),
    )
    assigned = func.jsonb_build_object(
        "conversation_id", _text(claimed.c.conversation_id),
        "task_id", _text(claimed.c.task_id),
        "agent_id", _text(claimed.c.agent_id),
        "queue_id", _text(claimed.c.task_queue_id),
        "queue_name", claimed.c.task_queue_name,
        "needs_translation", needs_translation,
        "assigned_at", bindparam("p_assigned_at_json", type_=Text()),
    )  # fmt: skip
    outbox = insert(OutboxEvent).from_select(
        list(_OUTBOX_COLUMNS),
        select(
            _param("outbox_id", OutboxEvent.id),
            literal(ConversationAssigned.event_type),
            assigned,
            now,
            now,
            literal(0),
            _text(claimed.c.conversation_id),
        ).where(claimed.c.task_queue_id.is_not(None)),
    )
    return (
        update(Task)
        .where(Task.id == claimed.c.task_id)
        .values(
            state="assigned",
            assigned_at=now,
            agent_id=claimed.c.agent_id,
            needs_translation=needs_translation,
            route=Task.route.op("||")(func.jsonb_build_object("assignment", claimed.c.why)),
        )
        .returning(*claimed.c)
        .add_cte(
            locked_task,
            claimed,
            agent,
            event.cte("agent_event"),
            assignment.cte("assignment"),
            outbox.cte("outbox_event"),
        )
    )


@functools.cache
def _offered_statement() -> Any:
    """The offer with its task's columns (SQLite)."""
    return (
        select(
            *_OFFER_COLUMNS,
            Task.conversation_id,
            Task.language,
            Task.queue_id.label("task_queue_id"),
            _queue_name().label("task_queue_name"),
            Reservation.state,
        )
        .join(Task, Task.id == Reservation.task_id)
        .where(Reservation.id == _param("offer_id", Reservation.id))
    )


@functools.cache
def _sqlite_statements(outbox: bool) -> tuple[Any, ...]:
    """Claim the offer, lock the agent, write its stream event, the assignment (and the
    outbox event), assign the task; the claim returns a row only when the offer was pending."""
    offer_id, task_id = _param("offer_id", Reservation.id), _param("task_id", Task.id)
    agent_id = _param("agent_id", Agent.id)
    now = _param("now", Agent.last_assigned_at)
    why = _param("why", Task.route)
    needs_translation = _param("needs_translation", Task.needs_translation)
    statements = [
        update(Reservation)
        .where(
            Reservation.id == offer_id,
            Reservation.state == "pending",
            Reservation.expires_at > now,
        )
        .values(state="accepted", answered_at=now)
        .returning(Reservation.id),
        update(Agent).where(Agent.id == agent_id).values(last_assigned_at=now, missed_offers=0),
        insert(AgentEvent).values(
            agent_id=agent_id,
            type="assignment",
            reservation_id=offer_id,
            payload=_param("payload", AgentEvent.payload),
            created_at=now,
        ),
        insert(Assignment).values(
            id=_param("assignment_id", Assignment.id),
            task_id=task_id,
            reservation_id=offer_id,
            agent_id=agent_id,
            queue_id=_param("queue_id", Assignment.queue_id),
            channel=_param("channel", Assignment.channel),
            assigned_at=now,
            needs_translation=needs_translation,
        ),
    ]
    if outbox:
        columns = OutboxEvent.__table__.c
        statements.append(
            insert(OutboxEvent).values(
                {name: _param(f"outbox_{name}", columns[name]) for name in _OUTBOX_COLUMNS}
            )
        )
    statements.append(
        update(Task)
        .where(Task.id == task_id)
        .values(
            state="assigned",
            assigned_at=now,
            agent_id=agent_id,
            needs_translation=needs_translation,
            route=func.json_set(Task.route, "$.assignment", func.json(why)),
        )
    )
    return tuple(statements)


async def _connection(session: AsyncSession) -> tuple[AsyncConnection, bool]:
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
) -> Accepted:
    """Assign the offered task to the agent and tell the inbox; raises OfferClosed once answered
    or expired, OfferNotFound (for an agent, also another agent's offer)."""
    connection, postgresql = await _connection(session)
    if postgresql:
        params = {
            "offer_id": offer_id,
            "now": now,
            "acting_agent_id": acting_agent_id,
            "assignment_id": uuid.uuid4(),
            "outbox_id": uuid.uuid4(),
            "assigned_at_json": _JSON_TIME.dump_python(now, mode="json"),
        }
        statement = _accept_statement(acting_agent_id is not None)
        row = (await connection.execute(statement, _params(params))).first()
        if row is None:
            raise await closed_offer(session, offer_id, acting_agent_id)
        if row.task_queue_id is not None:
            note_emitted(session)
    else:
        row = await _accept_one_by_one(session, connection, offer_id, acting_agent_id, now)
    metrics.offer_ended(session, channel=row.channel, outcome="accepted")
    signals.notify_agents(session, [row.agent_id])
    return Accepted(
        id=row.id,
        task_id=row.task_id,
        agent_id=row.agent_id,
        conversation_id=row.conversation_id,
        channel=row.channel,
        language=row.language,
        queue_id=row.queue_id,
        offered_at=row.offered_at,
        expires_at=row.expires_at,
        answered_at=now,
        why=row.why,
    )


async def _accept_one_by_one(
    session: AsyncSession,
    connection: AsyncConnection,
    offer_id: uuid.UUID,
    acting_agent_id: uuid.UUID | None,
    now: datetime,
) -> Any:
    """SQLite's accept: the offer read, checked, then claimed and the rest written."""
    offered = (
        await connection.execute(_offered_statement(), _params({"offer_id": offer_id}))
    ).first()
    if offered is None or (acting_agent_id is not None and offered.agent_id != acting_agent_id):
        raise OfferNotFound(offer_id=offer_id)
    if offered.state != "pending":
        raise OfferClosed(state=state_term(offered.state))
    needs_translation = bool(offered.why.get("needs_translation", False))
    params: dict[str, Any] = {
        "agent_id": offered.agent_id,
        "now": now,
        "offer_id": offer_id,
        "task_id": offered.task_id,
        "assignment_id": uuid.uuid4(),
        "queue_id": offered.task_queue_id,
        "channel": offered.channel,
        "needs_translation": needs_translation,
        "why": offered.why,
        "payload": offer_document(
            offer_id=offer_id,
            task_id=offered.task_id,
            conversation_id=offered.conversation_id,
            channel=offered.channel,
            language=offered.language,
            queue_id=offered.queue_id,
            offered_at=offered.offered_at,
            expires_at=offered.expires_at,
            why=offered.why,
        ),
    }
    outbox = offered.task_queue_id is not None
    if outbox:
        event = ConversationAssigned(
            conversation_id=offered.conversation_id,
            task_id=offered.task_id,
            agent_id=offered.agent_id,
            queue_id=offered.task_queue_id,
            queue_name=offered.task_queue_name,
            needs_translation=needs_translation,
            assigned_at=now,
        )
        values = emitted_values(session, event)
        params.update({f"outbox_{name}": values[name] for name in _OUTBOX_COLUMNS})
    claim, *rest = _sqlite_statements(outbox)
    if (await connection.execute(claim, _params(params))).first() is None:
        raise await closed_offer(session, offer_id, acting_agent_id)
    for statement in rest:
        await connection.execute(statement, _params(params))
    return offered
