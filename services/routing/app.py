"""The routing service's app: event intake from the inbox and its outbox relay back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from services.routing.events import HANDLERS
from services.routing.models import OutboxEvent, ProcessedEvent
from services.routing.settings import RoutingSettings
from shared.clients.inbox import InboxClient, IntrospectingVerifier
from shared.clients.peers import peer_client
from shared.consumer import events_router
from shared.contracts.events import EventEnvelope
from shared.outbox import relay_from_settings
from shared.web import ServiceContext, create_service_app
from shared.workers import Workers

LOCALE_DIR = Path(__file__).parent / "locales"


def create_app(
    settings: RoutingSettings, *, peers: Mapping[str, httpx.AsyncBaseTransport] | None = None
) -> FastAPI:
    """Build the routing app; ``peers`` gives in-process transports to the other services."""
    transports = peers if peers is not None else {}

    @asynccontextmanager
    async def lifespan(app: FastAPI, context: ServiceContext) -> AsyncIterator[None]:
        inbox = peer_client(InboxClient, settings, transports)
        context.verifier = IntrospectingVerifier(inbox, ttl=settings.token_cache_seconds)

        async def deliver(envelope: EventEnvelope) -> None:
            await inbox.deliver_event(envelope)

        relay = relay_from_settings(
            context.require_sessions(), OutboxEvent, deliver, source="routing", settings=settings
        )
        context.extras.update(relay=relay, inbox=inbox)
        workers = Workers()
        if settings.run_workers:
            workers.start("routing.outbox", relay.run, relay.stop)
        try:
            yield
        finally:
            await workers.stop()
            await inbox.aclose()

    return create_service_app(
        name="routing",
        title="Routing service",
        description="Agents, skills, languages, queues and the engine that offers each "
        "conversation to the right agent.",
        settings=settings,
        routers=[events_router("/routing/v1", ProcessedEvent, HANDLERS)],
        locale_dirs=[LOCALE_DIR],
        lifespan=lifespan,
    )
