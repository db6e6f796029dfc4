"""Tasks as people read them (state, offers, why, why still waiting), and offers."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.routing.engine import offers
from services.routing.engine.accept import accept_offer
from services.routing.engine.catalog import load_catalog
from services.routing.engine.eligibility import eligible
from services.routing.engine.matcher import handed_over_by
from services.routing.engine.model import Channel
from services.routing.engine.snapshots import agent_snapshot, task_snapshot
from services.routing.engine.translation_check import (
    TranslationCheck,
    as_applied,
    holds_translation,
)
from services.routing.engine.widening import next_step_due
from services.routing.errors import (
    AgentNotFound,
    OfferClosed,
    TaskNotFound,
    state_term,
)
from services.routing.models import Agent, Queue, Reservation, Task
from services.routing.queues.hours import is_open
from services.routing.tasks.schemas import (
    OfferRead,
    Refusal,
    TaskRead,
    TaskSummary,
    WaitRead,
)
from services.routing.workload import agent_loads
from shared.cursors import after_cursor, encode_cursor
from shared.i18n import Term
from shared.terms import language_name

#: English texts of wait reasons and refusal codes; the French ones are in the catalog.
WAIT_TEXTS = {
    "no_queue": "No queue rule matches this task.",
    "queue_closed": "The queue is closed (outside business hours or on a holiday).",
    "waiting_for_agent": "Waiting for the next routing pass.",
    "no_agent_available": "No agent is available with spare capacity on this channel.",
    "no_eligible_agent": "Agents are available, but none may take this task yet.",
    "offer_declined": "The last offer was declined; the task goes to the next agent.",
    "offer_expired": "The last offer expired; the task goes to the next agent.",
    "offer_rescinded": "The last offer was withdrawn; the task goes to the next agent.",
    "transfer_agent_unavailable": "The task was transferred to an agent who may not "
    "take it now; it waits in its queue.",
}
REFUSAL_TEXTS = {
    "channel_not_served": "The queue does not serve the {subject} channel.",
    "language_not_served": "The queue does not take tasks {subject}.",
    "not_available": "The agent is not available ({subject}).",
    "declined": "The agent already declined or missed this task.",
    "tier": "The queue does not take agents of tier {subject}.",
    "stream_disconnected": "The agent's event stream is not connected, so it cannot see calls.",
    "no_capacity": "The agent has no spare capacity on the {subject} channel.",
    "on_call": "The agent is on a call.",
    "holding_written": "The agent holds written work, which the queue does not mix with calls.",
    "language": "The agent does not speak {subject} at the required level.",
    "skill_missing": "The agent lacks the skill {subject}.",
    "skill_level": "The agent's level in {subject} is below the requirement.",
}
Translate = Callable[[str, Mapping[str, object]], str]

#: Refusals whose subject is a channel: a word the catalogs translate.
_CHANNEL_SUBJECTS = frozenset({"channel_not_served", "no_capacity"})
#: A task's language in "does not take tasks …" (French: « en français », « dans une langue
#: indéterminée »); in "does not speak …", an undetermined language needs both.
_TASKS_IN = {
    "en": "in English",
    "fr": "in French",
    "und": "in an undetermined language",
}
_SPOKEN = {"und": "both English and French"}


def _subject(code: str, subject: str | None) -> object:
    """A refusal's subject as its text reads it: channels, statuses and languages in words; a
    skill or tier as named. The ``subject`` field itself keeps the code."""
    if subject is None:
        return ""
    if code in _CHANNEL_SUBJECTS:
        return Term(subject)
    if code == "not_available":
        return state_term(subject)
    if code == "language_not_served":
        return Term(_TASKS_IN.get(subject, f"in {subject}"))
    if code == "language":
        return Term(_SPOKEN[subject]) if subject in _SPOKEN else language_name(subject)
    return subject


def offer_read(reservation: Reservation, task: Task) -> OfferRead:
    """The API view of an offer."""
    return OfferRead(
        id=reservation.id,
        task_id=task.id,
        agent_id=reservation.agent_id,
        conversation_id=task.conversation_id,
        channel=task.channel,
        language=task.language,
        queue_id=reservation.queue_id,
        state=reservation.state,
        offered_at=reservation.offered_at,
        expires_at=reservation.expires_at,
        answered_at=reservation.answered_at,
        why=reservation.why,
    )


async def get_task(session: AsyncSession, task_id: uuid.UUID) -> Task:
    """The task; raises TaskNotFound."""
    task = await session.get(Task, task_id, populate_existing=True)
    if task is None:
        raise TaskNotFound(task_id=task_id)
    return task


async def explain_wait(
    session: AsyncSession,
    task: Task,
    *,
    now: datetime,
    stale_after: timedelta,
    translate: Translate,
    machine_translation: bool,
) -> WaitRead:
    """Why the task waits now: its queue's hours, every agent's refusals, the next widening,
    judged as the engine judges them (without the other-language step while machine
    translation is off)."""
    catalog = await load_catalog(session)
    configured = catalog.queues.get(task.queue_id) if task.queue_id else None
    queue = (
        as_applied(configured, machine_translation=machine_translation)
        if configured is not None
        else None
    )
    waited = now - task.queued_at
    # A task queued by a replica whose clock runs ahead has not waited yet.
    waited_seconds = max(waited.total_seconds(), 0.0)
    reason = task.wait_reason or "waiting_for_agent"
    if queue is None:
        reason = "no_queue"
        return WaitRead(
            reason=reason,
            text=translate(WAIT_TEXTS[reason], {}),
            queue_open=False,
            waited_seconds=waited_seconds,
            next_widening_in_seconds=None,
            refusals=[],
            translation_held_back=False,
        )
    open_now = is_open(queue.hours, now)
    if not open_now:
        reason = "queue_closed"
    rows = (
        await session.scalars(
            select(Agent)
            .where(Agent.status != "offline")
            .options(selectinload(Agent.languages), selectinload(Agent.skills))
        )
    ).all()
    loads = await agent_loads(session, [row.id for row in rows])
    declined = await session.scalars(
        select(Reservation.agent_id).where(
            Reservation.task_id == task.id,
            Reservation.state.in_(("rejected", "expired", "canceled")),
        )
    )
    # As the engine counts them: the agent who handed the task on, too.
    snapshot = task_snapshot(task, declined={*declined, *handed_over_by(task)})
    counts: Counter[tuple[str, str | None]] = Counter()
    for row in rows:
        agent = agent_snapshot(
            row,
            languages={item.language: item.level for item in row.languages},
            skills={item.skill: item.level for item in row.skills},
            load={Channel(c): n for c, n in loads.get(row.id, {}).items()},
            now=now,
            stale_after=stale_after,
        )
        for refusal in eligible(agent, snapshot, queue, waited=waited).reasons:
            counts[(str(refusal.code), refusal.subject)] += 1
    due = next_step_due(queue, snapshot.channel, waited)
    return WaitRead(
        reason=reason,
        text=translate(WAIT_TEXTS.get(reason, reason), {}),
        queue_open=open_now,
        waited_seconds=waited_seconds,
        next_widening_in_seconds=due.total_seconds() if due is not None else None,
        translation_held_back=configured is not None
        and holds_translation(configured)
        and not machine_translation,
        refusals=[
            Refusal(
                code=code,
                subject=subject,
                agents=count,
                text=translate(REFUSAL_TEXTS.get(code, code), {"subject": _subject(code, subject)}),
            )
            for (code, subject), count in counts.most_common()
        ],
    )


async def task_view(
    session: AsyncSession,
    *,
    task_id: uuid.UUID,
    acting_agent_id: uuid.UUID | None,
    now: datetime,
    stale_after: timedelta,
    translate: Translate,
    translation: TranslationCheck,
) -> TaskRead:
    """The task with its offers and why; raises TaskNotFound, for an agent also when the task
    was never offered to it: the same answer as for an id that does not exist."""
    task = await get_task(session, task_id)
    made = (
        await session.scalars(
            select(Reservation)
            .where(Reservation.task_id == task_id)
            .order_by(Reservation.offered_at, Reservation.id)
        )
    ).all()
    if acting_agent_id is not None and acting_agent_id not in {r.agent_id for r in made}:
        raise TaskNotFound(task_id=task_id)
    wait = None
    if task.state == "waiting":
        wait = await explain_wait(
            session,
            task,
            now=now,
            stale_after=stale_after,
            translate=translate,
            machine_translation=await translation.available(),
        )
    fields = {name: getattr(task, name) for name in TaskRead.model_fields if hasattr(task, name)}
    fields.update(offers=[offer_read(r, task) for r in made], wait=wait)
    return TaskRead.model_validate(fields)


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskFilter:
    """What a list of tasks is narrowed to; None leaves a criterion out."""

    conversation_id: uuid.UUID | None = None
    state: str | None = None
    queue_id: uuid.UUID | None = None
    channel: str | None = None
    language: str | None = None


def _offered_to(agent_id: uuid.UUID) -> ColumnElement[bool]:
    """The tasks offered to the agent, whatever became of the offer: those ``task_view`` shows
    it."""
    return Task.id.in_(select(Reservation.task_id).where(Reservation.agent_id == agent_id))


async def list_tasks(
    session: AsyncSession,
    *,
    filters: TaskFilter,
    acting_agent_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[TaskSummary], str | None]:
    """One page of tasks, most recently queued first, and the next page's cursor; an agent's
    page holds only the tasks offered to it. Raises InvalidCursor."""
    conditions: list[Any] = []
    if filters.conversation_id is not None:
        conditions.append(Task.conversation_id == filters.conversation_id)
    if filters.state is not None:
        conditions.append(Task.state == filters.state)
    if filters.queue_id is not None:
        conditions.append(Task.queue_id == filters.queue_id)
    if filters.channel is not None:
        conditions.append(Task.channel == filters.channel)
    if filters.language is not None:
        conditions.append(Task.language == filters.language)
    if acting_agent_id is not None:
        conditions.append(_offered_to(acting_agent_id))
    if cursor:
        conditions.append(after_cursor(cursor, Task.queued_at, Task.id))
    stmt = (
        select(Task, Queue.name)
        .outerjoin(Queue, Queue.id == Task.queue_id)
        .where(*conditions)
        .order_by(Task.queued_at.desc(), Task.id.desc())
        .limit(limit + 1)
        .execution_options(populate_existing=True)
    )
    rows = (await session.execute(stmt)).all()
    page = [_summary(task, queue_name) for task, queue_name in rows[:limit]]
    last = page[-1] if len(rows) > limit else None
    return page, encode_cursor(last.queued_at, last.id) if last else None


def _summary(task: Task, queue_name: str | None) -> TaskSummary:
    fields = {n: getattr(task, n) for n in TaskSummary.model_fields if hasattr(task, n)}
    return TaskSummary.model_validate({**fields, "queue_name": queue_name})


async def list_offers(
    session: AsyncSession, *, agent_id: uuid.UUID, state: str | None
) -> list[OfferRead]:
    """The agent's offers, newest first, optionally in one state; raises AgentNotFound."""
    if await session.get(Agent, agent_id) is None:
        raise AgentNotFound(agent_id=agent_id)
    stmt = (
        select(Reservation, Task)
        .join(Task, Task.id == Reservation.task_id)
        .where(Reservation.agent_id == agent_id)
        .order_by(Reservation.offered_at.desc(), Reservation.id)
        .limit(200)
    )
    if state is not None:
        stmt = stmt.where(Reservation.state == state)
    return [offer_read(r, t) for r, t in (await session.execute(stmt)).all()]


async def answer_offer(
    session: AsyncSession,
    *,
    offer_id: uuid.UUID,
    accept: bool,
    acting_agent_id: uuid.UUID | None,
    now: datetime,
) -> OfferRead:
    """Accept or reject an offer; see ``engine.accept`` and ``engine.offers`` for the errors.

    The same answer again (a double-click, a retry after a lost response) answers the offer as
    it stands; only the other answer to an answered offer is OfferClosed."""
    try:
        if accept:
            accepted = await accept_offer(
                session, offer_id=offer_id, acting_agent_id=acting_agent_id, now=now
            )
            return OfferRead(**asdict(accepted))
        reservation = await offers.reject_offer(
            session, offer_id=offer_id, acting_agent_id=acting_agent_id, now=now
        )
    except OfferClosed:
        answered = await session.get(Reservation, offer_id, populate_existing=True)
        if answered is None or answered.state != ("accepted" if accept else "rejected"):
            raise
        reservation = answered
    return offer_read(reservation, await get_task(session, reservation.task_id))
