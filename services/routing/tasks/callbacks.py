"""Callbacks: scheduling one, following its call to the end, and reading them as supervisors
and agents may, one or a page.

A callback is ``scheduled`` until it falls due, then ``queued``: its call is a phone task (or
the conversation's call already open). A callback is a promise to phone the customer, so it
never rides on an email or a fax: one that falls due while its conversation's open task is
written waits, ``queued`` without a task, until that task ends, then gets its own phone task.
When its call's task is completed (the agent who took the call finished it, or the conversation
was resolved after) the callback is ``completed``; when it ends with no one having taken it, or
the inbox no longer wants it, ``canceled``. A transfer or an escalation hands the call on to a
new task, which the callback then follows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import signals
from services.routing.engine import intake
from services.routing.errors import CallbackConversationNotFound, CallbackNotFound
from services.routing.models import OPEN_TASK_STATES, Agent, Callback, Reservation, Task
from services.routing.tasks.schemas import CallbackCreate, CallbackRead
from shared.cursors import decode_cursor, encode_cursor
from shared.errors import FieldError, InvalidInput

#: The reason a callback's unknown agent is refused (the inbox says the same of transfers).
REASON_NO_AGENT = "No agent has this id."
#: The reason a callback for a conversation the inbox does not have is refused.
REASON_NO_CONVERSATION = "The inbox has no conversation with this id."
#: A callback's final states.
ENDED = frozenset({"completed", "canceled"})
#: Task states of a call that was taken and finished (wrap-up follows a finished call).
_FINISHED = frozenset({"wrap_up", "completed"})
#: Task end reasons that hand the call on to a new task rather than end it.
_HANDED_ON = frozenset({"transferred", "escalated"})


@dataclass(frozen=True, kw_only=True, slots=True)
class CallbackFilter:
    """What a list of callbacks is narrowed to; None leaves a criterion out."""

    state: str | None = None
    queue_id: uuid.UUID | None = None
    language: str | None = None
    agent_id: uuid.UUID | None = None
    due_after: datetime | None = None
    due_before: datetime | None = None


def callback_read(
    callback: Callback, queue_id: uuid.UUID | None, task_ended_at: datetime | None = None
) -> CallbackRead:
    """The API view of a callback, with the queue its call went to (None until due) and, once
    the callback is completed or canceled, when its call's task ended."""
    fields = {n: getattr(callback, n) for n in CallbackRead.model_fields if hasattr(callback, n)}
    ended_at = task_ended_at if callback.state in ENDED else None
    return CallbackRead.model_validate({**fields, "queue_id": queue_id, "ended_at": ended_at})


def visible_to_agent(agent_id: uuid.UUID) -> ColumnElement[bool]:
    """The callbacks an agent may read: those it is to make, those it asked for (for itself or
    another agent) and those whose call was offered to it, whatever became of the offer, also
    when the call went on to another task (transferred or escalated)."""
    offered = select(Reservation.task_id).where(Reservation.agent_id == agent_id)
    calls = (
        select(Task.callback_id)
        .join(Reservation, Reservation.task_id == Task.id)
        .where(Reservation.agent_id == agent_id, Task.callback_id.is_not(None))
    )
    return or_(
        Callback.agent_id == agent_id,
        Callback.requested_by_agent_id == agent_id,
        Callback.task_id.in_(offered),
        Callback.id.in_(calls),
    )


def _with_queue() -> Select[Callback, uuid.UUID | None, datetime | None]:
    return select(Callback, Task.queue_id, Task.ended_at).outerjoin(
        Task, Task.id == Callback.task_id
    )


def _outcome(task: Task) -> str | None:
    """What a callback whose call is ``task`` becomes: ``completed`` or ``canceled`` once the
    task ended for good, None while it is open or was handed on to another task."""
    if task.state in _FINISHED:
        return "completed"
    if task.state == "canceled" and task.end_reason not in _HANDED_ON:
        return "canceled"
    return None


