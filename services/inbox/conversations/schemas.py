"""Response models of the conversation read API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from services.inbox.contacts.schemas import ContactSummary
from shared.schemas import Language, Schema

ConversationStatus = Literal["open", "pending", "snoozed", "resolved", "closed"]
Channel = Literal["email", "phone", "fax"]
RoutingStatus = Literal["none", "needs_agent", "queued", "assigned", "not_routed"]


class AttachmentRead(Schema):
    id: UUID = Field(
        description="Download the file at "
        "`GET /inbox/v1/conversations/{conversation_id}/attachments/{id}`."
    )
    filename: str | None = Field(examples=["facture_été.pdf"])
    content_type: str = Field(examples=["application/pdf"])
    size: int
    sha256: str
    inline: bool
    stored: bool = Field(description="False when the file exceeded the attachment size limit.")


class MessageRead(Schema):
    id: UUID
    direction: Literal["inbound", "outbound"]
    channel: Channel
    kind: str = Field(examples=["email", "call", "voicemail", "fax"])
    status: str = Field(
        examples=["accepted", "auto_reply", "quarantined", "queued", "sent", "failed"]
    )
    failure_reason: str | None = Field(
        default=None,
        examples=["5.1.1 Mailbox does not exist"],
        description="For a failed outgoing email: the mail server's answer (when it expired, "
        "its last temporary answer or why it could not be reached).",
    )
    failure_code: int | None = Field(
        default=None,
        examples=[550, 451],
        description="For a failed outgoing email: the SMTP code of the server's answer; null "
        "when the server could not be reached.",
    )
    failure_expired: bool = Field(
        default=False,
        description="True when the email failed for having been refused for the time being "
        "(4xx, server unreachable) until INBOX_OUTBOUND_MAX_QUEUE_HOURS after it was queued.",
    )
    author_agent_id: UUID | None = None
    subject: str | None = Field(examples=["Facture erronée"])
    from_address: str | None
    from_name: str | None
    text: str | None
    html: str | None = Field(description="Sanitized: no scripts, handlers or remote loads.")
    language: Language
    language_confidence: float
    language_evidence: list[str]
    auto_reply: bool
    auto_reply_signals: list[str]
    message_id_header: str | None = Field(description="Normalized Message-ID, without brackets.")
    in_reply_to: str | None
    sent_at: datetime | None
    received_at: datetime
    attachments: list[AttachmentRead]


class ConversationSummary(Schema):
    id: UUID
    reference: str = Field(examples=["C-7K3M9QXA"], description="Quoted to customers.")
    channel: Channel
    status: ConversationStatus
    subject: str | None
    language: Language
    language_confidence: float
    routing_status: RoutingStatus
    queue_id: UUID | None
    queue_name: str | None
    assignee_agent_id: UUID | None
    contact: ContactSummary
    previous_conversation_id: UUID | None
    version: int
    created_at: datetime
    last_message_at: datetime
    resolved_at: datetime | None


class ConversationRead(ConversationSummary):
    messages: list[MessageRead]
