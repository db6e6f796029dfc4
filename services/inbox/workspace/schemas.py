"""Request and response models of the agents' workspace."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from services.inbox.blank import REASON_BLANK, is_blank
from shared.problems import invalid_at
from shared.schemas import Instant, Schema

Tag = str


class NoteCreate(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"body": "Cliente rappelée : le relevé de novembre sera corrigé d’ici vendredi."},
                {
                    "body": "Customer confirmed the new mailing address; "
                    "waiting for the signed form."
                },
            ]
        }
    )

    body: str = Field(
        min_length=1,
        max_length=20_000,
        description="Not only spaces or line breaks (422 `blank`).",
        examples=["Client rappelé, en attente du relevé."],
    )

    @field_validator("body")
    @classmethod
    def _says_something(cls, body: str) -> str:
        if is_blank(body):
            raise PydanticCustomError("blank", REASON_BLANK)
        return body


class NoteRead(Schema):
    id: UUID
    author_name: str
    author_agent_id: UUID | None
    body: str
    created_at: datetime


class TagsAdd(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"tags": ["facturation", "urgent"]}]})

    tags: list[
        Annotated[
            str,
            # Documented only: the validator below answers each refusal as tag_format.
            Field(json_schema_extra={"minLength": 1, "pattern": r"^\s*\S{1,64}\s*$"}),
        ]
    ] = Field(
        min_length=1,
        max_length=20,
        description="Tags to add, 1 to 64 characters without spaces each; stored in lower case.",
        examples=[["facturation", "urgent"]],
    )

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
    model_config = ConfigDict(json_schema_extra={"examples": [{"code": "billing_adjusted"}]})

    code: str = Field(min_length=1, max_length=64, examples=["billing_adjusted"])


class StatusChange(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "snoozed", "snoozed_until": "2030-03-18T09:00:00-04:00"},
                {"status": "pending"},
            ]
        }
    )

    status: Literal["open", "pending", "snoozed", "resolved", "closed"]
    snoozed_until: Instant | None = Field(
        default=None, description="Required for `snoozed`: when it comes back."
    )


class Resolve(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "disposition": "resolved_first_contact",
                    "note": "Facture corrigée ; la cliente est satisfaite.",
                },
                {"note": "Customer's refund was issued; nothing left to do."},
            ]
        }
    )

    disposition: str | None = Field(
        default=None, max_length=64, examples=["resolved_first_contact"]
    )
    note: str | None = Field(default=None, max_length=20_000)


class TransferCreate(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "to_queue_id": "6c1f9a2e-3b4d-4e8f-9a10-2b3c4d5e6f70",
                    "note": "Customer prefers to continue in English: Billing — English queue.",
                },
                {
                    "to_agent_id": "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f60",
                    "note": "Marie suit déjà ce dossier de remboursement.",
                },
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reason": "La cliente conteste des frais de 412,50 $ : il faut un "
                    "spécialiste de la facturation.",
                    "tier": 2,
                }
            ]
        }
    )

    reason: str = Field(min_length=1, max_length=20_000, examples=["Needs a billing specialist."])
    to_queue_id: UUID | None = None
    tier: int = Field(default=2, ge=2, le=9)


class CallbackCreate(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "due_at": "2030-03-18T14:30:00-04:00",
                    "phone": "+15145550123",
                    "note": "Rappeler Mme Gagnon au sujet de sa facture (préfère l’après-midi).",
                }
            ]
        }
    )

    due_at: Instant = Field(examples=["2026-11-23T14:30:00-05:00"])
    phone: str | None = Field(default=None, max_length=40, examples=["+15145550123"])
    note: str | None = Field(default=None, max_length=20_000)


class CallbackScheduled(Schema):
    id: UUID = Field(
        description="The callback's id in routing: `GET /routing/v1/callbacks/{id}` reads it "
        "once routing has the request (404 until then, usually for well under a second)."
    )
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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"label_en": "Billing adjusted", "label_fr": "Facturation corrigée", "active": True}
            ]
        }
    )

    label_en: str = Field(min_length=1, max_length=200, examples=["Billing adjusted"])
    label_fr: str = Field(min_length=1, max_length=200, examples=["Facturation corrigée"])
    active: bool = True


class DispositionRead(Schema):
    code: str
    label: str = Field(description="In the language asked for by Accept-Language.")
    label_en: str
    label_fr: str
    active: bool
