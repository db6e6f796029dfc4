"""Conversations the inbox has, for routing tests that drive routing by events as the inbox would:
routing's callback API asks the inbox whether a conversation exists."""

from __future__ import annotations

import uuid

from services.inbox.conversations.service import new_conversation
from services.inbox.models import Contact, Conversation
from shared.db import session_scope, utc_now
from tests.support.apps import Running


async def inbox_has(app: Running, conversation_id: str | uuid.UUID, language: str = "fr") -> None:
    """Make sure the inbox has a conversation with this id (a bare one, with its contact)."""
    wanted = uuid.UUID(str(conversation_id))
    async with session_scope(app.context("inbox").require_sessions()) as session:
        if await session.get(Conversation, wanted) is not None:
            return
        now = utc_now()
        contact = Contact(id=uuid.uuid4(), created_at=now, updated_at=now)
        session.add(contact)
        await session.flush()
        conversation = new_conversation(
            contact_id=contact.id,
            channel="phone",
            subject=None,
            normalized_subject=None,
            inbox_address=None,
            language=language,
            language_confidence=1.0,
            now=now,
        )
        conversation.id = wanted
        session.add(conversation)
