"""The event envelope that crosses services through the outbox, and the event payloads."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field


class Event(BaseModel):
    """Base of event payloads; each subclass names its type once."""

    event_type: ClassVar[str]


class EventEnvelope(BaseModel):
    """One delivered event: consumers apply it at most once, keyed by ``id``."""

    id: UUID
    type: str = Field(examples=["conversation.needs_agent"])
    source: str = Field(examples=["inbox"])
    occurred_at: datetime
    payload: dict[str, Any]


class EventAck(BaseModel):
    """A consumer's answer: whether this delivery applied the event or it was seen before."""

    id: UUID
    applied: bool
