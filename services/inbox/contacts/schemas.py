"""Request and response models of the contacts API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas import Schema


class IdentityRead(Schema):
    kind: Literal["email", "phone", "fax"]
    value: str = Field(examples=["marie.tremblay@exemple.ca", "+15145550123"])


class ContactSummary(Schema):
    id: UUID
    display_name: str | None = Field(examples=["Marie Tremblay"])
    language: str | None = Field(
        description="Known preference: the language last chosen in the IVR, else the first "
        "detected with confidence in their writing."
    )


class ContactRead(ContactSummary):
    identities: list[IdentityRead]
    merged_into_id: UUID | None = Field(
        default=None,
        description="Set when a supervisor merged this contact into that one: its identities "
        "and conversations are there now.",
    )
    created_at: datetime


class IdentityAdd(BaseModel):
    """An email address, phone or fax number of the contact's."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"kind": "email", "value": "Marie.Tremblay@Travail.example"},
                {"kind": "phone", "value": "514 555-0123"},
            ]
        },
    )

    kind: Literal["email", "phone", "fax"]
    value: str = Field(
        min_length=1,
        max_length=320,
        description="An email address (stored lower-cased) or a number, international "
        "(+33 1 23 45 67 89) or of the default region (514 555-0123), stored in E.164.",
    )


class ContactMerge(BaseModel):
    """The contact to merge into this one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"contact_id": "0b9d6c1e-3f0a-4c55-9b1e-2f6a8d4c7e10"}]},
    )

    contact_id: UUID = Field(description="The contact merged away: it keeps nothing.")