async def follow_task(session: AsyncSession, task: Task, *, sticky: timedelta) -> None:
    """Keep the callbacks whose call ``task`` is in step with it: completed or canceled when it
    ended, moved onto it when it took over a transferred or escalated call. Callbacks already
    completed or canceled stay so.

    Once ``task`` ended, the conversation's due callbacks that waited for it (it was an email
    or a fax) get their call; so do any that rode on a written task before callbacks waited,
    for finishing an email is not making the call. ``sticky`` is the engine's stickiness."""
    outcome = _outcome(task)
    requeue = task.route.get("requeue") or {}
    if outcome is not None and task.channel != "phone":
        mine = [Callback.task_id == task.id]
        values: dict[str, Any] = {"task_id": None}
    elif outcome is not None:
        # A callback follows its task id; a transferred call's new task also carries its id.
        mine = [Callback.task_id == task.id]
        if task.callback_id is not None:
            mine.append(Callback.id == task.callback_id)
        values = {"state": outcome, "task_id": task.id}
    elif task.state in OPEN_TASK_STATES and "from_task_id" in requeue:
        mine = [Callback.task_id == uuid.UUID(str(requeue["from_task_id"]))]
        values = {"task_id": task.id}
    else:
        mine = []
    if mine:
        await session.execute(
            update(Callback)
            .where(Callback.state == "queued", or_(*mine))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    if task.state not in OPEN_TASK_STATES and task.ended_at is not None:
        await intake.release_waiting_callbacks(
            session, conversation_id=task.conversation_id, now=task.ended_at, sticky=sticky
        )


async def create_callback(
    session: AsyncSession,
    *,
    data: CallbackCreate,
    acting_agent_id: uuid.UUID | None,
    conversation_known: bool,
    now: datetime,
) -> Callback:
    """Schedule a follow-up call; an agent's own callback goes first to that agent. Its agent
    (given, or the caller's own) must be one routing knows: InvalidInput on ``agent_id``.
    ``conversation_known`` says whether the inbox has the conversation (the caller asked it):
    CallbackConversationNotFound on ``conversation_id`` when not, with the agent's refusal too.
    The calling agent is kept as the one who asked, so it may read the callback later."""
    agent_id = data.agent_id or acting_agent_id
    errors = []
    if not conversation_known:
        errors.append(
            FieldError("conversation_id", "conversation_not_found", REASON_NO_CONVERSATION)
        )
    if agent_id is not None and await session.get(Agent, agent_id) is None:
        errors.append(FieldError("agent_id", "agent_not_found", REASON_NO_AGENT))
    if not conversation_known:
        raise CallbackConversationNotFound(conversation_id=str(data.conversation_id), errors=errors)
    if errors:
        raise InvalidInput(errors=errors)
    callback = Callback(
        id=uuid.uuid4(),
        conversation_id=data.conversation_id,
        contact_id=data.contact_id,
        agent_id=agent_id,
        requested_by_agent_id=acting_agent_id,
        language=data.language,
        skills=dict(data.skills),
        priority=data.priority,
        note=data.note,
        phone=data.phone,
        due_at=data.due_at,
        state="scheduled",
        created_at=now,
    )
    session.add(callback)
    signals.request_match(session)
    await session.flush()
    return callback


async def get_callback(
    session: AsyncSession, callback_id: uuid.UUID, *, acting_agent_id: uuid.UUID | None
) -> CallbackRead:
    """The callback; raises CallbackNotFound, for an agent also when it is not one the agent may
    read (``visible_to_agent``): the same answer, so that an agent cannot tell another agent's
    callback from an id that does not exist."""
    stmt = _with_queue().where(Callback.id == callback_id)
    if acting_agent_id is not None:
        stmt = stmt.where(visible_to_agent(acting_agent_id))
    row = (await session.execute(stmt.execution_options(populate_existing=True))).first()
    if row is None:
        raise CallbackNotFound(callback_id=callback_id)
    callback, queue_id, ended_at = row
    return callback_read(callback, queue_id, ended_at)


def _after(cursor: str) -> ColumnElement[bool]:
    """The callbacks after the cursor's position, soonest due first."""
    at, last = decode_cursor(cursor)  # an instant in UTC, or InvalidCursor
    return or_(Callback.due_at > at, and_(Callback.due_at == at, Callback.id > last))


async def list_callbacks(
    session: AsyncSession,
    *,
    filters: CallbackFilter,
    acting_agent_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[CallbackRead], str | None]:
    """One page of callbacks, soonest due first, and the next page's cursor; an agent's page
    holds only the callbacks it may read. Raises InvalidCursor."""
    stmt = _with_queue()
    conditions: list[Any] = []
    if filters.state is not None:
        conditions.append(Callback.state == filters.state)
    if filters.queue_id is not None:
        conditions.append(Task.queue_id == filters.queue_id)
    if filters.language is not None:
        conditions.append(Callback.language == filters.language)
    if filters.agent_id is not None:
        conditions.append(Callback.agent_id == filters.agent_id)
    if filters.due_after is not None:
        conditions.append(Callback.due_at >= filters.due_after)
    if filters.due_before is not None:
        conditions.append(Callback.due_at < filters.due_before)
    if acting_agent_id is not None:
        conditions.append(visible_to_agent(acting_agent_id))
    if cursor:
        conditions.append(_after(cursor))
    stmt = stmt.where(*conditions).order_by(Callback.due_at, Callback.id).limit(limit + 1)
    rows = (await session.execute(stmt)).all()
    page = [
        callback_read(callback, queue_id, ended_at) for callback, queue_id, ended_at in rows[:limit]
    ]
    last = page[-1] if len(rows) > limit else None
    return page, encode_cursor(last.due_at, last.id) if last else None
