"""Telephony events: one message per call, idempotent, in any order; voice tasks for routing."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.inbox.contacts import service as contacts
from services.inbox.conversations import service as conversations
from services.inbox.models import CallEvent, Contact, Conversation, Message, OutboxEvent
from shared.contracts.inbox_events import ConversationCanceled, ConversationNeedsAgent
from shared.outbox import emit

#: How far along a call is; an event never moves a call backwards.
STAGE = {"ringing": 1, "answered": 2, "completed": 3, "missed": 3, "abandoned": 3, "voicemail": 3}
ENDED_WITHOUT_AGENT = ("missed", "abandoned")
ANSWERED = ("answered", "completed")
# The evidence of a language the caller chose themselves.
IVR_CHOICES = ("ivr", "ivr_digit")


@dataclass(frozen=True)
class CallInput:
    """One telephony event, with numbers already in E.164 and the language decided."""

    gateway: str
    call_id: str
    event: str
    #: None when the caller withheld the number.
    caller: str | None
    dialed: str | None
    language: str
    language_evidence: list[str]
    occurred_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class CallResult:
    """What the telephony gateway is told."""

    message_id: uuid.UUID
    conversation_id: uuid.UUID
    contact_id: uuid.UUID
    action: str
    language: str
    duplicate: bool


def call_key(gateway: str, call_id: str) -> str:
    """The dedupe key of a call's message."""
    return f"call:{gateway}:{call_id}"[:700]


async def find_call(session: AsyncSession, *, gateway: str, call_id: str) -> Message | None:
    """The message of a call already seen."""
    return await session.scalar(
        select(Message).where(Message.dedupe_key == call_key(gateway, call_id))
    )


async def apply_call_event(
    session: AsyncSession, call: CallInput, *, closed: bool, now: datetime
) -> CallResult:
    """Record the event once; the first ``ringing`` of a live call asks routing for an agent.

    The action is this event's: ``queued`` or ``closed`` for the call's first ringing (and for
    a repeat of it), ``recorded`` for any other.
    """
    message, conversation, contact_id = await _call_message(session, call, now=now)
    try:
        async with session.begin_nested():
            session.add(
                CallEvent(
                    id=uuid.uuid4(),
                    gateway=call.gateway,
                    call_id=call.call_id,
                    event=call.event,
                    message_id=message.id,
                    payload=call.data,
                    received_at=now,
                )
            )
    except IntegrityError:
        # A repeated event: a ringing is told again what the first was told, any other event
        # has nothing more to do.
        action = "recorded"
        if call.event == "ringing":
            await session.refresh(message, ["details"])  # as the first one committed it
            action = str(message.details.get("action", "recorded"))
        return _result(message, conversation, contact_id, action=action, duplicate=True)

    # Shown to agents as the message's `call` (conversations.schemas.CallDetails).
    details = copy.deepcopy(message.details)
    details.setdefault("events", {})[call.event] = {
        "at": call.occurred_at.isoformat(),
        **call.data,
    }
    stage = STAGE[call.event]
    previous_stage = STAGE.get(str(details.get("state")), 0)
    if stage > previous_stage or (stage == previous_stage == 3 and call.event == "voicemail"):
        details["state"] = call.event
    if call.event == "voicemail":
        message.kind = "voicemail"
        message.text = str(call.data.get("transcription") or "") or None
    conversations.mark_message(conversation, now=now)

    action = "recorded"
    if call.event == "ringing" and previous_stage == 0:
        # The answer to the call's first ringing, kept to tell a repeat of it the same.
        action = details["action"] = "closed" if closed else "queued"
        if closed:
            conversation.routing_status = "not_routed"
        else:
            _ask_for_agent(session, conversation, message, contact_id, call, kind="call", now=now)
    elif previous_stage == 0 and conversation.routing_status == "none":
        # First heard of once answered or over: nobody is to be sought, and the conversation
        # says so as a closed or abandoned call's does.
        conversation.routing_status = "not_routed"
    if call.event in ENDED_WITHOUT_AGENT or call.event in ("voicemail", *ANSWERED):
        if conversation.routing_status in ("needs_agent", "queued"):
            # A call answered or over is to be offered to nobody; an answered one may be the
            # agent's routing gave it to before the inbox heard so: theirs it stays.
            emit(
                session,
                OutboxEvent,
                ConversationCanceled(
                    conversation_id=conversation.id,
                    reason=call.event,
                    waiting_only=call.event in ANSWERED,
                ),
            )
            conversation.routing_status = "not_routed"
        if call.event == "voicemail":
            _ask_for_agent(
                session, conversation, message, contact_id, call, kind="voicemail", now=now
            )
    message.details = dict(details)
    await session.flush()
    return _result(message, conversation, contact_id, action=action, duplicate=False)


