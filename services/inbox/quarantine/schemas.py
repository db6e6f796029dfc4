"""API models of the quarantine."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from shared.schemas import Schema


class QuarantinedEmail(Schema):
    id: UUID
    received_at: datetime
    gateway: str | None = Field(examples=["postfix"])
    raw_size: int | None = Field(description="Bytes of the message as it arrived.")
    raw_sha256: str | None
    reason: str | None = Field(
        description="Why it could not be parsed.", examples=["no header found"]
    )
