"""How the inbox applies the events it receives from routing, by event type."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.inbox.conversations import service as conversations
from services.inbox.models import Conversation
from shared.consumer import Handler
from shared.contracts.events import EventEnvelope
from shared.contracts.routing_events import ConversationAssigned, ConversationQueued
from shared.db import utc_now


async def on_queued(session: AsyncSession, envelope: EventEnvelope) -> None:
    """Show which queue the conversation waits in."""
    event = ConversationQueued.model_validate(envelope.payload)
    conversation = await session.get(Conversation, event.conversation_id)
    if conversation is None or conversation.routing_status == "assigned":
        return
    conversation.routing_status = "queued"
    conversation.queue_id, conversation.queue_name = event.queue_id, event.queue_name
    conversations.touch(conversation, now=utc_now())


async def on_assigned(session: AsyncSession, envelope: EventEnvelope) -> None:
    """Record the agent who accepted the conversation."""
    event = ConversationAssigned.model_validate(envelope.payload)
    conversation = await session.get(Conversation, event.conversation_id)
    if conversation is None:
        return
    conversation.routing_status = "assigned"
    conversation.assignee_agent_id = event.agent_id
    conversation.last_agent_id = event.agent_id
    conversation.queue_id = event.queue_id
    conversations.touch(conversation, now=utc_now())


#: Event type → handler; events without one are recorded and acknowledged.
HANDLERS: dict[str, Handler] = {
    ConversationQueued.event_type: on_queued,
    ConversationAssigned.event_type: on_assigned,
}
