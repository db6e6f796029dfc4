"""What agents do to a conversation: each action one transaction, recorded in the timeline."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.inbox.conversations import service as conversations
from services.inbox.errors import (
    ConversationChanged,
    ConversationClosed,
    ConversationNotFound,
    EscalationNoTierQueue,
    NoPhoneNumber,
    TransferAgentNotFound,
    TransferAgentNotSuitable,
    TransferQueueNotFound,
    TransferQueueNotSuitable,
    UnknownDisposition,
)
from services.inbox.models import (
    ContactIdentity,
    Conversation,
    ConversationTag,
    Disposition,
    Note,
    OutboxEvent,
    TimelineEntry,
)
from services.inbox.workspace.dispositions import DEFAULT_DISPOSITIONS
from shared.clients.routing import RoutingClient
from shared.contracts.inbox_events import (
    CallbackRequested,
    ConversationEscalated,
    ConversationNeedsAgent,
    ConversationResolved,
    ConversationTransferred,
)
from shared.contracts.routing import HandoverQuery
from shared.errors import FieldError, InvalidInput
from shared.outbox import emit

STATUSES = ("open", "pending", "snoozed", "resolved", "closed")
#: Routing statuses in which routing holds a task of the conversation (waiting or held).
ROUTED = ("needs_agent", "queued", "assigned")
#: Statuses in which a conversation is done with.
ENDED = ("resolved", "closed")
REASON_FUTURE = "Must be in the future."
REASON_SNOOZE_UNTIL = "Required to snooze the conversation."
REASON_NO_AGENT = "No agent has this id."
REASON_NO_DISPOSITION = "Not an active wrap-up code."
REASON_NO_QUEUE = "No queue has this id."
REASON_QUEUE_NOT_SUITABLE = "This queue does not take the conversation's channel or language."
REASON_AGENT_NOT_SUITABLE = "The agent may not take this conversation in this queue."
#: Why an agent may never take a transfer, by routing's refusal code.
AGENT_REFUSALS = {
    "language": "The agent does not speak the conversation's language at the required level.",
    "skill_missing": "The agent lacks a skill the queue requires.",
    "skill_level": "The agent's level in a skill the queue requires is too low.",
    "tier": "The queue does not take agents of this agent's tier.",
    "no_capacity": "The agent takes no contacts on this channel.",
}


@dataclass(frozen=True)
class Actor:
    """Who acts: their role, a name for the timeline, and the agent they are, if one."""

    role: str
    name: str
    agent_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ScheduledCallback:
    """A callback asked of routing: its id there and the number it will call."""

    id: uuid.UUID
    phone: str


def summary(conversation: Conversation) -> dict[str, Any]:
    """The conversation's current state, as sent back with a 409."""
    return {
        "id": str(conversation.id),
        "version": conversation.version,
        "status": conversation.status,
        "routing_status": conversation.routing_status,
        "assignee_agent_id": str(conversation.assignee_agent_id)
        if conversation.assignee_agent_id
        else None,
        "updated_at": conversation.updated_at.isoformat(),
    }


