"""The events endpoint a service exposes to its peers' relays: each event applied at most once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal, Role
from shared.contracts.events import EventAck, EventEnvelope
from shared.logging import get_logger
from shared.outbox import ProcessedEventMixin, record_processed
from shared.schemas import problem_responses
from shared.web import SessionDep, require_roles

log = get_logger(__name__)

Handler = Callable[[AsyncSession, EventEnvelope], Awaitable[None]]


def events_router(
    prefix: str, processed: type[ProcessedEventMixin], handlers: Mapping[str, Handler]
) -> APIRouter:
    """``POST {prefix}/events``: apply a delivered event and record its id, in one transaction."""
    router = APIRouter(prefix=prefix, tags=["events"])

    @router.post(
        "/events",
        summary="Receive an event from another service's outbox (service credential only)",
        description="Idempotent by event id: a redelivered event is acknowledged, not reapplied. "
        "Unknown event types are recorded and acknowledged.",
        responses=problem_responses(401, 403, 422, 503),
    )
    async def receive_event(
        envelope: EventEnvelope,
        session: SessionDep,
        _: Annotated[Principal, Depends(require_roles(Role.SERVICE))],
    ) -> EventAck:
        if not await record_processed(session, processed, envelope):
            return EventAck(id=envelope.id, applied=False)
        handler = handlers.get(envelope.type)
        if handler is not None:
            await handler(session, envelope)
        log.info("event.applied", event_id=str(envelope.id), event_type=envelope.type)
        return EventAck(id=envelope.id, applied=True)

    return router
