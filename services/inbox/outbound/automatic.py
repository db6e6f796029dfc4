"""Automatic acknowledgements: who may get one, and sending it once per thread."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.inbox.blobs import BlobStore
from services.inbox.conversations import service as conversations
from services.inbox.models import Message
from services.inbox.outbound.service import OutgoingContent, Sender, queue_email
from shared.clients.translation import TranslationClient
from shared.contracts.translation import TemplateRenderRequest
from shared.db import session_scope
from shared.logging import get_logger

log = get_logger(__name__)
ACKNOWLEDGEMENT_TEMPLATE = "email.acknowledgement"
_NO_REPLY = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]?daemon|postmaster|bounces?)([+._-].*)?@",
    re.IGNORECASE,
)


def may_acknowledge(address: str | None) -> bool:
    """Whether an automatic message may go to this sender (not no-reply, daemons or bounces)."""
    return bool(address) and "@" in (address or "") and not _NO_REPLY.match(address or "")


async def acknowledge(
    sessions: async_sessionmaker[AsyncSession],
    *,
    conversation_id: uuid.UUID,
    translation: TranslationClient,
    sender: Sender,
    blobs: BlobStore,
    response_seconds: int,
    quiet: timedelta,
    now: datetime,
) -> bool:
    """Queue the acknowledgement once; False when the thread had an automatic message lately."""
    key = f"ack:{conversation_id}"
    async with sessions() as session:
        conversation = await conversations.get_conversation(session, conversation_id)
        if await _recent_automatic(session, conversation_id, since=now - quiet, key=key):
            return False
        first_sender = _first_sender(conversation.messages)
        if not may_acknowledge(first_sender):
            return False
        customer = conversation.contact.display_name or first_sender
        locale = conversation.language if conversation.language in ("en", "fr") else "und"
    rendered = await translation.render_template(
        ACKNOWLEDGEMENT_TEMPLATE,
        TemplateRenderRequest(
            locale=f"{locale}-CA" if locale != "und" else "und",
            variables={
                "customer_name": customer or "",
                "reference": conversation.reference,
                "response_time": response_seconds,
            },
        ),
    )
    async with session_scope(sessions) as session:
        if await session.scalar(select(Message.id).where(Message.dedupe_key == key)):
            return False
        conversation = await conversations.get_conversation(session, conversation_id)
        await queue_email(
            session,
            conversation,
            OutgoingContent(
                subject=rendered.subject, text=rendered.body, html=None, language=locale
            ),
            dedupe_key=key,
            author_agent_id=None,
            sender=sender,
            blobs=blobs,
            now=now,
            kind="automatic",
        )
    log.info("acknowledgement.queued", conversation_id=str(conversation_id))
    return True


def _first_sender(messages: list[Message]) -> str | None:
    for message in messages:
        if message.direction == "inbound" and message.from_address:
            return message.from_address
    return None


async def _recent_automatic(
    session: AsyncSession, conversation_id: uuid.UUID, *, since: datetime, key: str
) -> bool:
    found = await session.scalar(
        select(Message.id)
        .where(
            Message.conversation_id == conversation_id,
            Message.kind == "automatic",
            (Message.received_at >= since) | (Message.dedupe_key == key),
        )
        .limit(1)
    )
    return found is not None
