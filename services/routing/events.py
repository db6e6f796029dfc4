"""How routing applies the events it receives from the inbox, by event type."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.engine import intake, offers, requeue
from services.routing.models import OutboxEvent
from services.routing.settings import RoutingSettings
from services.routing.stream import notices
from services.routing.tasks import callbacks
from shared.consumer import Handler
from shared.contracts.events import Event, EventEnvelope
from shared.contracts.inbox_events import (
    CallbackRequested,
    ConversationCanceled,
    ConversationEscalated,
    ConversationNeedsAgent,
    ConversationResolved,
    ConversationTransferred,
    EmailFailed,
)
from shared.contracts.routing_events import ConversationDequeued
from shared.db import utc_now
from shared.outbox import emit
from shared.problems import invalid_input

E = TypeVar("E", bound=Event)


def _parse(model: type[E], envelope: EventEnvelope) -> E:
    try:
        return model.model_validate(envelope.payload)
    except ValidationError as error:
        raise invalid_input(error.errors()) from error


def build_handlers(settings: RoutingSettings) -> dict[str, Handler]:
    """Event type → handler; events without a handler are recorded and acknowledged."""
    sticky = timedelta(seconds=settings.sticky_seconds)

    async def needs_agent(session: AsyncSession, envelope: EventEnvelope) -> None:
        event = _parse(ConversationNeedsAgent, envelope)
        request = intake.TaskRequest(
            conversation_id=event.conversation_id,
            contact_id=event.contact_id,
            message_id=event.message_id,
            channel=event.channel,
            language=event.language,
            skills=event.skills,
            attributes=event.attributes,
            priority=event.priority,
            arrived_at=event.arrived_at,
            preferred_agent_id=event.preferred_agent_id,
        )
        await intake.open_task(session, request=request, now=utc_now(), sticky=sticky)

    async def resolved(session: AsyncSession, envelope: EventEnvelope) -> None:
        event = _parse(ConversationResolved, envelope)
        now = utc_now()
        task = await offers.resolve_conversation(
            session, conversation_id=event.conversation_id, now=now, asked_at=envelope.occurred_at
        )
        if task is not None and task.state == "canceled":
            # Its ``conversation.queued`` may reach the inbox after the resolve: this follows
            # it, so that the resolved conversation does not read queued for good.
            emit(
                session,
                OutboxEvent,
                ConversationDequeued(
                    conversation_id=task.conversation_id,
                    task_id=task.id,
                    reason="resolved",
                    dequeued_at=now,
                ),
            )
        if task is not None:
            # Last: the call of a callback that waited for this task is queued after the dequeue.
            await callbacks.follow_task(session, task, sticky=sticky)

    async def canceled(session: AsyncSession, envelope: EventEnvelope) -> None:
        event = _parse(ConversationCanceled, envelope)
        task = await offers.open_task_for(session, event.conversation_id)
        if task is not None and not (event.waiting_only and task.state == "assigned"):
            now = utc_now()
            await offers.cancel_task(session, task=task, reason=event.reason[:100], now=now)
            offers.ended_by_inbox(task, reason=event.reason[:100], asked_at=envelope.occurred_at)
            # The inbox may have learnt of this task (queued, assigned) only after it asked
            # for the cancel: this tells it the task is gone, in order after those events.
            emit(
                session,
                OutboxEvent,
                ConversationDequeued(
                    conversation_id=task.conversation_id,
                    task_id=task.id,
                    reason=event.reason[:100],
                    dequeued_at=now,
                ),
            )
            await callbacks.follow_task(session, task, sticky=sticky)

    async def _requeue(session: AsyncSession, request: requeue.Requeue) -> None:
        task = await requeue.requeue_conversation(
            session, request=request, now=utc_now(), stale_after=settings.stream_stale_after
        )
        if task is not None:  # a callback's call goes on as the new task
            await callbacks.follow_task(session, task, sticky=sticky)

    async def transferred(session: AsyncSession, envelope: EventEnvelope) -> None:
        event = _parse(ConversationTransferred, envelope)
        request = requeue.Requeue(
            event_id=envelope.id,
            occurred_at=envelope.occurred_at,
            kind="transfer",
            conversation_id=event.conversation_id,
            from_agent_id=event.from_agent_id,
            to_queue_id=event.to_queue_id,
            to_agent_id=event.to_agent_id,
        )
        await _requeue(session, request)

    async def escalated(session: AsyncSession, envelope: EventEnvelope) -> None:
        event = _parse(ConversationEscalated, envelope)
        request = requeue.Requeue(
            event_id=envelope.id,
            occurred_at=envelope.occurred_at,
            kind="escalation",
            conversation_id=event.conversation_id,
            from_agent_id=event.from_agent_id,
            to_queue_id=event.to_queue_id,
            tier=event.tier,
            reason=event.reason,
        )
        await _requeue(session, request)

    async def callback_requested(session: AsyncSession, envelope: EventEnvelope) -> None:
        event = _parse(CallbackRequested, envelope)
        await requeue.schedule_callback(
            session, callback_id=envelope.id, event=event, now=utc_now()
        )

    async def email_failed(session: AsyncSession, envelope: EventEnvelope) -> None:
        await notices.email_failed(session, _parse(EmailFailed, envelope), now=utc_now())

    return {
        ConversationNeedsAgent.event_type: needs_agent,
        ConversationResolved.event_type: resolved,
        ConversationCanceled.event_type: canceled,
        ConversationTransferred.event_type: transferred,
        ConversationEscalated.event_type: escalated,
        CallbackRequested.event_type: callback_requested,
        EmailFailed.event_type: email_failed,
    }
