"""Automatic replies to new email conversations: who may get one, and sending it once per thread.

A new conversation gets one automatic message, never two. It waits until routing has placed the
conversation in a queue (``conversation.queued`` carries the queue's hours): in an open queue the
acknowledgement goes out, in a closed one (outside hours, a holiday) the out-of-hours notice goes
out in its place, with the hours and the reopening in the customer's language. Both share one
dedupe key, so the conversation gets at most one of them however often the request is delivered.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.inbox.blobs import BlobStore
from services.inbox.conversations import service as conversations
from services.inbox.errors import NoEmailRecipient
from services.inbox.models import Message
from services.inbox.no_reply import is_no_reply
from services.inbox.outbound.service import (
    OutgoingContent,
    Sender,
    can_write_to,
    customer_address,
    queue_email,
)
from services.inbox.outbound.templates import greeting_name
from shared.clients.translation import TranslationClient
from shared.contracts.routing_events import QueueHours
from shared.contracts.translation import RenderedTemplate, TemplateRenderRequest
from shared.db import session_scope
from shared.logging import get_logger

log = get_logger(__name__)
ACKNOWLEDGEMENT_TEMPLATE = "email.acknowledgement"
OUT_OF_HOURS_TEMPLATE = "notice.out_of_hours"
#: Routing statuses of a conversation routing places (or has placed) in a queue.
_ROUTED = ("needs_agent", "queued", "assigned")


def may_acknowledge(address: str | None) -> bool:
    """Whether an automatic message may go to this sender (an address mail can be sent to, not
    no-reply, daemons or bounces)."""
    return can_write_to(address) and not is_no_reply(address)


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
    queue_name: str | None = None,
    hours: QueueHours | None = None,
) -> bool:
    """Queue the conversation's automatic reply once; False when nothing was queued.

    Routing's ``conversation.queued`` asks, with the queue and its ``hours``: a closed queue
    gets the out-of-hours notice instead of the acknowledgement. Asked without a queue for a
    conversation routing still places, it waits for that answer. ``queue_name`` is passed to the
    notice because its required variables include it (older stored texts show it); the seeded
    text no longer does, queue names being staff labels.
    """
    key = f"ack:{conversation_id}"
    async with sessions() as session:
        conversation = await conversations.get_conversation(session, conversation_id)
        if queue_name is None and conversation.routing_status in _ROUTED:
            log.info("acknowledgement.waits_for_queue", conversation_id=str(conversation_id))
            return False
        if await _recent_automatic(session, conversation_id, since=now - quiet, key=key):
            return False
        # The customer's address: a web form's no-reply sender has the customer in Reply-To.
        try:
            recipient = await customer_address(session, conversation)
        except NoEmailRecipient:
            return False
        if not may_acknowledge(recipient):
            return False
        customer = greeting_name(conversation.contact.display_name)
        locale = conversation.language if conversation.language in ("en", "fr") else "und"
    closed = hours if hours and not hours.open and {"en", "fr"} <= hours.summary.keys() else None
    if closed is not None:
        rendered = await _out_of_hours_notice(translation, locale, queue_name or "", closed)
    else:
        rendered = await translation.render_template(
            ACKNOWLEDGEMENT_TEMPLATE,
            TemplateRenderRequest(
                locale=locale,
                variables={
                    # empty without a name: "Hello {customer_name}," then reads "Hello,"
                    "customer_name": customer,
                    "reference": conversation.reference,
                    "response_time": response_seconds,
                },
            ),
        )
    async with session_scope(sessions) as session:
        if await session.scalar(select(Message.id).where(Message.dedupe_key == key)):
            return False
        conversation = await conversations.get_conversation(session, conversation_id)
        queued = await queue_email(
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
    if queued is None:  # another replica queued it meanwhile
        return False
    event = "acknowledgement.queued" if closed is None else "out_of_hours.queued"
    log.info(event, conversation_id=str(conversation_id))
    return True


async def _out_of_hours_notice(
    translation: TranslationClient, locale: str, queue_name: str, hours: QueueHours
) -> RenderedTemplate:
    """The notice in the customer's language, or in both (``und``), each with the hours
    written in its own language."""
    return await translation.render_template(
        OUT_OF_HOURS_TEMPLATE,
        TemplateRenderRequest(
            locale=locale,
            variables={"queue_name": queue_name},
            language_variables={
                "fr": {"hours": hours.summary["fr"]},
                "en": {"hours": hours.summary["en"]},
            },
        ),
    )


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
