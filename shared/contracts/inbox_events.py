"""Events the inbox emits (through its outbox) for other services."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from shared.contracts.events import Event
from shared.schemas import Language

Channel = Literal["phone", "email", "fax"]


class ConversationNeedsAgent(Event):
    """A conversation waits for an agent: routing makes (or updates) its task."""

    event_type: ClassVar[str] = "conversation.needs_agent"

    conversation_id: UUID
    message_id: UUID | None = None
    contact_id: UUID
    channel: Channel
    language: Language
    language_confidence: float = Field(ge=0, le=1)
    priority: int = Field(default=0, ge=-1000, le=1000)
    skills: dict[str, int] = Field(default_factory=dict, description="Skill → minimum level.")
    attributes: dict[str, str] = Field(
        default_factory=dict, description="Contact and contact attributes rules may match on."
    )
    arrived_at: datetime
    preferred_agent_id: UUID | None = Field(
        default=None, description="The agent who last handled this conversation (sticky routing)."
    )


class ConversationResolved(Event):
    """An agent or the customer ended the conversation: routing completes its task."""

    event_type: ClassVar[str] = "conversation.resolved"

    conversation_id: UUID
    resolved_by_agent_id: UUID | None = None
    resolved_at: datetime


class ConversationCanceled(Event):
    """The conversation no longer needs an agent (e.g. an abandoned call)."""

    event_type: ClassVar[str] = "conversation.canceled"

    conversation_id: UUID
    reason: str
    #: Only a task still waiting or offered is canceled: one an agent took stays theirs (a
    #: call that ended normally was answered by someone, maybe that agent).
    waiting_only: bool = False


class ConversationTransferred(Event):
    """An agent handed the conversation to another queue or agent: routing requeues it."""

    event_type: ClassVar[str] = "conversation.transferred"

    conversation_id: UUID
    from_agent_id: UUID | None = None
    to_queue_id: UUID | None = None
    to_agent_id: UUID | None = None
    note: str | None = None


class ConversationEscalated(Event):
    """The conversation goes to a higher tier (e.g. tier 2): routing requeues it there."""

    event_type: ClassVar[str] = "conversation.escalated"

    conversation_id: UUID
    from_agent_id: UUID | None = None
    to_queue_id: UUID | None = None
    tier: int = Field(default=2, ge=1, le=9)
    reason: str


class CallbackRequested(Event):
    """Call the customer back at a time: routing makes it a phone task when due."""

    event_type: ClassVar[str] = "callback.requested"

    conversation_id: UUID
    contact_id: UUID
    phone: str = Field(description="E.164 number to call.")
    due_at: datetime
    language: Language
    requested_by_agent_id: UUID | None = Field(
        default=None,
        description="The agent who asked for the callback; routing keeps it and lets that "
        "agent read the callback. Absent (null) when a supervisor or an admin asked, and in "
        "events written before routing kept it.",
    )
    preferred_agent_id: UUID | None = None
    note: str | None = None


class EmailFailed(Event):
    """An outgoing email was refused for good, or given up after its queue lifetime: routing
    tells the agent who wrote it (else the conversation's agent) on the agent's live stream."""

    event_type: ClassVar[str] = "email.failed"

    conversation_id: UUID
    message_id: UUID
    agent_id: UUID
    recipients: list[str] = Field(default_factory=list, max_length=100)
    subject: str | None = Field(default=None, max_length=2000)
    failure_code: int | None = Field(default=None, ge=100, le=599)
    failure_reason: str = Field(max_length=2000)
    expired: bool = Field(
        default=False, description="True when it was refused for the time being until too late."
    )
