"""API models of agents: languages and skills with levels, capacity per channel, presence."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from shared.schemas import Schema

Level = Annotated[int, Field(ge=1, le=5)]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]


def _speaks_one(languages: dict[str, int]) -> dict[str, int]:
    if not languages:
        raise PydanticCustomError(
            "no_language",
            "Must name at least one language: an agent who speaks none is never offered work.",
        )
    return languages


#: The languages an agent speaks, each with its level (1 to 5); at least one.
Languages = Annotated[
    dict[LanguageCode, Level],
    AfterValidator(_speaks_one),
    Field(json_schema_extra={"minProperties": 1}),
]
SkillName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9_.-]+$")]
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Capacity(Schema):
    """How many contacts of each channel the agent may hold at once (0: never)."""

    phone: int = Field(default=1, ge=0, le=10)
    email: int = Field(default=3, ge=0, le=100)
    fax: int = Field(default=2, ge=0, le=100)


class AgentCreate(Schema):
    """A new agent; it starts offline."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Marie Tremblay",
                    "email": "marie.tremblay@example.com",
                    "tier": 1,
                    "languages": {"fr": 5, "en": 4},
                    "skills": {"billing": 4, "payments": 3},
                    "capacity": {"phone": 1, "email": 5, "fax": 2},
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=200, examples=["Marie Tremblay"])
    email: str = Field(max_length=320, pattern=EMAIL_PATTERN, examples=["marie@example.com"])
    tier: int = Field(default=1, ge=1, le=10)
    languages: Languages = Field(
        examples=[{"fr": 5, "en": 3}],
        description="At least one: an agent who speaks no language is never offered work.",
    )
    skills: dict[SkillName, Level] = Field(default_factory=dict, examples=[{"billing": 4}])
    capacity: Capacity = Field(default_factory=Capacity)


class AgentUpdate(Schema):
    """Fields to change; languages and skills given replace the stored ones."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320, pattern=EMAIL_PATTERN)
    tier: int | None = Field(default=None, ge=1, le=10)
    languages: Languages | None = None
    skills: dict[SkillName, Level] | None = None
    capacity: Capacity | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{"languages": {"fr": 5, "en": 4}}]})


class AgentStatusUpdate(Schema):
    """A presence change; ``reason`` says why an agent is away (break, meal, training…)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "available"}, {"status": "away", "reason": "break"}]
        }
    )

    status: Literal["offline", "available", "away", "busy"] = Field(
        examples=["available"],
        description="Wrap-up is entered by completing a task; `available` ends it early.",
    )
    reason: str | None = Field(default=None, max_length=50, examples=["break"])


class AgentRead(Schema):
    """An agent with its presence and the contacts it holds now."""

    id: UUID
    name: str
    email: str
    tier: int
    languages: dict[str, int]
    skills: dict[str, int]
    capacity: Capacity
    load: Capacity = Field(description="Contacts offered or assigned now, per channel.")
    status: str
    away_reason: str | None
    status_changed_at: datetime
    idle_since: datetime | None
    wrap_up_until: datetime | None
    missed_offers: int
    stream_connected: bool
    created_at: datetime
    updated_at: datetime
