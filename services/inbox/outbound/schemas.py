"""Request models of outbound email."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, JsonValue

from services.inbox.outbound.attachments import MAX_REPLY_ATTACHMENTS
from shared.schemas import Schema

#: Variables the inbox fills in by itself when a template declares them.
STANDARD_VARIABLES = {
    "customer_name": "the contact's name, else the name the customer last wrote with from one "
    "of their own addresses (never the name of someone else whose email joined their thread, "
    "such as a colleague answering our email); empty when the customer gave none, so that "
    "'Hello {customer_name},' reads 'Hello,' and «\u202fBonjour {customer_name},\u202f» reads "
    "«\u202fBonjour,\u202f»",
    "reference": "the conversation's reference, e.g. C-7K3M9QXA",
    "agent_name": "the name of the replying token's holder (the name notes are signed with)",
    "queue_name": "the queue routing placed the conversation in (its name as routing gives it); "
    "until routing has placed it, the department: 'Customer Service' in English, "
    "«\u202fService à la clientèle\u202f» in French",
}


class ReplyAttachment(Schema):
    """A file sent with the reply, its bytes in base64."""

    filename: str = Field(
        min_length=1,
        max_length=255,
        examples=["facture-été.pdf"],
        description='Shown to the customer; no path, control characters or \\ / < > : " | ? *, '
        "and no programs or scripts (.exe, .js, .bat…).",
    )
    content_type: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$",
        examples=["application/pdf"],
        description="Guessed from the file name when omitted.",
    )
    content_base64: str = Field(
        examples=["JVBERi0xLjQK"],
        description="Standard base64 (RFC 4648, with padding; line breaks allowed). Each file is "
        "at most INBOX_MAX_ATTACHMENT_BYTES once decoded (413 above), all together at most "
        "INBOX_MAX_MESSAGE_BYTES.",
    )


class ReplyCreate(Schema):
    """An agent's reply, sent by email to the customer in the conversation's thread.

    Either free `text` (and optional `html`) or an approved template by `template_key`.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"text": "Bonjour Madame Tremblay,\n\nVotre facture a été corrigée."},
                {"template_key": "conversation.closing"},
                {
                    "template_key": "letter.payment_arrangement",
                    "variables": {
                        "account_number": "4417-2231",
                        "agreed_on": "2026-03-02",
                        "total_amount": {"amount": "1234.56", "currency": "CAD"},
                        "installment_count": 3,
                        "installment_amount": "411.52",
                        "first_due": "2026-04-01",
                        "last_due": "2026-06-01",
                    },
                    "attachments": [
                        {
                            "filename": "facture-été.pdf",
                            "content_type": "application/pdf",
                            "content_base64": "JVBERi0xLjQK",
                        }
                    ],
                },
            ]
        }
    )

    text: str | None = Field(
        default=None,
        min_length=1,
        max_length=100_000,
        examples=["Bonjour Madame Tremblay,\n\nVotre facture a été corrigée."],
        description="Free text, not only spaces or line breaks (422 `blank`); give this or "
        "`template_key`, not both.",
    )
    html: str | None = Field(
        default=None,
        max_length=500_000,
        description="With `text` only. Sanitized before it is sent.",
    )
    template_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$",
        examples=["conversation.closing"],
        description="An approved template of the translation service (`/translation/v1/templates`)"
        ", rendered in the reply's language (both languages when the customer's is undetermined "
        "and no `language` is given). The reply keeps the thread's subject (`RE : …`); the "
        "template's subject is used when the conversation has none.",
    )
    variables: dict[str, JsonValue] = Field(
        default_factory=dict,
        max_length=50,
        description="Values for the template's variables. The inbox fills in these by itself "
        "when the template declares them: "
        + "; ".join(f"`{name}`: {meaning}" for name, meaning in STANDARD_VARIABLES.items())
        + ". A value given here wins.",
    )
    language: Literal["en", "fr"] | None = Field(
        default=None, description="Defaults to the conversation's language."
    )
    confirm_language: bool = Field(
        default=False,
        description="Required to send in a language other than the customer's.",
    )
    attachments: list[ReplyAttachment] = Field(
        default_factory=list,
        max_length=MAX_REPLY_ATTACHMENTS,
        description=f"At most {MAX_REPLY_ATTACHMENTS} files, stored and shown on the message.",
    )
