"""Request and response models of the inbound webhooks."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from shared.schemas import Language


class InboundEmailJson(BaseModel):
    """The JSON form of an inbound email: the raw RFC 5322 message, base64-encoded."""

    model_config = {"extra": "ignore"}

    raw: str = Field(min_length=1, description="The raw message, base64.", examples=["RnJvbTog..."])
    gateway_message_id: str | None = Field(default=None, max_length=300, examples=["sg-4f1c2"])
    recipient: str | None = Field(
        default=None, max_length=320, description="The inbox address it was delivered to."
    )


class IngestReceipt(BaseModel):
    """Sent only once the message is committed; a re-post answers the same ids."""

    message_id: UUID
    conversation_id: UUID | None = Field(description="Null for a quarantined message.")
    contact_id: UUID | None = Field(description="Null for a quarantined message.")
    duplicate: bool = Field(description="True when this message had been received before.")
    status: Literal["accepted", "quarantined", "auto_reply"]
    language: Language
