"""How the inbox applies the events it receives from routing, by event type."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import sqlalchemy.event
from sqlalchemy.ext.asyncio import AsyncSession

from services.inbox.auth import service as auth
from services.inbox.conversations import service as conversations
from services.inbox.internal_events import AcknowledgementDue
from services.inbox.models import Conversation, OutboxEvent
from shared.consumer import Handler
from shared.contracts.events import EventEnvelope
from shared.contracts.routing_events import (
    AgentDeleted,
    ConversationAssigned,
    ConversationDequeued,
    ConversationQueued,
    ConversationReleased,
)
from shared.db import utc_now
from shared.outbox import emit


def _replaced(conversation: Conversation, task_id: UUID) -> bool:
    """True for an event about the task the inbox asked routing to end (a transfer, an
    escalation, a resolve): routing sent it before it applied that request (an offer accepted
    just before a transfer), so it no longer says where the conversation stands."""
    return conversation.replaced_task_id is not None and conversation.replaced_task_id == task_id


def _other_task(conversation: Conversation, task_id: UUID) -> bool:
    """True when the conversation follows another routing task than the event's (one known:
    a conversation whose events predate ``routing_task_id`` takes them as before)."""
    return conversation.routing_task_id is not None and conversation.routing_task_id != task_id


def queued_handler(*, acknowledge: bool) -> Handler:
    """The ``conversation.queued`` handler; with ``acknowledge``, a new email conversation's
    first queue asks for its automatic reply, with the queue's hours (open or closed)."""

    async def on_queued(session: AsyncSession, envelope: EventEnvelope) -> None:
        """Show which queue the conversation waits in.

        Routing's events of a conversation arrive in order and it keeps one open task per
        conversation, so a task queued after another one's assignment replaced it (a transfer,
        an escalation): the conversation waits again, nobody's. Only the assigned task's own
        ``queued``, or one about a task the inbox asked routing to end, is out of date.
        """
        event = ConversationQueued.model_validate(envelope.payload)
        conversation = await session.get(Conversation, event.conversation_id, with_for_update=True)
        if conversation is None or _replaced(conversation, event.task_id):
            return
        if (
            conversation.routing_status == "assigned"
            and conversation.routing_task_id == event.task_id
        ):
            return
        first_queue = conversation.queue_id is None
        conversation.routing_status = "queued"
        conversation.routing_task_id = event.task_id
        held_by = conversation.assignee_agent_id
        if held_by is not None and conversation.status in conversations.OPEN_STATUSES:
            # Waiting in a queue, it is nobody's until an agent accepts it, so that the
            # queue's agents see it; the agent who had it is preferred (``last_agent_id``).
            conversation.last_agent_id, conversation.assignee_agent_id = held_by, None
        conversation.queue_id, conversation.queue_name = event.queue_id, event.queue_name
        conversations.touch(conversation, now=utc_now())
        # Faxes have no address to answer and calls hear the closed message from the gateway.
        if acknowledge and first_queue and conversation.channel == "email":
            emit(
                session,
                OutboxEvent,
                AcknowledgementDue(
                    conversation_id=conversation.id, queue_name=event.queue_name, hours=event.hours
                ),
            )

    return on_queued


async def on_assigned(session: AsyncSession, envelope: EventEnvelope) -> None:
    """Record the agent who accepted the conversation, and the queue it took it from.

    An accept of a task the inbox has since asked routing to end (a transfer or an escalation
    made before the accept reached it, a resolve) is ignored: routing ends that task and the
    agent no longer has the conversation. An event without the queue's name (from a routing
    that did not send it) leaves the name as it was in the same queue, and unknown in another.
    """
    event = ConversationAssigned.model_validate(envelope.payload)
    conversation = await session.get(Conversation, event.conversation_id, with_for_update=True)
    if conversation is None or _replaced(conversation, event.task_id):
        return
    conversation.routing_status = "assigned"
    conversation.routing_task_id = event.task_id
    conversation.assignee_agent_id = event.agent_id
    conversation.last_agent_id = event.agent_id
    if event.queue_name is not None:
        conversation.queue_name = event.queue_name
    elif conversation.queue_id != event.queue_id:
        conversation.queue_name = None
    conversation.queue_id = event.queue_id
    conversations.touch(conversation, now=utc_now())


