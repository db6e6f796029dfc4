"""The routing service's app: agents, queues, tasks and offers, the engine loop, agent streams,
event intake from the inbox and its outbox relay back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError, IntegrityError

from services.routing import metrics as routing_metrics
from services.routing import signals
from services.routing.agents import router as agents_router
from services.routing.engine.loop import RoutingEngine
from services.routing.engine.translation_check import TranslationCheck
from services.routing.events import build_handlers
from services.routing.models import OutboxEvent, ProcessedEvent
from services.routing.queues import router as queues_router
from services.routing.queues.seed import seed_default_queues
from services.routing.settings import RoutingSettings
from services.routing.stream import router as stream_router
from services.routing.stream.broker import AgentBroker, PostgresFanout
from services.routing.tasks import router as tasks_router
from shared.clients.inbox import InboxClient, IntrospectingVerifier
from shared.clients.peers import peer_client
from shared.clients.translation import TranslationClient
from shared.consumer import events_router
from shared.contracts.events import EventEnvelope
from shared.db import session_scope, utc_now
from shared.dead_letters import dead_letters_router
from shared.logging import get_logger
from shared.metrics import Metrics
from shared.outbox import relay_from_settings
from shared.web import ServiceContext, create_service_app
from shared.workers import Workers

LOCALE_DIR = Path(__file__).parent / "locales"
log = get_logger(__name__)


async def _seed(context: ServiceContext, settings: RoutingSettings) -> None:
    try:
        async with session_scope(context.require_sessions()) as session:
            created = await seed_default_queues(
                session, time_zone=settings.default_time_zone, now=utc_now()
            )
    except IntegrityError:
        # Another replica starting at the same moment seeded them first.
        created = 0
    except (OSError, DBAPIError) as exc:
        # Start anyway: readiness reports the database, and the next start seeds.
        log.warning("routing.seed_failed", error=type(exc).__name__)
        created = 0
    if created:
        log.info("routing.default_queues_seeded", count=created)


def _translation_check(
    settings: RoutingSettings, transports: Mapping[str, httpx.AsyncBaseTransport]
) -> TranslationCheck:
    """Asks translation whether machine translation is on; without its URL (routing run apart
    and ROUTING_TRANSLATION_URL unset) it counts as off, and other_language steps never apply."""
    client = None
    if "translation" in transports or settings.translation_url:
        client = peer_client(TranslationClient, settings, transports)
    else:
        log.warning("routing.translation_not_configured", setting="ROUTING_TRANSLATION_URL")
    return TranslationCheck(client, ttl=settings.translation_check_seconds)


def create_app(
    settings: RoutingSettings,
    *,
    peers: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    metrics: Metrics | None = None,
) -> FastAPI:
    """Build the routing app; ``peers`` gives in-process transports to the other services."""
    transports = peers if peers is not None else {}

    @asynccontextmanager
    async def lifespan(app: FastAPI, context: ServiceContext) -> AsyncIterator[None]:
        inbox = peer_client(InboxClient, settings, transports)
        context.verifier = IntrospectingVerifier(inbox, ttl=settings.token_cache_seconds)
        sessions = context.require_sessions()

        async def deliver(envelope: EventEnvelope) -> None:
            await inbox.deliver_event(envelope)

        relay = relay_from_settings(
            sessions, OutboxEvent, deliver, source="routing", settings=settings
        )
        translation = _translation_check(settings, transports)
        engine = RoutingEngine(sessions, settings, translation)
        broker = AgentBroker()
        signals.install(
            sessions,
            on_match=engine.wake,
            on_agents=broker.publish,
            on_deadline=engine.plan,
            on_queues=engine.forget_queues,
        )
        context.extras.update(
            relay=relay,
            deliver=deliver,
            inbox=inbox,
            engine=engine,
            broker=broker,
            translation=translation,
        )
        routing_metrics.install(context)
        if settings.seed_default_queues:
            await _seed(context, settings)
        workers = Workers()
        if settings.run_workers:
            workers.start("routing.outbox", relay.run, relay.stop)
            workers.start("routing.engine", engine.run, engine.stop)
            if not settings.is_sqlite:
                fanout = PostgresFanout(broker, settings.database_url)
                workers.start("routing.fanout", fanout.run, fanout.stop)
        try:
            yield
        finally:
            await workers.stop()
            await inbox.aclose()
            if translation.client is not None:
                await translation.client.aclose()

    return create_service_app(
        name="routing",
        title="Routing service",
        description="Agents, skills, languages, queues and the engine that offers each "
        "conversation to the right agent.",
        settings=settings,
        routers=[
            agents_router.router,
            queues_router.router,
            tasks_router.router,
            stream_router.router,
            events_router("/routing/v1", ProcessedEvent, build_handlers(settings)),
            dead_letters_router("/routing/v1", OutboxEvent),
        ],
        locale_dirs=[LOCALE_DIR],
        lifespan=lifespan,
        metrics=metrics,
    )
