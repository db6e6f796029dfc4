"""API models of the quarantine."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import ConfigDict, Field

from shared.schemas import Schema


class QuarantinedEmail(Schema):
    id: UUID
    state: Literal["quarantined", "released", "dismissed"] = Field(
        description="`quarantined` until a supervisor releases it into the inbox or "
        "dismisses it; the email as it arrived stays downloadable in every state."
    )
    received_at: datetime
    gateway: str | None = Field(examples=["postfix"])
    raw_size: int | None = Field(description="Bytes of the message as it arrived.")
    raw_sha256: str | None
    reason: str | None = Field(
        description="Why it could not be parsed.", examples=["no header found"]
    )
    handled_by: str | None = Field(
        default=None, description="Who released or dismissed it (the token's name)."
    )
    handled_at: datetime | None = None
    note: str | None = Field(default=None, description="Why it was dismissed, as written.")
    released_as: UUID | None = Field(
        default=None, description="The inbox message it became (or already was) when released."
    )
    conversation_id: UUID | None = Field(
        default=None, description="The conversation that message is in."
    )
    duplicate: bool | None = Field(
        default=None,
        description="True when the released email was already in the inbox (the gateway or "
        "the sender had sent it again): nothing new was stored.",
    )
    repaired: bool | None = Field(
        default=None, description="True when it was released from a repaired copy."
    )


class Dismissal(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"note": "Pourriel : publicité sans rapport avec un dossier client."}]
        }
    )

    note: str | None = Field(
        default=None,
        max_length=1000,
        description="Why it is dismissed, for whoever reads the quarantine later.",
        examples=["Spam", "Pourriel"],
    )