async def on_dequeued(session: AsyncSession, envelope: EventEnvelope) -> None:
    """Routing ended the task the inbox canceled, or resolved before anyone took it: no agent
    is sought any more.

    The task's ``conversation.queued`` or ``conversation.assigned`` may have arrived after
    the inbox canceled it (a call abandoned before routing read its ringing) or resolved the
    conversation; this event comes after them. A conversation waiting for a new request
    (``needs_agent``) keeps it.
    """
    event = ConversationDequeued.model_validate(envelope.payload)
    conversation = await session.get(Conversation, event.conversation_id, with_for_update=True)
    if conversation is None or conversation.routing_status not in ("queued", "assigned"):
        return
    if _other_task(conversation, event.task_id):
        return  # an older task's: the conversation waits in, or is held through, another one
    # A resolved conversation seeks no one, and was not refused anyone either.
    ended = conversation.status in ("resolved", "closed")
    conversation.routing_status = "none" if ended else "not_routed"
    conversation.last_agent_id = conversation.assignee_agent_id or conversation.last_agent_id
    conversation.assignee_agent_id = None
    conversations.touch(conversation, now=utc_now())


async def on_released(session: AsyncSession, envelope: EventEnvelope) -> None:
    """The agent's task ended in routing (completed, or the conversation resolved): the
    conversation no longer reads assigned, so the customer's next message asks routing for an
    agent again, preferring this one (``last_agent_id``).

    The agent stays its assignee, as after a resolve: it still reads the conversation to write
    its note, set the disposition, schedule a callback or resolve it. Its status is unchanged.
    A conversation that is no longer this agent's (handed on, or given to another agent since,
    or held through another task of the same agent's) is left as it is, and so is one already
    told.
    """
    event = ConversationReleased.model_validate(envelope.payload)
    conversation = await session.get(Conversation, event.conversation_id, with_for_update=True)
    if (
        conversation is None
        or conversation.routing_status != "assigned"
        or conversation.assignee_agent_id != event.agent_id
        or _other_task(conversation, event.task_id)
    ):
        return
    conversation.routing_status = "none"
    conversation.last_agent_id = event.agent_id
    conversations.touch(conversation, now=utc_now())


def agent_deleted_handler(*, forget_tokens: Callable[[], None]) -> Handler:
    """The ``agent.deleted`` handler: the agent's API tokens stop working (revoked, listed as
    such), at once in this process: ``forget_tokens`` drops the inbox's cached token answers
    once the revocation is committed. Other processes' caches, and routing's and translation's,
    keep an answer up to ``*_TOKEN_CACHE_SECONDS``.

    Applied once per event (a redelivery changes nothing) and only to tokens not revoked yet.
    """

    async def on_agent_deleted(session: AsyncSession, envelope: EventEnvelope) -> None:
        event = AgentDeleted.model_validate(envelope.payload)
        if await auth.revoke_agent_tokens(session, agent_id=event.agent_id, now=utc_now()):
            # After the commit: a check made before it would cache the token as valid again.
            sqlalchemy.event.listen(
                session.sync_session, "after_commit", lambda _: forget_tokens(), once=True
            )

    return on_agent_deleted


def handlers(*, acknowledge: bool, forget_tokens: Callable[[], None]) -> dict[str, Handler]:
    """Event type → handler; events without one are recorded and acknowledged.

    ``acknowledge`` is ``INBOX_AUTO_ACKNOWLEDGE``: whether new email conversations get an
    automatic reply once routing has placed them. ``forget_tokens`` drops the process's
    cached token answers.
    """
    return {
        ConversationQueued.event_type: queued_handler(acknowledge=acknowledge),
        ConversationAssigned.event_type: on_assigned,
        ConversationDequeued.event_type: on_dequeued,
        ConversationReleased.event_type: on_released,
        AgentDeleted.event_type: agent_deleted_handler(forget_tokens=forget_tokens),
    }
