"""Conversations: creating, threading lookups, reopening and reading."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, inspect, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.inbox.conversations.search import search_condition
from services.inbox.conversations.threading import (
    REFERENCE_ALPHABET,
    REFERENCE_LENGTH,
    REFERENCE_PREFIX,
)
from services.inbox.errors import ConversationNotFound
from services.inbox.models import Conversation, ConversationTag, Message
from shared.contracts.routing import ServedQueue
from shared.cursors import after_cursor, encode_cursor

OPEN_STATUSES = ("open", "pending", "snoozed")
_COLUMNS = {prop.key: prop.columns[0].name for prop in Conversation.__mapper__.column_attrs}


# The threading lookups run for every inbound email: their statements are built once, since
# building one costs more CPU than running it.
_BY_MESSAGE_IDS = (
    select(Message.message_id_header, Conversation)
    .join(Conversation, Conversation.id == Message.conversation_id)
    .where(Message.message_id_header.in_(bindparam("message_ids", expanding=True)))
)
_BY_SUBJECT = (
    select(Conversation)
    .where(
        Conversation.contact_id == bindparam("contact_id"),
        Conversation.channel == bindparam("channel"),
        Conversation.normalized_subject == bindparam("normalized_subject"),
    )
    .order_by(Conversation.last_message_at.desc())
    .limit(1)
)


def new_reference() -> str:
    """A short reference customers can quote, e.g. ``C-7K3M9QXA``."""
    # The format threading recognizes in a subject (threading.subject_references).
    return REFERENCE_PREFIX + "".join(
        secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH)
    )


def new_conversation(
    *,
    contact_id: uuid.UUID,
    channel: str,
    subject: str | None,
    normalized_subject: str | None,
    inbox_address: str | None,
    language: str,
    language_confidence: float,
    now: datetime,
    status: str = "open",
    previous_conversation_id: uuid.UUID | None = None,
) -> Conversation:
    """A new conversation with a fresh reference, not yet in any session."""
    conversation = Conversation(
        id=uuid.uuid4(),
        reference=new_reference(),
        contact_id=contact_id,
        channel=channel,
        status=status,
        subject=subject,
        normalized_subject=normalized_subject,
        inbox_address=inbox_address,
        language=language,
        language_confidence=language_confidence,
        routing_status="none",
        version=1,
        created_at=now,
        updated_at=now,
        last_message_at=now,
        resolved_at=now if status in ("resolved", "closed") else None,
        previous_conversation_id=previous_conversation_id,
    )
    return conversation


def inserted_values(conversation: Conversation) -> dict[str, Any]:
    """A new conversation's values by column name, for a Core insert (the columns it leaves
    unset take their defaults)."""
    state = inspect(conversation).dict
    return {column: state[key] for key, column in _COLUMNS.items() if key in state}


def changed_values(conversation: Conversation) -> dict[str, Any]:
    """The values of the columns whose attributes were set since the conversation was loaded,
    by column name, for a Core update."""
    state = inspect(conversation)
    return {
        column: getattr(conversation, key)
        for key, column in _COLUMNS.items()
        if state.attrs[key].history.has_changes()
    }


async def find_by_message_ids(
    session: AsyncSession, message_ids: Sequence[str]
) -> Conversation | None:
    """The conversation holding a message with one of these Message-IDs (first match wins)."""
    if not message_ids:
        return None
    # One statement: the messages and their conversations together.
    rows = (await session.execute(_BY_MESSAGE_IDS, {"message_ids": list(message_ids)})).all()
    found = {row[0]: row[1] for row in rows}
    for message_id in message_ids:
        conversation = found.get(message_id)
        if conversation is not None:
            return conversation
    return None


async def find_by_subject(
    session: AsyncSession,
    *,
    contact_id: uuid.UUID,
    channel: str,
    normalized_subject: str,
) -> Conversation | None:
    """The contact's most recent conversation on this channel with this subject, any status."""
    return await session.scalar(
        _BY_SUBJECT,
        {"contact_id": contact_id, "channel": channel, "normalized_subject": normalized_subject},
    )


async def open_for_contact(
    session: AsyncSession,
    *,
    contact_id: uuid.UUID,
    channel: str,
    inbox_address: str | None,
    language: str,
    language_confidence: float,
    now: datetime,
) -> Conversation:
    """The contact's most recent open conversation on this channel (calls and faxes have no
    subject to thread by), else a new one, added to the session, in the contact's language."""
    conversation = await session.scalar(
        select(Conversation)
        .where(
            Conversation.contact_id == contact_id,
            Conversation.channel == channel,
            Conversation.status.in_(OPEN_STATUSES),
        )
        .order_by(Conversation.last_message_at.desc())
        .limit(1)
    )
    if conversation is None:
        conversation = new_conversation(
            contact_id=contact_id,
            channel=channel,
            subject=None,
            normalized_subject=None,
            inbox_address=inbox_address,
            language=language,
            language_confidence=language_confidence,
            now=now,
        )
        session.add(conversation)
    return conversation


def within_reopen_window(conversation: Conversation, *, now: datetime, days: int) -> bool:
    """Open, or resolved less than ``days`` ago (a reply then reopens it); closed is final."""
    if conversation.status in OPEN_STATUSES:
        return True
    if conversation.status == "closed":
        return False
    resolved_at = conversation.resolved_at or conversation.updated_at
    return now - resolved_at < timedelta(days=days)