def _ask_for_agent(
    session: AsyncSession,
    conversation: Conversation,
    message: Message,
    contact_id: uuid.UUID,
    call: CallInput,
    *,
    kind: str,
    now: datetime,
) -> None:
    conversation.routing_status = "needs_agent"
    emit(
        session,
        OutboxEvent,
        ConversationNeedsAgent(
            conversation_id=conversation.id,
            message_id=message.id,
            contact_id=contact_id,
            channel="phone",
            language=call.language,
            language_confidence=1.0 if call.language != "und" else 0.0,
            arrived_at=now,
            preferred_agent_id=conversation.last_agent_id,
            attributes={"message_kind": kind, "dialed": call.dialed or ""},
        ),
    )


async def _call_message(
    session: AsyncSession, call: CallInput, *, now: datetime
) -> tuple[Message, Conversation, uuid.UUID]:
    existing = await find_call(session, gateway=call.gateway, call_id=call.call_id)
    if existing is None:
        contact_id = await _caller_contact(session, call, now=now)
        conversation = await conversations.open_for_contact(
            session,
            contact_id=contact_id,
            channel="phone",
            inbox_address=call.dialed,
            language=call.language,
            language_confidence=1.0 if call.language != "und" else 0.0,
            now=now,
        )
        message = Message(
            id=uuid.uuid4(),
            conversation_id=conversation.id,
            dedupe_key=call_key(call.gateway, call.call_id),
            direction="inbound",
            channel="phone",
            kind="call",
            status="accepted",
            gateway=call.gateway,
            from_address=call.caller,
            to_addresses=[call.dialed] if call.dialed else [],
            language=call.language,
            language_confidence=1.0 if call.language != "und" else 0.0,
            language_evidence=call.language_evidence,
            references=[],
            auto_reply_signals=[],
            details={},
            received_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(message)
        except IntegrityError:
            existing = await find_call(session, gateway=call.gateway, call_id=call.call_id)
            if existing is None:
                raise
        else:
            return message, conversation, contact_id
    assert existing.conversation_id is not None
    earlier = await session.get(Conversation, existing.conversation_id)
    assert earlier is not None
    return existing, earlier, earlier.contact_id


async def _caller_contact(session: AsyncSession, call: CallInput, *, now: datetime) -> uuid.UUID:
    """The contact of the caller's number; for a withheld number, a new contact of its own.

    Withheld callers share nothing that tells them apart, so none is taken for another: each
    such call opens its own conversation, under a contact without any identity. A language
    the caller chose in the IVR is theirs from now on: their next call on a line that does not
    ask is in it, and so is the contact's known preference.
    """
    chosen = call.language if call.language_evidence[0] in IVR_CHOICES else None
    if call.caller is not None:
        contact, _ = await contacts.find_or_create(session, kind="phone", value=call.caller)
        if chosen is not None and contact.language != chosen:
            contact.language = chosen
            contact.updated_at = now
        return contact.id
    unknown = Contact(
        id=uuid.uuid4(), display_name=None, language=chosen, created_at=now, updated_at=now
    )
    session.add(unknown)
    await session.flush()
    return unknown.id


def _result(
    message: Message,
    conversation: Conversation,
    contact_id: uuid.UUID,
    *,
    action: str,
    duplicate: bool,
) -> CallResult:
    return CallResult(
        message_id=message.id,
        conversation_id=conversation.id,
        contact_id=contact_id,
        action=action,
        language=message.language,
        duplicate=duplicate,
    )
