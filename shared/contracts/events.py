"""The event envelope that crosses services through the outbox, and the event payloads."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Event(BaseModel):
    """Base of event payloads; each subclass names its type once."""

    event_type: ClassVar[str]


class EventEnvelope(BaseModel):
    """One delivered event: consumers apply it at most once, keyed by ``id``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5b0e7c1a-9d2f-4a3b-8c6d-7e8f9a0b1c2d",
                    "type": "conversation.needs_agent",
                    "source": "inbox",
                    "occurred_at": "2026-11-23T19:30:05Z",
                    "payload": {
                        "conversation_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                        "contact_id": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
                        "channel": "email",
                        "language": "fr",
                        "language_confidence": 0.97,
                        "skills": {"billing": 2},
                        "arrived_at": "2026-11-23T19:30:04Z",
                    },
                }
            ]
        }
    )

    id: UUID
    type: str = Field(examples=["conversation.needs_agent"])
    source: str = Field(examples=["inbox"])
    occurred_at: datetime
    payload: dict[str, Any]


class EventAck(BaseModel):
    """A consumer's answer: whether this delivery applied the event or it was seen before."""

    id: UUID
    applied: bool
