"""API models of tasks, their offers and why they went where they went, and callbacks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import ConfigDict, Field

from shared.schemas import Instant, Language, Schema

Level = Annotated[int, Field(ge=1, le=5)]
SkillName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9_.-]+$")]
#: A callback's state, in the order it goes through them; the last two are final.
CallbackState = Literal["scheduled", "queued", "completed", "canceled"]
#: A task's state: open while ``waiting``, ``offered`` or ``assigned``; then ``wrap_up`` (its
#: agent finishes after the contact), ``completed`` or ``canceled``.
TaskState = Literal["waiting", "offered", "assigned", "wrap_up", "completed", "canceled"]
TaskChannel = Literal["phone", "email", "fax"]


class OfferRead(Schema):
    """An offer: one task reserved for one agent until it answers or the offer expires."""

    id: UUID
    task_id: UUID
    agent_id: UUID
    conversation_id: UUID
    channel: str = Field(examples=["email"])
    language: str = Field(examples=["fr"])
    queue_id: UUID | None
    state: str = Field(
        examples=["pending"], description="pending, accepted, rejected, expired or canceled"
    )
    offered_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    why: dict[str, Any] = Field(
        description="The match at offer time: queue, widening steps used, the agent's language "
        "and skill levels against the requirements, its capacity and load, requirements dropped."
    )


class Refusal(Schema):
    """Why some agents may not take the task, with how many of them."""

    code: str = Field(examples=["language"])
    subject: str | None = Field(examples=["fr"])
    agents: int = Field(examples=[3])
    text: str = Field(
        examples=["The agent does not speak the language (fr) at the required level."]
    )


class WaitRead(Schema):
    """Why a task is still waiting, worked out now."""

    reason: str = Field(examples=["no_eligible_agent"])
    text: str
    queue_open: bool
    waited_seconds: float
    next_widening_in_seconds: float | None
    refusals: list[Refusal]
    translation_held_back: bool = Field(
        description="True while the queue's step to agents of the other language is held "
        "back because machine translation is off (or the translation service cannot be "
        "reached): refusals and the next widening are judged without it, as the engine does."
    )


class TaskRead(Schema):
    """A task: its state, agent and offers, and why it went where it went."""

    id: UUID
    conversation_id: UUID
    contact_id: UUID | None
    callback_id: UUID | None
    channel: str
    language: str
    priority: int
    skills: dict[str, int]
    attributes: dict[str, str]
    state: str = Field(examples=["assigned"])
    queue_id: UUID | None
    agent_id: UUID | None
    preferred_agent_id: UUID | None
    needs_translation: bool
    arrived_at: datetime
    queued_at: datetime
    offered_at: datetime | None
    assigned_at: datetime | None
    wrap_up_until: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    route: dict[str, Any] = Field(description="The queue chosen and, once assigned, the match.")
    offers: list[OfferRead]
    wait: WaitRead | None = None


class TaskSummary(Schema):
    """A task as a list shows it: where it stands, without its offers and why."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f1c2b7a-9d4e-4c8b-a6f2-5e7d9c0b1a24",
                    "conversation_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                    "state": "waiting",
                    "channel": "email",
                    "language": "fr",
                    "queue_id": "5a7c1e2f-3b4d-4e6f-8a9b-0c1d2e3f4a5b",
                    "queue_name": "Courriel — français",
                    "agent_id": None,
                    "priority": 0,
                    "arrived_at": "2026-11-23T14:02:11Z",
                    "queued_at": "2026-11-23T14:02:12Z",
                    "offered_at": None,
                    "assigned_at": None,
                    "ended_at": None,
                    "end_reason": None,
                }
            ]
        }
    )

    id: UUID = Field(
        description="Open it with `GET /routing/v1/tasks/{task_id}`: its offers "
        "and, while it waits, why."
    )
    conversation_id: UUID
    state: TaskState = Field(examples=["waiting"])
    channel: str = Field(examples=["email"])
    language: str = Field(examples=["fr"])
    queue_id: UUID | None = Field(description="Null when no queue takes the task.")
    queue_name: str | None = Field(examples=["Courriel — français"])
    agent_id: UUID | None = Field(
        description="The agent it is offered or assigned to (once it ended, the last one); "
        "null while it waits."
    )
    priority: int
    arrived_at: datetime
    queued_at: datetime = Field(description="When routing queued it; the list's order.")
    offered_at: datetime | None
    assigned_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None = Field(examples=["transferred"])