def touch(conversation: Conversation, *, now: datetime) -> None:
    """Record that the conversation changed (a new version for optimistic concurrency)."""
    conversation.updated_at = now
    conversation.version += 1


def reopen(conversation: Conversation, *, now: datetime) -> bool:
    """Reopen a resolved or closed conversation; returns whether it was reopened."""
    if conversation.status in OPEN_STATUSES:
        if conversation.status != "open":
            conversation.status = "open"
            touch(conversation, now=now)
        return False
    conversation.status = "open"
    conversation.resolved_at = None
    conversation.last_agent_id = conversation.assignee_agent_id or conversation.last_agent_id
    conversation.assignee_agent_id = None
    conversation.routing_status = "none"
    touch(conversation, now=now)
    return True


async def get_conversation(session: AsyncSession, conversation_id: uuid.UUID) -> Conversation:
    """The conversation with its contact, messages and attachments; raises ConversationNotFound."""
    conversation = await session.scalar(
        select(Conversation)
        .where(Conversation.id == conversation_id)
        .options(
            selectinload(Conversation.contact),
            selectinload(Conversation.messages).selectinload(Message.attachments),
        )
    )
    if conversation is None:
        raise ConversationNotFound(conversation_id=str(conversation_id))
    return conversation


@dataclass(frozen=True)
class AgentView:
    """What one agent may see: the conversations assigned to it, and those waiting unassigned
    in a queue it serves, in a language and on a channel it may take there."""

    agent_id: uuid.UUID
    queues: Sequence[ServedQueue] = ()


@dataclass(frozen=True)
class ConversationFilter:
    """What a conversation list is restricted to; None means any."""

    status: str | None = None
    channel: str | None = None
    language: str | None = None
    contact_id: uuid.UUID | None = None
    queue_id: uuid.UUID | None = None
    assignee_agent_id: uuid.UUID | None = None
    tag: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    visible_to: AgentView | None = None
    search: str | None = None


def waits_in_queue(conversation: Conversation) -> bool:
    """True when the conversation waits for an agent in a queue routing named, unassigned."""
    return (
        conversation.assignee_agent_id is None
        and conversation.routing_status == "queued"
        and conversation.status in OPEN_STATUSES
        and conversation.queue_id is not None
    )


def is_visible(conversation: Conversation, view: AgentView) -> bool:
    """The rule of ``visible_to_agent`` for one loaded conversation."""
    if conversation.assignee_agent_id == view.agent_id:
        return True
    return waits_in_queue(conversation) and any(
        queue.queue_id == conversation.queue_id
        and conversation.language in queue.languages
        and conversation.channel in queue.channels
        for queue in view.queues
    )


def visible_to_agent(view: AgentView) -> ColumnElement[bool]:
    """An agent sees what is assigned to it and what waits in the queues it serves."""
    mine = Conversation.assignee_agent_id == view.agent_id
    served = [
        and_(
            Conversation.queue_id == queue.queue_id,
            Conversation.language.in_(queue.languages),
            Conversation.channel.in_(queue.channels),
        )
        for queue in view.queues
    ]
    if not served:
        return mine
    waiting = and_(
        Conversation.assignee_agent_id.is_(None),
        Conversation.routing_status == "queued",
        Conversation.status.in_(OPEN_STATUSES),
        or_(*served),
    )
    return or_(mine, waiting)


async def list_conversations(
    session: AsyncSession, *, filters: ConversationFilter, cursor: str | None, limit: int
) -> tuple[list[Conversation], str | None]:
    """One page of conversations, most recently active first, and the next page's cursor."""
    stmt = select(Conversation).options(selectinload(Conversation.contact))
    if filters.status:
        stmt = stmt.where(Conversation.status == filters.status)
    if filters.channel:
        stmt = stmt.where(Conversation.channel == filters.channel)
    if filters.language:
        stmt = stmt.where(Conversation.language == filters.language)
    if filters.contact_id:
        stmt = stmt.where(Conversation.contact_id == filters.contact_id)
    if filters.queue_id:
        stmt = stmt.where(Conversation.queue_id == filters.queue_id)
    if filters.assignee_agent_id:
        stmt = stmt.where(Conversation.assignee_agent_id == filters.assignee_agent_id)
    if filters.tag:
        stmt = stmt.where(
            Conversation.id.in_(
                select(ConversationTag.conversation_id).where(ConversationTag.tag == filters.tag)
            )
        )
    if filters.created_after:
        stmt = stmt.where(Conversation.created_at >= filters.created_after)
    if filters.created_before:
        stmt = stmt.where(Conversation.created_at < filters.created_before)
    if filters.visible_to is not None:
        stmt = stmt.where(visible_to_agent(filters.visible_to))
    if filters.search and filters.search.strip():
        stmt = stmt.where(await search_condition(session, filters.search))
    if cursor:
        stmt = stmt.where(after_cursor(cursor, Conversation.last_message_at, Conversation.id))
    stmt = stmt.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
    rows = list((await session.scalars(stmt.limit(limit + 1))).all())
    last = rows[limit - 1] if len(rows) > limit else None
    next_cursor = encode_cursor(last.last_message_at, last.id) if last else None
    return rows[:limit], next_cursor


def mark_message(conversation: Conversation, *, now: datetime) -> None:
    """A message arrived on the conversation."""
    conversation.last_message_at = max(conversation.last_message_at, now)
    touch(conversation, now=now)
