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
