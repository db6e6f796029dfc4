"""Events routing emits (through its outbox) for other services."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from shared.contracts.events import Event


class ConversationQueued(Event):
    """The conversation's task entered a queue (or moved to another)."""

    event_type: ClassVar[str] = "conversation.queued"

    conversation_id: UUID
    task_id: UUID
    queue_id: UUID
    queue_name: str
    queued_at: datetime


class ConversationAssigned(Event):
    """An agent accepted the conversation's task: the inbox records the assignee."""

    event_type: ClassVar[str] = "conversation.assigned"

    conversation_id: UUID
    task_id: UUID
    agent_id: UUID
    queue_id: UUID
    needs_translation: bool = False
    assigned_at: datetime
