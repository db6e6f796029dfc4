"""Response models of the contact read API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

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
    created_at: datetime
