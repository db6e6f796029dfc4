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
        description="Why it could not be parsed, in the language of `Accept-Language`.",
        examples=[
            "The email cannot be read: its header block is too large.",
            "Le courriel ne peut pas être lu\u202f: il compte trop de parties MIME.",
        ],
    )
    reason_code: str | None = Field(
        default=None,
        description="The cause as a stable code: `empty`, `header_too_large`, `header_too_long`, "
        "`no_header`, `no_header_fields`, `content_field_too_long`, `content_fields_too_large`, "
        "`too_deep`, `too_many_parts` or `parser_failed`; null when the parser's text names no "
        "known cause.",
        examples=["header_too_large"],
    )
    parse_error: str | None = Field(
        default=None,
        description="What the parser said, as kept with the email: technical English, with the "
        "limit or field it met, for whoever repairs it.",
        examples=["header block larger than 65536 bytes"],
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
