"""Request and response models of the agents' workspace."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field, field_validator, model_validator

from shared.problems import invalid_at
from shared.schemas import Instant, Schema

Tag = str


class NoteCreate(Schema):
    body: str = Field(
        min_length=1, max_length=20_000, examples=["Client rappelé, en attente du relevé."]
    )


class NoteRead(Schema):
    id: UUID
    author_name: str
    author_agent_id: UUID | None
    body: str
    created_at: datetime


class TagsAdd(Schema):
    tags: list[str] = Field(min_length=1, max_length=20, examples=[["facturation", "urgent"]])

    @field_validator("tags")
    @classmethod
    def _clean(cls, tags: list[str]) -> list[str]:
        cleaned = [tag.strip().lower() for tag in tags]
        for index, tag in enumerate(cleaned):
            if not tag or len(tag) > 64 or any(c.isspace() for c in tag):
                raise invalid_at(
                    str(index),
                    "tag_format",
                    "Each tag is 1 to 64 characters long, without spaces.",
                    tags[index],
                )
        return cleaned


class TagsRead(Schema):
    tags: list[str]


class DispositionSet(Schema):
    code: str = Field(min_length=1, max_length=64, examples=["billing_adjusted"])


class StatusChange(Schema):
    status: Literal["open", "pending", "snoozed", "resolved", "closed"]
    snoozed_until: Instant | None = Field(
        default=None, description="Required for `snoozed`: when it comes back."
    )


class Resolve(Schema):
    disposition: str | None = Field(
        default=None, max_length=64, examples=["resolved_first_contact"]
    )
    note: str | None = Field(default=None, max_length=20_000)


class TransferCreate(Schema):
    to_queue_id: UUID | None = None
    to_agent_id: UUID | None = None
    note: str | None = Field(default=None, max_length=20_000)

    @model_validator(mode="after")
    def _one_target(self) -> TransferCreate:
        if self.to_queue_id is None and self.to_agent_id is None:
            raise invalid_at(
                "to_queue_id", "transfer_target_missing", "Give to_queue_id or to_agent_id."
            )
        if self.to_queue_id is not None and self.to_agent_id is not None:
            raise invalid_at(
                "to_agent_id",
                "transfer_target_twice",
                "Give to_queue_id or to_agent_id, not both.",
                str(self.to_agent_id),
            )
        return self


class EscalationCreate(Schema):
    reason: str = Field(min_length=1, max_length=20_000, examples=["Needs a billing specialist."])
    to_queue_id: UUID | None = None
    tier: int = Field(default=2, ge=2, le=9)


class CallbackCreate(Schema):
    due_at: Instant = Field(examples=["2026-11-23T14:30:00-05:00"])
    phone: str | None = Field(default=None, max_length=40, examples=["+15145550123"])
    note: str | None = Field(default=None, max_length=20_000)


class CallbackScheduled(Schema):
    due_at: datetime
    phone: str


class TimelineRead(Schema):
    id: UUID
    kind: str = Field(examples=["status_changed", "note_added", "transferred"])
    actor_role: str
    actor_name: str
    actor_agent_id: UUID | None
    data: dict[str, Any]
    at: datetime


class DispositionPut(Schema):
    label_en: str = Field(min_length=1, max_length=200, examples=["Billing adjusted"])
    label_fr: str = Field(min_length=1, max_length=200, examples=["Facturation corrigée"])
    active: bool = True


class DispositionRead(Schema):
    code: str
    label: str = Field(description="In the language asked for by Accept-Language.")
    label_en: str
    label_fr: str
    active: bool
