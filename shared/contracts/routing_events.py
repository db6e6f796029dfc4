"""Events routing emits (through its outbox) for other services."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from shared.contracts.events import Event


class QueueHours(BaseModel):
    """A queue's business hours at one instant: open or not, when it reopens, in words."""

    open: bool = True
    opens_at: datetime | None = Field(
        default=None,
        description="When a closed queue opens next, in its time zone; null when open, or "
        "when its schedule has no opening at all.",
    )
    time_zone: str = Field(default="UTC", examples=["America/Toronto"])
    summary: dict[str, str] = Field(
        default_factory=dict,
        description="The weekly hours, and the reopening when closed, by language (en, fr).",
        examples=[
            {
                "en": "Monday to Friday, 9:30\u202fa.m. to 5\u202fp.m. (Eastern Time)",
                "fr": "du lundi au vendredi, de 9\u00a0h\u00a030 à 17\u00a0h (heure de l’Est)",
            }
        ],
    )


class ConversationQueued(Event):
    """The conversation's task entered a queue (or moved to another)."""

    event_type: ClassVar[str] = "conversation.queued"

    conversation_id: UUID
    task_id: UUID
    queue_id: UUID
    queue_name: str
    queued_at: datetime
    #: The queue's hours when the task entered it; None from a routing that does not say.
    hours: QueueHours | None = None


class ConversationDequeued(Event):
    """Routing ended the conversation's task because the inbox said no agent is needed any
    more (e.g. an abandoned call): the inbox stops showing it queued or assigned, even when
    the task's ``conversation.queued`` or ``conversation.assigned`` reached it after the
    inbox's own decision."""

    event_type: ClassVar[str] = "conversation.dequeued"

    conversation_id: UUID
    task_id: UUID
    reason: str = Field(max_length=100, examples=["abandoned"])
    dequeued_at: datetime


class ConversationAssigned(Event):
    """An agent accepted the conversation's task: the inbox records the assignee."""

    event_type: ClassVar[str] = "conversation.assigned"

    conversation_id: UUID
    task_id: UUID
    agent_id: UUID
    queue_id: UUID
    #: The queue's name; None from a routing that does not say.
    queue_name: str | None = None
    needs_translation: bool = False
    assigned_at: datetime


class ConversationReleased(Event):
    """The agent's task on the conversation ended (completed through routing's tasks API, or
    after the inbox resolved it): routing holds no agent on it any more, so the inbox stops
    showing it assigned, and asks routing again, preferring that agent, when the customer
    writes next."""

    event_type: ClassVar[str] = "conversation.released"

    conversation_id: UUID
    task_id: UUID
    agent_id: UUID
    reason: str = Field(max_length=100, examples=["completed"])
    released_at: datetime


class AgentDeleted(Event):
    """An agent was deleted from routing: the inbox revokes the API tokens bound to it, so
    that nobody goes on working as an agent routing no longer knows."""

    event_type: ClassVar[str] = "agent.deleted"

    agent_id: UUID
    deleted_at: datetime
