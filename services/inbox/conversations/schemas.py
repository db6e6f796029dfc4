"""Response models of the conversation read API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, get_args
from uuid import UUID

from pydantic import Field, model_validator

from services.inbox.contacts.schemas import ContactSummary
from services.inbox.models import Message
from shared.schemas import Language, Schema

ConversationStatus = Literal["open", "pending", "snoozed", "resolved", "closed"]
Channel = Literal["email", "phone", "fax"]
RoutingStatus = Literal["none", "needs_agent", "queued", "assigned", "not_routed"]
CallState = Literal["ringing", "answered", "completed", "missed", "abandoned", "voicemail"]
CALL_STATES: tuple[str, ...] = get_args(CallState)


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


class CallEventRead(Schema):
    event: CallState = Field(examples=["answered"])
    at: datetime = Field(
        description="When it happened, as the gateway said (else when it arrived).",
        examples=["2026-12-04T14:01:05Z"],
    )


class CallDetails(Schema):
    """A call or voicemail as the telephony gateway reported it, event by event."""

    call_id: str = Field(description="The gateway's id of the call.", examples=["CA5f3e9a"])
    state: CallState = Field(
        description="How far the call went, by the gateway's events: `ringing`, `answered`, "
        "`completed` (ended after being answered), `missed` (never answered), `abandoned` (the "
        "caller hung up first) or `voicemail` (the caller left a message). An event arriving "
        "late never moves it back.",
        examples=["completed"],
    )
    caller: str | None = Field(
        description="The caller's number (E.164); null when the caller withheld it.",
        examples=["+14165550123"],
    )
    dialed: str | None = Field(
        description="The number the caller dialed (E.164), which decides the line's language.",
        examples=["+18005550100"],
    )
    ivr_digit: str | None = Field(
        description="The digit the caller pressed in the IVR; `language_evidence` says whether "
        "it chose the language.",
        examples=["2"],
    )
    duration_seconds: int | None = Field(
        description="How long the call lasted (for a voicemail, the message), as the gateway "
        "reported it; null until it does.",
        examples=[342],
    )
    recording_url: str | None = Field(
        description="The recording: of the conversation for a recorded call, of the message "
        "for a voicemail; null without one.",
        examples=["https://recordings.example/CA5f3e9a.wav"],
    )
    transcribed: bool = Field(
        description="True when the gateway transcribed the voicemail: the transcription is the "
        "message's `text`.",
        examples=[False],
    )
    events: list[CallEventRead] = Field(
        description="The events received, in the order they happened (each event once).",
        examples=[
            [
                {"event": "ringing", "at": "2026-12-04T14:00:00Z"},
                {"event": "answered", "at": "2026-12-04T14:01:05Z"},
                {"event": "completed", "at": "2026-12-04T14:06:47Z"},
            ]
        ],
    )

    @classmethod
    def of(cls, message: Message) -> CallDetails | None:
        """A call's or voicemail's details from what ``ingest.calls`` stored; None for others."""
        details = message.details or {}
        state = details.get("state")
        if message.kind not in ("call", "voicemail") or state not in CALL_STATES:
            return None
        events = {
            name: data
            for name, data in (details.get("events") or {}).items()
            if name in CALL_STATES and isinstance(data, dict)
        }
        # The state's own event first, then the latest: a late event never hides a later fact.
        latest_first = sorted(
            events, key=lambda name: (name == state, _moment(events[name])), reverse=True
        )

        def latest(key: str) -> Any:
            found = (events[name].get(key) for name in latest_first)
            return next((value for value in found if value is not None), None)

        duration = latest("duration_seconds")
        recording = latest("recording_url")
        digit = latest("ivr_digit")
        return cls(
            call_id=_call_id(message),
            state=state,
            caller=message.from_address,
            dialed=message.to_addresses[0] if message.to_addresses else None,
            ivr_digit=str(digit) if digit is not None else None,
            duration_seconds=int(duration) if duration is not None else None,
            recording_url=str(recording) if recording is not None else None,
            transcribed=bool(events.get("voicemail", {}).get("transcription")),
            events=[
                CallEventRead(event=name, at=_moment(events[name]))
                for name in sorted(
                    events, key=lambda name: (_moment(events[name]), CALL_STATES.index(name))
                )
            ],
        )


class FaxDetails(Schema):
    """A fax as the fax gateway reported it."""

    fax_id: str = Field(description="The gateway's id of the fax.", examples=["FX-2026-0042"])
    pages: int | None = Field(
        description="Pages, as the gateway counted them; null when it did not say.",
        examples=[3],
    )
    sender: str | None = Field(
        description="The sender's number (E.164).", examples=["+14185550199"]
    )
    dialed: str | None = Field(
        description="The number the fax was sent to (E.164).", examples=["+15145550111"]
    )
    document_id: UUID | None = Field(
        description="The received document among the message's `attachments`; download it at "
        "`GET /inbox/v1/conversations/{conversation_id}/attachments/{document_id}`.",
    )

    @classmethod
    def of(cls, message: Message) -> FaxDetails | None:
        """A fax's details from what ``ingest.faxes`` stored; None for any other message."""
        details = message.details or {}
        if message.kind != "fax" or not details.get("fax_id"):
            return None
        pages = details.get("pages")
        return cls(
            fax_id=str(details["fax_id"]),
            pages=int(pages) if pages is not None else None,
            sender=message.from_address,
            dialed=message.to_addresses[0] if message.to_addresses else None,
            document_id=message.attachments[0].id if message.attachments else None,
        )


def _moment(event: dict[str, Any]) -> datetime:
    """When a stored call event happened; one the gateway sent without an offset is UTC."""
    try:
        at = datetime.fromisoformat(str(event.get("at")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _call_id(message: Message) -> str:
    """The gateway's call id, out of the dedupe key ``call:<gateway>:<call_id>``."""
    return message.dedupe_key.removeprefix(f"call:{message.gateway}:")


#: MessageRead's fields computed from a stored message's details, not read off it.
_DERIVED = ("call", "fax")


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
    to_addresses: list[str] = Field(
        examples=[["marie.tremblay@example.ca"]],
        description="Who it was sent to: for an email we sent, the customer's address it went "
        "to; for one we received, its To addresses; for a call or a fax, the number dialed.",
    )
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
    call: CallDetails | None = Field(
        default=None,
        description="For a call or a voicemail (kind `call` or `voicemail`): how far it went, "
        "how long it lasted, its recording; null for any other message.",
    )
    fax: FaxDetails | None = Field(
        default=None,
        description="For a fax (kind `fax`): its pages, numbers and document; null for any other "
        "message.",
    )

    @model_validator(mode="before")
    @classmethod
    def _with_call_or_fax(cls, data: Any) -> Any:
        """A stored message with its call's or fax's details, read from what its webhook kept."""
        if not isinstance(data, Message):
            return data
        values = {name: getattr(data, name) for name in cls.model_fields if name not in _DERIVED}
        return {**values, "call": CallDetails.of(data), "fax": FaxDetails.of(data)}


class ConversationSummary(Schema):
    id: UUID
    reference: str = Field(examples=["C-7K3M9QXA"], description="Quoted to customers.")
    channel: Channel
    status: ConversationStatus
    subject: str | None
    language: Language
    language_confidence: float
    routing_status: RoutingStatus = Field(
        description="Its tasks in routing: `GET /routing/v1/tasks?conversation_id={id}` lists "
        "them, and `GET /routing/v1/tasks/{task_id}` says why a waiting one waits."
    )
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