async def lock_conversation(session: AsyncSession, conversation_id: uuid.UUID) -> Conversation:
    """The conversation locked for this transaction, read afresh; raises ConversationNotFound."""
    conversation = await session.scalar(
        select(Conversation)
        .where(Conversation.id == conversation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if conversation is None:
        raise ConversationNotFound(conversation_id=str(conversation_id))
    return conversation


def ensure_not_ended_meanwhile(conversation: Conversation, *, status: str, version: int) -> None:
    """Refuse (ConversationChanged, 409) a transfer or an escalation of a conversation that
    was resolved while the request was under way: read open as ``status`` at ``version``
    when the request began, it is resolved once locked. Whoever asked did not know it was
    resolved (they may ask again, knowing: a resolved conversation is then reopened)."""
    if status in ENDED or conversation.status not in ENDED:
        return
    error = ConversationChanged(expected=version, current_version=conversation.version)
    error.extensions["current"] = summary(conversation)
    raise error


def ensure_actionable(
    conversation: Conversation, *, expected_version: int | None, allow_closed: bool = False
) -> None:
    """Refuse a stale version (ConversationChanged) or a closed conversation."""
    if expected_version is not None and conversation.version != expected_version:
        error = ConversationChanged(expected=expected_version, current_version=conversation.version)
        error.extensions["current"] = summary(conversation)
        raise error
    if conversation.status == "closed" and not allow_closed:
        raise ConversationClosed(conversation_id=str(conversation.id))


def record(
    session: AsyncSession,
    conversation: Conversation,
    actor: Actor,
    kind: str,
    data: dict[str, Any],
    *,
    now: datetime,
) -> TimelineEntry:
    """Add a timeline entry and move the conversation to its next version."""
    entry = TimelineEntry(
        id=uuid.uuid4(),
        conversation_id=conversation.id,
        kind=kind,
        actor_role=actor.role,
        actor_name=actor.name[:200],
        actor_agent_id=actor.agent_id,
        data=data,
        at=now,
    )
    session.add(entry)
    conversations.touch(conversation, now=now)
    return entry


async def add_note(
    session: AsyncSession,
    conversation: Conversation,
    actor: Actor,
    *,
    body: str,
    now: datetime,
) -> Note:
    """An internal note (never sent to the customer)."""
    note = Note(
        id=uuid.uuid4(),
        conversation_id=conversation.id,
        author_name=actor.name[:200],
        author_agent_id=actor.agent_id,
        body=body,
        language=conversation.language,
        created_at=now,
    )
    session.add(note)
    record(session, conversation, actor, "note_added", {"note_id": str(note.id)}, now=now)
    await session.flush()
    return note


async def tags_of(session: AsyncSession, conversation_id: uuid.UUID) -> list[str]:
    """The conversation's tags, sorted."""
    rows = await session.scalars(
        select(ConversationTag.tag)
        .where(ConversationTag.conversation_id == conversation_id)
        .order_by(ConversationTag.tag)
    )
    return list(rows)


async def add_tags(
    session: AsyncSession,
    conversation: Conversation,
    actor: Actor,
    *,
    tags: Sequence[str],
    now: datetime,
) -> list[str]:
    """Add tags (already present ones are kept once); returns all tags."""
    current = set(await tags_of(session, conversation.id))
    added = sorted({tag for tag in tags if tag not in current})
    for tag in added:
        session.add(ConversationTag(conversation_id=conversation.id, tag=tag, created_at=now))
    if added:
        record(session, conversation, actor, "tags_added", {"tags": added}, now=now)
    await session.flush()
    return sorted(current | set(added))


async def remove_tag(
    session: AsyncSession, conversation: Conversation, actor: Actor, *, tag: str, now: datetime
) -> list[str]:
    """Remove a tag (absent is fine); returns the remaining tags."""
    result = await session.execute(
        delete(ConversationTag).where(
            ConversationTag.conversation_id == conversation.id, ConversationTag.tag == tag
        )
    )
    if result.rowcount:  # type: ignore[attr-defined]
        record(session, conversation, actor, "tag_removed", {"tag": tag}, now=now)
    return await tags_of(session, conversation.id)


async def set_disposition(
    session: AsyncSession,
    conversation: Conversation,
    actor: Actor,
    *,
    code: str,
    now: datetime,
    field: str = "code",
) -> None:
    """Set the wrap-up code; it must be an active configured one (else UnknownDisposition,
    naming ``field``, the request's field that gave it)."""
    disposition = await session.get(Disposition, code)
    if disposition is None or not disposition.active:
        raise UnknownDisposition(
            code=code, errors=[FieldError(field, "unknown_disposition", REASON_NO_DISPOSITION)]
        )
    conversation.disposition_code = code
    record(session, conversation, actor, "disposition_set", {"code": code}, now=now)


async def change_status(
    session: AsyncSession,
    conversation: Conversation,
    actor: Actor,
    *,
    status: str,
    snoozed_until: datetime | None,
    now: datetime,
) -> None:
    """Move the conversation to a status; resolving (or closing) completes its routing task,
    also when it was resolved already but routing gave it work again (a callback). Snoozing
    needs a future ``snoozed_until`` (InvalidInput on it otherwise)."""
    previous = conversation.status
    if status == "snoozed":
        if snoozed_until is None:
            raise InvalidInput(errors=[FieldError("snoozed_until", "missing", REASON_SNOOZE_UNTIL)])
        _ensure_future("snoozed_until", snoozed_until, now=now)
    ending = status in ("resolved", "closed")
    # A resolved conversation can get routing work again (a callback's call, offered and
    # accepted): resolving it again ends that work, even though its status stays the same.
    routed = conversation.routing_status in ROUTED
    if status == previous and status != "snoozed":
        if ending and routed:
            _end_routing(session, conversation, actor, now=now)
            conversations.touch(conversation, now=now)
        return
    conversation.status = status
    conversation.snoozed_until = snoozed_until if status == "snoozed" else None
    if ending:
        finishing = previous not in ("resolved", "closed")
        if finishing:
            conversation.resolved_at = now
        if finishing or routed:
            _end_routing(session, conversation, actor, now=now)
        conversation.routing_status = "none"
    elif previous == "resolved":
        conversation.resolved_at = None
        _request_agent(session, conversation, preferred=actor.agent_id, now=now)
    data: dict[str, Any] = {"from": previous, "to": status}
    if snoozed_until is not None and status == "snoozed":
        data["until"] = snoozed_until.isoformat()
    record(session, conversation, actor, "status_changed", data, now=now)


def _end_routing(
    session: AsyncSession, conversation: Conversation, actor: Actor, *, now: datetime
) -> None:
    """Tell routing the conversation is done: it completes the task its agent holds (freeing
    the agent) or cancels one still waiting. Routing's events about that task sent before it
    hears of this (an accept) are stale from now on."""
    conversation.last_agent_id = conversation.assignee_agent_id or actor.agent_id
    conversation.replaced_task_id = conversation.routing_task_id
    emit(
        session,
        OutboxEvent,
        ConversationResolved(
            conversation_id=conversation.id,
            resolved_by_agent_id=actor.agent_id or conversation.assignee_agent_id,
            resolved_at=now,
        ),
    )
    conversation.routing_status = "none"


def _request_agent(
    session: AsyncSession,
    conversation: Conversation,
    *,
    preferred: uuid.UUID | None,
    now: datetime,
) -> None:
    conversation.routing_status = "needs_agent"
    emit(
        session,
        OutboxEvent,
        ConversationNeedsAgent(
            conversation_id=conversation.id,
            contact_id=conversation.contact_id,
            channel=conversation.channel,
            language=conversation.language,
            language_confidence=conversation.language_confidence,
            arrived_at=now,
            preferred_agent_id=preferred or conversation.last_agent_id,
        ),
    )


def _ensure_future(field: str, value: datetime, *, now: datetime) -> None:
    """Refuse (InvalidInput on ``field``) a time that is not after ``now``."""
    if value <= now:
        raise InvalidInput(errors=[FieldError(field, "datetime_future", REASON_FUTURE)])


def _requeue(conversation: Conversation) -> dict[str, Any]:
    """The conversation leaves its agent and waits for routing again. Waiting for an agent
    means it is open: a snoozed conversation wakes and a resolved one reopens. Returns the
    status change, if any, for the timeline.

    Routing ends the task the conversation had and opens a new one: its events about the old
    task sent before it hears of this (an accept made meanwhile) are stale from now on.
    """
    conversation.replaced_task_id = conversation.routing_task_id
    conversation.last_agent_id = conversation.assignee_agent_id or conversation.last_agent_id
    conversation.assignee_agent_id = None
    conversation.routing_status = "needs_agent"
    previous = conversation.status
    if previous not in ("snoozed", "resolved"):
        return {}
    conversation.status, conversation.snoozed_until, conversation.resolved_at = "open", None, None
    return {"status": {"from": previous, "to": "open"}}


async def check_handover(
    routing: RoutingClient,
    conversation: Conversation,
    *,
    kind: Literal["transfer", "escalation"],
    to_agent_id: uuid.UUID | None = None,
    to_queue_id: uuid.UUID | None = None,
    tier: int | None = None,
) -> None:
    """Refuse a transfer or an escalation routing could not carry out as asked: an agent or a
    queue it does not know (422), a queue that does not take the conversation's channel or
    language (422), an agent who may never take it there (422, one error per reason), an
    escalation no queue of its tier takes (409). Asks routing, so call it before the first
    write; raises PeerUnavailable while routing cannot answer."""
    check = await routing.check_handover(
        HandoverQuery(
            conversation_id=conversation.id,
            kind=kind,
            channel=conversation.channel,
            language=conversation.language,
            to_queue_id=to_queue_id,
            to_agent_id=to_agent_id,
            tier=tier,
        )
    )
    if check.possible:
        return
    queue_name = check.queue_name or str(check.queue_id or to_queue_id)
    if check.refusal == "agent_not_found":
        raise TransferAgentNotFound(
            agent_id=str(to_agent_id),
            errors=[FieldError("to_agent_id", "agent_not_found", REASON_NO_AGENT)],
        )
    if check.refusal == "queue_not_found":
        raise TransferQueueNotFound(
            queue_id=str(to_queue_id),
            errors=[FieldError("to_queue_id", "queue_not_found", REASON_NO_QUEUE)],
        )
    if check.refusal == "queue_not_suitable":
        raise TransferQueueNotSuitable(
            queue_name=queue_name,
            errors=[FieldError("to_queue_id", "queue_not_suitable", REASON_QUEUE_NOT_SUITABLE)],
        )
    if check.refusal == "agent_not_suitable":
        codes = check.agent_refusals or ["not_suitable"]
        raise TransferAgentNotSuitable(
            agent=check.agent_name or str(to_agent_id),
            queue_name=queue_name,
            errors=[
                FieldError("to_agent_id", code, AGENT_REFUSALS.get(code, REASON_AGENT_NOT_SUITABLE))
                for code in codes
            ],
        )
    raise EscalationNoTierQueue(tier=tier)


async def transfer(
    session: AsyncSession,
    conversation: Conversation,
    actor: Actor,
    *,
    to_queue_id: uuid.UUID | None,
    to_agent_id: uuid.UUID | None,
    note: str | None,
    now: datetime,
) -> None:
    """Hand the conversation to another queue or agent, with an optional note."""
    if note:
        await add_note(session, conversation, actor, body=note, now=now)
    emit(
        session,
        OutboxEvent,
        ConversationTransferred(
            conversation_id=conversation.id,
            from_agent_id=conversation.assignee_agent_id,
            to_queue_id=to_queue_id,
            to_agent_id=to_agent_id,
            note=note,
        ),
    )
    woken = _requeue(conversation)
    record(
        session,
        conversation,
        actor,
        "transferred",
        {
            "to_queue_id": str(to_queue_id) if to_queue_id else None,
            "to_agent_id": str(to_agent_id) if to_agent_id else None,
            **woken,
        },
        now=now,
    )


async def escalate(
    session: AsyncSession,
    conversation: Conversation,
    actor: Actor,
    *,
    reason: str,
    to_queue_id: uuid.UUID | None,
    tier: int,
    now: datetime,
) -> None:
    """Send the conversation to a higher tier with the reason, kept as a note."""
    await add_note(session, conversation, actor, body=reason, now=now)
    emit(
        session,
        OutboxEvent,
        ConversationEscalated(
            conversation_id=conversation.id,
            from_agent_id=conversation.assignee_agent_id,
            to_queue_id=to_queue_id,
            tier=tier,
            reason=reason,
        ),
    )
    woken = _requeue(conversation)
    record(
        session,
        conversation,
        actor,
        "escalated",
        {"tier": tier, "reason": reason, **woken},
        now=now,
    )


async def schedule_callback(
    session: AsyncSession,
    conversation: Conversation,
    actor: Actor,
    *,
    due_at: datetime,
    phone: str | None,
    note: str | None,
    now: datetime,
) -> ScheduledCallback:
    """Ask routing to call the customer back at ``due_at``: the callback's id in routing
    (its event's, which routing keeps) and the number to call."""
    _ensure_future("due_at", due_at, now=now)
    number = phone or await session.scalar(
        select(ContactIdentity.value)
        .where(
            ContactIdentity.contact_id == conversation.contact_id,
            ContactIdentity.kind == "phone",
        )
        .limit(1)
    )
    if number is None:
        raise NoPhoneNumber(conversation_id=str(conversation.id))
    if note:
        await add_note(session, conversation, actor, body=note, now=now)
    event = emit(
        session,
        OutboxEvent,
        CallbackRequested(
            conversation_id=conversation.id,
            contact_id=conversation.contact_id,
            phone=number,
            due_at=due_at,
            language=conversation.language,
            requested_by_agent_id=actor.agent_id,
            preferred_agent_id=actor.agent_id,
            note=note,
        ),
    )
    record(
        session,
        conversation,
        actor,
        "callback_scheduled",
        {"due_at": due_at.isoformat(), "phone": number, "callback_id": str(event.id)},
        now=now,
    )
    return ScheduledCallback(id=event.id, phone=number)


async def timeline(session: AsyncSession, conversation_id: uuid.UUID) -> list[TimelineEntry]:
    """The conversation's timeline, oldest first."""
    if await session.get(Conversation, conversation_id) is None:
        raise ConversationNotFound(conversation_id=str(conversation_id))
    rows = await session.scalars(
        select(TimelineEntry)
        .where(TimelineEntry.conversation_id == conversation_id)
        .order_by(TimelineEntry.at, TimelineEntry.id)
    )
    return list(rows)


async def notes_of(session: AsyncSession, conversation_id: uuid.UUID) -> list[Note]:
    """The conversation's notes, oldest first."""
    rows = await session.scalars(
        select(Note).where(Note.conversation_id == conversation_id).order_by(Note.created_at)
    )
    return list(rows)


async def list_dispositions(session: AsyncSession, *, include_inactive: bool) -> list[Disposition]:
    """The configured wrap-up codes."""
    stmt = select(Disposition).order_by(Disposition.code)
    if not include_inactive:
        stmt = stmt.where(Disposition.active.is_(True))
    return list(await session.scalars(stmt))


async def put_disposition(
    session: AsyncSession, *, code: str, label_en: str, label_fr: str, active: bool, now: datetime
) -> Disposition:
    """Create or update a wrap-up code (codes are deactivated, never deleted)."""
    # One statement: two requests creating the same new code at once both succeed, the last
    # one's labels kept, where a read then an insert would make the second a unique violation.
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    labels = {"label_en": label_en, "label_fr": label_fr, "active": active}
    stmt = (
        insert(Disposition)
        .values(code=code, created_at=now, **labels)
        .on_conflict_do_update(index_elements=["code"], set_=labels)
        .returning(Disposition)
    )
    return (await session.scalars(stmt, execution_options={"populate_existing": True})).one()


async def seed_dispositions(session: AsyncSession, *, now: datetime) -> None:
    """Insert the default wrap-up codes that do not exist yet (safe with several replicas)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [
        {"code": code, "label_en": en, "label_fr": fr, "active": True, "created_at": now}
        for code, en, fr in DEFAULT_DISPOSITIONS
    ]
    await session.execute(
        insert(Disposition).values(rows).on_conflict_do_nothing(index_elements=["code"])
    )


async def wake_snoozed(session: AsyncSession, *, now: datetime) -> int:
    """Reopen snoozed conversations whose time has come; returns how many."""
    result = await session.execute(
        update(Conversation)
        .where(Conversation.status == "snoozed", Conversation.snoozed_until <= now)
        .values(
            status="open",
            snoozed_until=None,
            updated_at=now,
            version=Conversation.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
