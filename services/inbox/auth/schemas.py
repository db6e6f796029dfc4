"""Request and response models for API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import ConfigDict, Field, model_validator

from shared.problems import invalid_at
from shared.schemas import Schema

TokenRole = Literal["admin", "supervisor", "agent", "gateway"]


class TokenCreate(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"role": "supervisor", "name": "Supervision — équipe du soir"},
                {"role": "gateway", "name": "Postfix gateway, Montréal"},
            ]
        }
    )

    role: TokenRole
    name: str = Field(min_length=1, max_length=200, examples=["Postfix gateway"])
    agent_id: UUID | None = Field(default=None, description="Required for, and only for, agents.")

    @model_validator(mode="after")
    def _agent_binding(self) -> TokenCreate:
        if self.role == "agent" and self.agent_id is None:
            raise invalid_at(
                "agent_id", "agent_id_required", "Required for a token with the agent role."
            )
        if self.role != "agent" and self.agent_id is not None:
            raise invalid_at(
                "agent_id",
                "agent_id_refused",
                "Only a token with the agent role is bound to an agent.",
                str(self.agent_id),
            )
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
