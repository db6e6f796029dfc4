"""Wire models of routing's API that other services call synchronously."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas import Language


class AvailabilityQuery(BaseModel):
    """Asked by the inbox when a call rings: would this contact be queued now?"""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "channel": "phone",
                    "language": "fr",
                    "skills": {"billing": 2},
                    "attributes": {"line": "facturation"},
                }
            ]
        }
    )

    channel: Literal["phone", "email", "fax"]
    language: Language
    skills: dict[str, int] = Field(default_factory=dict)
    attributes: dict[str, str] = Field(default_factory=dict)


class Availability(BaseModel):
    """What the telephony gateway should do: queue the caller, or play the closed message."""

    action: Literal["queued", "closed"]
    queue_id: UUID | None = None
    queue_name: str | None = None
    reason: str | None = Field(default=None, examples=["outside_hours", "holiday", "no_queue"])


class ServedQueue(BaseModel):
    """A queue an agent serves, and which of its contacts the agent may take there."""

    queue_id: UUID
    name: str = Field(examples=["Email — English"])
    languages: list[Language] = Field(
        description="Contact languages of this queue the agent speaks at the queue's level.",
        examples=[["en"]],
    )
    channels: list[Literal["phone", "email", "fax"]] = Field(
        description="Channels of this queue the agent has capacity for.", examples=[["email"]]
    )


class AgentQueues(BaseModel):
    """The queues an agent serves under each queue's base rule; widening steps are not counted."""

    agent_id: UUID
    queues: list[ServedQueue]
    #: The agent's name, as people know them (signs their emails); absent from older routing.
    agent_name: str | None = None


class HandoverQuery(BaseModel):
    """Asked by the inbox before it accepts a transfer or an escalation: would routing place
    the conversation where it is asked to go?"""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "conversation_id": "6f1c2a52-8a55-4a8e-9a65-0c2f1d1b7e10",
                    "kind": "escalation",
                    "channel": "email",
                    "language": "en",
                    "tier": 2,
                }
            ]
        }
    )

    conversation_id: UUID
    kind: Literal["transfer", "escalation"]
    channel: Literal["phone", "email", "fax"] = Field(
        description="The conversation's channel, used when routing has had no task for it."
    )
    language: Language = Field(
        description="The conversation's language, used when routing has had no task for it."
    )
    to_queue_id: UUID | None = None
    to_agent_id: UUID | None = None
    tier: int | None = Field(default=None, ge=1, le=9)


HandoverRefusal = Literal[
    "queue_not_found",
    "queue_not_suitable",
    "no_tier_queue",
    "agent_not_found",
    "agent_not_suitable",
]


class HandoverCheck(BaseModel):
    """Whether routing would carry out the transfer or escalation as asked, and where it would
    go; when not, why (and, for an agent who may never take it, the engine's refusal codes)."""

    possible: bool
    refusal: HandoverRefusal | None = Field(default=None, examples=["no_tier_queue"])
    queue_id: UUID | None = Field(
        default=None, description="The queue the conversation would wait in."
    )
    queue_name: str | None = Field(default=None, examples=["Email — English"])
    agent_name: str | None = Field(
        default=None,
        description="For `agent_not_suitable`: the agent's name, for people to read.",
        examples=["Marie Tremblay"],
    )
    agent_refusals: list[str] = Field(
        default_factory=list,
        description="For `agent_not_suitable`: why the agent may never take it there "
        "(`language`, `skill_missing`, `skill_level`, `tier`, `no_capacity`, ...).",
        examples=[["language"]],
    )
