"""Inbound faxes: stored once by fax id, the document kept as an attachment, then routed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.inbox.contacts import service as contacts
from services.inbox.conversations import service as conversations
from services.inbox.errors import FaxDocumentType
from services.inbox.ingest.service import (
    IngestResult,
    claim_message,
    find_duplicate,
    needs_agent,
)
from services.inbox.models import Attachment, Message, OutboxEvent
from shared.errors import FieldError
from shared.outbox import emit

#: Why a fax's document is refused (its French is in the inbox catalog).
REASON_NOT_PDF_OR_TIFF = "Must be a PDF or a TIFF file."
#: TIFF's two byte orders (fax servers write multi-page TIFF, class F, in either).
_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*")
#: PDF readers look for the %PDF- header within the first 1024 bytes, not only at the start.
_PDF_HEADER_WITHIN = 1024


@dataclass(frozen=True)
class FaxInput:
    """A received fax, numbers in E.164, the document stored, the language decided."""

    gateway: str
    fax_id: str
    sender: str
    dialed: str | None
    pages: int | None
    received_at: datetime | None
    ocr_text: str | None
    document_sha256: str
    document_size: int
    document_type: str
    document_name: str
    language: str
    language_confidence: float
    language_evidence: list[str]


def document_type(document: bytes) -> str:
    """The media type of a fax's document as its bytes show it, whatever the gateway declared:
    application/pdf or image/tiff; FaxDocumentType (415, naming the field) for any other file."""
    if document.startswith(_TIFF_SIGNATURES):
        return "image/tiff"
    if b"%PDF-" in document[:_PDF_HEADER_WITHIN]:
        return "application/pdf"
    raise FaxDocumentType(
        errors=[FieldError("document", "not_pdf_or_tiff", REASON_NOT_PDF_OR_TIFF)]
    )


def document_name(fax_id: str, content_type: str) -> str:
    """The name a document the gateway sent without one is given: its fax id and type."""
    return f"fax-{fax_id}.{'tif' if content_type == 'image/tiff' else 'pdf'}"


def fax_key(gateway: str, fax_id: str) -> str:
    """The dedupe key of a fax."""
    return f"fax:{gateway}:{fax_id}"[:700]


async def ingest_fax(session: AsyncSession, fax: FaxInput, *, now: datetime) -> IngestResult:
    """Store the fax once and ask routing for an agent."""
    key = fax_key(fax.gateway, fax.fax_id)
    message = Message(
        id=uuid.uuid4(),
        dedupe_key=key,
        direction="inbound",
        channel="fax",
        kind="fax",
        status="accepted",
        gateway=fax.gateway,
        from_address=fax.sender,
        to_addresses=[fax.dialed] if fax.dialed else [],
        text=fax.ocr_text,
        language=fax.language,
        language_confidence=fax.language_confidence,
        language_evidence=fax.language_evidence,
        references=[],
        auto_reply_signals=[],
        # Shown to agents as the message's `fax` (conversations.schemas.FaxDetails).
        details={"pages": fax.pages, "fax_id": fax.fax_id},
        sent_at=fax.received_at,
        received_at=now,
    )
    if not await claim_message(session, message):
        earlier = await find_duplicate(session, key)
        if earlier is None:
            raise RuntimeError("dedupe key conflict without a stored message")
        return earlier
    contact, _ = await contacts.find_or_create(session, kind="fax", value=fax.sender)
    conversation = await conversations.open_for_contact(
        session,
        contact_id=contact.id,
        channel="fax",
        inbox_address=fax.dialed,
        language=fax.language,
        language_confidence=fax.language_confidence,
        now=now,
    )
    message.conversation_id = conversation.id
    session.add(
        Attachment(
            id=uuid.uuid4(),
            message_id=message.id,
            position=0,
            filename=fax.document_name[:500],
            content_type=fax.document_type[:200],
            size=fax.document_size,
            sha256=fax.document_sha256,
            inline=False,
            stored=True,
        )
    )
    conversations.mark_message(conversation, now=now)
    if conversation.routing_status in ("none", "not_routed"):
        conversation.routing_status = "needs_agent"
        emit(
            session,
            OutboxEvent,
            needs_agent(
                conversation,
                message_id=message.id,
                contact_id=contact.id,
                channel="fax",
                now=now,
                attributes={"dialed": fax.dialed or ""},
            ),
        )
    await session.flush()
    return IngestResult(
        message_id=message.id,
        conversation_id=conversation.id,
        contact_id=contact.id,
        duplicate=False,
        status="accepted",
        language=fax.language,
    )
