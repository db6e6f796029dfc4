"""Wire models other services exchange with the inbox."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

#: No API token is longer: a longer one is not valid, without asking.
MAX_TOKEN_CHARS = 200


class TokenIntrospectRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"token": "ibx_3q9ZfK2mT7vXc1LrP8sW0yHdA4uEjN6b"}]}
    )

    token: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS)


class TokenIntrospection(BaseModel):
    """Whether a token is valid now and, if so, whose it is (RFC 7662 in spirit)."""

    active: bool
    role: str | None = None
    name: str | None = None
    token_id: UUID | None = None
    agent_id: UUID | None = None
