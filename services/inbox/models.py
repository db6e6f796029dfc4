"""Every table the inbox owns (names start with ``inbox_``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, JsonDocument, UTCDateTime, utc_now
from shared.outbox import OutboxEventMixin, ProcessedEventMixin


class ApiToken(Base):
    """An API token, stored only as its SHA-256 hash."""

    __tablename__ = "inbox_api_token"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    agent_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Contact(Base):
    """A customer, known by one or more identities (email addresses, phone and fax numbers)."""

    __tablename__ = "inbox_contact"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    display_name: Mapped[str | None] = mapped_column(String(300))
    language: Mapped[str | None] = mapped_column(String(3))
    #: The contact a supervisor merged this one into: it keeps no identity nor conversation.
    # The contact it was merged into (no foreign key: see migration a1c0de000011).
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    identities: Mapped[list[ContactIdentity]] = relationship(
        back_populates="contact", lazy="raise", order_by="ContactIdentity.created_at"
    )


class ContactIdentity(Base):
    """One way to reach a contact: a lower-cased email address or an E.164 number."""

    __tablename__ = "inbox_contact_identity"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inbox_contact.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    contact: Mapped[Contact] = relationship(back_populates="identities", lazy="raise")


class Conversation(Base):
    """A thread of messages with one contact on one channel, and where it stands."""

    __tablename__ = "inbox_conversation"
    __table_args__ = (
        Index("ix_inbox_conversation_contact_subject", "contact_id", "normalized_subject"),
        Index("ix_inbox_conversation_listing", "last_message_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inbox_contact.id"))
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default="open")
    subject: Mapped[str | None] = mapped_column(Text)
    normalized_subject: Mapped[str | None] = mapped_column(String(500))
    inbox_address: Mapped[str | None] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(3), default="und")
    language_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    routing_status: Mapped[str] = mapped_column(String(20), default="none")
    queue_id: Mapped[uuid.UUID | None] = mapped_column()
    queue_name: Mapped[str | None] = mapped_column(String(200))
    assignee_agent_id: Mapped[uuid.UUID | None] = mapped_column()
    last_agent_id: Mapped[uuid.UUID | None] = mapped_column()
    #: The routing task the routing fields describe (its last ``queued`` or ``assigned``).
    routing_task_id: Mapped[uuid.UUID | None] = mapped_column()
    #: The routing task the inbox last asked routing to end (transfer, escalation, resolve):
    #: its events delivered after that are stale.
    replaced_task_id: Mapped[uuid.UUID | None] = mapped_column()
    previous_conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("inbox_conversation.id")
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    disposition_code: Mapped[str | None] = mapped_column(String(64))
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contact: Mapped[Contact] = relationship(lazy="raise")
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", lazy="raise", order_by="Message.received_at"
    )


#: The emails waiting in quarantine: a partial index keeps their list and count off the rest.
QUARANTINED = text("status = 'quarantined'")
#: Those a supervisor released or dismissed, listed through a partial index of their own.
HANDLED_FROM_QUARANTINE = text("status IN ('released', 'dismissed')")


class Message(Base):
    """One email, call, voicemail or fax, inbound or outbound; stored exactly once."""

    __tablename__ = "inbox_message"
    __table_args__ = (
        Index(
            "ix_inbox_message_quarantined",
            "received_at",
            "id",
            postgresql_where=QUARANTINED,
            sqlite_where=QUARANTINED,
        ),
        Index(
            "ix_inbox_message_handled_from_quarantine",
            "status",
            "received_at",
            "id",
            postgresql_where=HANDLED_FROM_QUARANTINE,
            sqlite_where=HANDLED_FROM_QUARANTINE,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("inbox_conversation.id"), index=True
    )
    dedupe_key: Mapped[str] = mapped_column(String(700), unique=True)
    direction: Mapped[str] = mapped_column(String(10), default="inbound")
    author_agent_id: Mapped[uuid.UUID | None] = mapped_column()
    channel: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(12), default="email")
    status: Mapped[str] = mapped_column(String(12), default="accepted")
    gateway: Mapped[str | None] = mapped_column(String(100))
    message_id_header: Mapped[str | None] = mapped_column(String(500), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(500))
    references: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    subject: Mapped[str | None] = mapped_column(Text)
    from_address: Mapped[str | None] = mapped_column(String(320))
    from_name: Mapped[str | None] = mapped_column(String(300))
    to_addresses: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    text: Mapped[str | None] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(3), default="und")
    language_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    language_evidence: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    auto_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_reply_signals: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    raw_size: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    conversation: Mapped[Conversation | None] = relationship(
        back_populates="messages", lazy="raise"
    )

    @property
    def failure_reason(self) -> str | None:
        """Why an outgoing email failed, as the server said it (the last temporary answer, or
        why it could not be reached, when it expired)."""
        reason = (self.details or {}).get("failure_reason")
        return str(reason) if reason else None

    @property
    def failure_code(self) -> int | None:
        """The SMTP code of a failed outgoing email's last answer; None without one."""
        code = (self.details or {}).get("failure_code")
        return int(code) if code is not None else None

    @property
    def failure_expired(self) -> bool:
        """Whether an outgoing email failed for having stayed queued past its lifetime."""
        return bool((self.details or {}).get("expired", False))

    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", lazy="raise", order_by="Attachment.position"
    )


class Attachment(Base):
    """A file of a message, stored content-addressed by its SHA-256 under the data directory."""

    __tablename__ = "inbox_attachment"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inbox_message.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str | None] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content_id: Mapped[str | None] = mapped_column(String(500))
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    stored: Mapped[bool] = mapped_column(Boolean, default=True)

    message: Mapped[Message] = relationship(back_populates="attachments", lazy="raise")


class Note(Base):
    """An internal note on a conversation: for agents and supervisors, never sent."""

    __tablename__ = "inbox_note"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("inbox_conversation.id"), index=True
    )
    author_name: Mapped[str] = mapped_column(String(200))
    author_agent_id: Mapped[uuid.UUID | None] = mapped_column()
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(3), default="und")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class ConversationTag(Base):
    """A tag on a conversation (lower-case, e.g. ``billing``)."""

    __tablename__ = "inbox_conversation_tag"

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("inbox_conversation.id"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class Disposition(Base):
    """A wrap-up code agents choose when they finish, with its English and French labels."""

    __tablename__ = "inbox_disposition"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    label_en: Mapped[str] = mapped_column(String(200))
    label_fr: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class TimelineEntry(Base):
    """One thing that happened to a conversation: who did what, when."""

    __tablename__ = "inbox_timeline_entry"
    __table_args__ = (Index("ix_inbox_timeline_entry_conversation", "conversation_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inbox_conversation.id"))
    kind: Mapped[str] = mapped_column(String(40))
    actor_role: Mapped[str] = mapped_column(String(20))
    actor_name: Mapped[str] = mapped_column(String(200))
    actor_agent_id: Mapped[uuid.UUID | None] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class CallEvent(Base):
    """One telephony event as received; a repeated event is recognized and ignored."""

    __tablename__ = "inbox_call_event"
    __table_args__ = (UniqueConstraint("gateway", "call_id", "event"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    gateway: Mapped[str] = mapped_column(String(100))
    call_id: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inbox_message.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class OutboxEvent(OutboxEventMixin, Base):
    __tablename__ = "inbox_outbox_event"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "inbox_processed_event"
