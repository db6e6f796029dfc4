"""Request and response models of the inbound webhooks."""

from __future__ import annotations

import re
from email.errors import MessageError
from email.headerregistry import Address
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl
from pydantic_core import PydanticCustomError

from shared.schemas import InstantOrUtc, Language

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


def is_mailbox_address(value: str) -> bool:
    """Whether ``value`` is an addr-spec (``local@domain``) an email can be sent from or to:
    what the standard library's header parser accepts whole, non-ASCII letters allowed
    (RFC 6532), no spaces or control characters."""
    if not value or _SPACE_OR_CONTROL.search(value):
        return False
    # A UTF-8 header takes non-ASCII letters where ASCII letters go: check the ASCII shape.
    ascii_form = _NON_ASCII.sub("a", value)
    try:
        parsed = Address(addr_spec=ascii_form)
    except (ValueError, LookupError, MessageError):  # the parser's ways of saying no
        return False
    return bool(parsed.domain) and parsed.addr_spec == ascii_form


def _mailbox_address(value: str) -> str:
    if value and not is_mailbox_address(value):
        raise PydanticCustomError("email_address", "Must be an email address.")
    return value


#: The inbox address an email was delivered to, as a gateway names it; empty means not given.
#: It becomes the From of every reply in the conversation, so it must be one.
InboxAddress = Annotated[
    str,
    Field(max_length=320, examples=["service@example.com"], json_schema_extra={"format": "email"}),
    AfterValidator(_mailbox_address),
]


class InboundEmailJson(BaseModel):
    """The JSON form of an inbound email: the raw RFC 5322 message, base64-encoded."""

    model_config = {"extra": "ignore"}

    raw: str = Field(
        min_length=1,
        description="The raw message, base64 (in lines, as MIME writes it, or not).",
        examples=[
            "RnJvbTogTWFyaWUgVHJlbWJsYXkgPG1hcmllQGV4ZW1wbGUuY2E+DQpUbzogc2VydmljZUBjZW50cmUuZXhh"
            "bXBsZQ0KU3ViamVjdDogRmFjdHVyZQ0KTWVzc2FnZS1JRDogPGV4ZW1wbGUtMUBleGVtcGxlLmNhPg0KDQpC"
            "b25qb3VyLCBtYSBmYWN0dXJlIGVzdCBlcnJvbmVlLg0K"
        ],
    )
    gateway_message_id: str | None = Field(default=None, max_length=300, examples=["sg-4f1c2"])
    recipient: InboxAddress | None = Field(
        default=None, description="The inbox address it was delivered to."
    )


class IngestReceipt(BaseModel):
    """Sent only once the message is committed; a re-post answers the same ids."""

    message_id: UUID
    conversation_id: UUID | None = Field(description="Null for a quarantined message.")
    contact_id: UUID | None = Field(
        description="The customer of the conversation it was filed in (someone else's "
        "answer to our email joins the customer's conversation). Null for a quarantined "
        "message."
    )
    duplicate: bool = Field(description="True when this message had been received before.")
    status: Literal["accepted", "quarantined", "auto_reply"]
    language: Language


class CallEventIn(BaseModel):
    """One telephony event for a call, keyed by the gateway's ``call_id``; any order, any repeat."""

    model_config = ConfigDict(
        populate_by_name=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "call_id": "CA5f3e9a",
                    "event": "ringing",
                    "from": "+15145550123",
                    "to": "+15145550100",
                    "occurred_at": "2026-11-23T14:30:05-05:00",
                    "language": "fr",
                    "ivr_digit": "2",
                },
                {
                    "call_id": "CA5f3e9a",
                    "event": "voicemail",
                    "from": "+15145550123",
                    "to": "+15145550100",
                    "occurred_at": "2026-11-23T14:33:40-05:00",
                    "duration_seconds": 42,
                    "transcription": "Bonjour, c’est Julie Gagnon, j’appelle au sujet de ma "
                    "facture de novembre.",
                },
            ]
        },
    )

    call_id: str = Field(min_length=1, max_length=200, examples=["CA5f3e9a"])
    event: Literal["ringing", "answered", "completed", "missed", "abandoned", "voicemail"]
    from_: str | None = Field(
        default=None,
        alias="from",
        max_length=40,
        examples=["+15145550123", "anonymous"],
        description="The caller's number. A withheld number (left out, empty, or a word "
        "gateways send for one: `anonymous`, `private`, `restricted`, `unknown`, `unavailable`, "
        "`withheld`, `blocked`, in any case) is an unknown caller: the call is taken as any "
        "other, under a contact of its own that has no number.",
    )
    to: str | None = Field(default=None, max_length=40, examples=["+15145550100"])
    occurred_at: InstantOrUtc | None = None
    language: Literal["en", "fr"] | None = Field(
        default=None, description="The caller's IVR choice, when the IVR names it."
    )
    ivr_digit: str | None = Field(
        default=None, max_length=4, description="The IVR digit pressed; the line maps it."
    )
    duration_seconds: int | None = Field(default=None, ge=0, le=86_400)
    recording_url: HttpUrl | None = None
    transcription: str | None = Field(default=None, max_length=100_000)


class CallReceipt(BaseModel):
    """What the telephony gateway should do with the call, and where it was recorded."""

    call_id: str
    action: Literal["queued", "closed", "recorded"] = Field(
        description="`queued`: keep the caller waiting for an agent; `closed`: play the closed "
        "message; `recorded`: nothing to do for this event."
    )
    message_id: UUID
    conversation_id: UUID
    contact_id: UUID
    language: Language
    language_evidence: list[str] = Field(examples=[["line"]])
    duplicate: bool


class FaxJson(BaseModel):
    """A received fax as JSON, the document base64-encoded."""

    model_config = {"populate_by_name": True, "extra": "forbid"}

    fax_id: str = Field(min_length=1, max_length=200, examples=["FX-2026-0042"])
    from_: str = Field(alias="from", min_length=1, max_length=40, examples=["+14185550123"])
    to: str | None = Field(default=None, max_length=40)
    pages: int | None = Field(default=None, ge=1, le=10_000)
    received_at: InstantOrUtc | None = None
    ocr_text: str | None = Field(default=None, max_length=1_000_000)
    document: str = Field(min_length=1, description="The document, base64 (PDF or TIFF).")
    content_type: str = Field(default="application/pdf", max_length=200)
    filename: str | None = Field(default=None, max_length=300)
