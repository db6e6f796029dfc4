"""Request and response models for API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field, model_validator

from shared.schemas import Schema

TokenRole = Literal["admin", "supervisor", "agent", "gateway"]


class TokenCreate(Schema):
    role: TokenRole
    name: str = Field(min_length=1, max_length=200, examples=["Postfix gateway"])
    agent_id: UUID | None = Field(default=None, description="Required for, and only for, agents.")

    @model_validator(mode="after")
    def _agent_binding(self) -> TokenCreate:
        if (self.role == "agent") != (self.agent_id is not None):
            raise ValueError("agent_id is required for role agent and refused for other roles")
        return self


class TokenRead(Schema):
    id: UUID
    role: TokenRole
    name: str
    agent_id: UUID | None
    created_at: datetime
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="The secret; shown only in this response.")