class CallbackCreate(Schema):
    """A follow-up call to make at ``due_at`` about a conversation the inbox has; it becomes a
    phone task then."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "conversation_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                    "due_at": "2030-03-18T14:30:00-04:00",
                    "language": "fr",
                    "skills": {"billing": 2},
                    "phone": "+15145550123",
                    "note": "Rappeler après 14 h au sujet du relevé de novembre.",
                }
            ]
        }
    )

    conversation_id: UUID = Field(
        description="The inbox conversation the call is about. It must exist in the inbox "
        "(routing asks it): an id no conversation has, like the example's in a new install, "
        "is refused with 422 `callback.conversation_not_found`."
    )
    contact_id: UUID | None = None
    due_at: Instant = Field(examples=["2026-11-23T14:30:00-05:00"])
    language: Language = Field(examples=["fr"])
    skills: dict[SkillName, Level] = Field(default_factory=dict)
    priority: int = Field(default=0, ge=-1000, le=1000)
    agent_id: UUID | None = Field(
        default=None,
        description="Who should make the call first; an agent's own token defaults to itself.",
    )
    note: str | None = Field(default=None, max_length=2000, examples=["Rappeler après 14 h"])
    phone: str | None = Field(
        default=None,
        pattern=r"^\+[1-9][0-9]{6,14}$",
        description="The number to call, E.164; the call's task carries it.",
        examples=["+15145550123"],
    )


class CallbackRead(Schema):
    """A scheduled callback and, once due, the task it became."""

    id: UUID
    conversation_id: UUID
    contact_id: UUID | None
    agent_id: UUID | None = Field(description="Who should make the call first.")
    requested_by_agent_id: UUID | None = Field(
        description="The agent who asked for the callback (it may read it, whoever makes the "
        "call); null when a supervisor, an admin or a service asked, and for callbacks "
        "scheduled before it was kept.",
        examples=["8f14e45f-ceea-4e7a-9b1c-3d2f5a6b7c8d"],
    )
    language: str
    skills: dict[str, int]
    priority: int
    note: str | None
    phone: str | None = Field(examples=["+15145550123"])
    due_at: datetime
    state: CallbackState = Field(
        examples=["scheduled"],
        description="`scheduled` until it falls due, then `queued`: it became a phone task "
        "(`task_id`), whose state says whether the call is waiting, offered or taken. Then "
        "`completed`: an agent took the call and finished it (completed its task, or resolved "
        "the conversation after taking it); or `canceled`: the call ended with no one having "
        "taken it (the conversation was resolved first) or the inbox no longer wanted it (the "
        "customer hung up). A transfer or an escalation hands the call to a new task, which "
        "`task_id` then names; the callback stays `queued`. A callback never rides on an email "
        "or a fax: one due while its conversation's email or fax task is open waits `queued` "
        "with no `task_id` until that task ends, then becomes its own phone task.",
    )
    task_id: UUID | None = Field(
        description="The task its call became (the last one, when the call was transferred or "
        "escalated); null while it is scheduled, and while it waits for its conversation's "
        "email or fax task to end."
    )
    queue_id: UUID | None = Field(
        description="The queue its phone task went to; null while it is scheduled (the "
        "queues' rules choose one when it falls due) or waits for its conversation's email or "
        "fax task to end, and when no queue took the call.",
        examples=["5a7c1e2f-3b4d-4e6f-8a9b-0c1d2e3f4a5b"],
    )
    created_at: datetime
    ended_at: datetime | None = Field(
        description="When its call's task ended, for a callback `completed` or `canceled`; null "
        "before.",
        examples=["2026-11-23T14:41:07Z"],
    )
