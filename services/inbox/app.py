"""The inbox service's app: routers, token verification and the outbox relay to routing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.inbox import metrics as inbox_metrics
from services.inbox.auth import router as auth_router
from services.inbox.auth.service import DatabaseVerifier
from services.inbox.blobs import BlobStore
from services.inbox.contacts import router as contacts_router
from services.inbox.conversations import router as conversations_router
from services.inbox.conversations.visibility import AgentQueuesCache
from services.inbox.events import handlers
from services.inbox.ingest import router as ingest_router
from services.inbox.ingest import telephony
from services.inbox.internal_events import AcknowledgementDue, EmailQueued
from services.inbox.models import OutboxEvent, ProcessedEvent
from services.inbox.outbound import router as outbound_router
from services.inbox.outbound.automatic import acknowledge
from services.inbox.outbound.service import Sender, send_queued_email
from services.inbox.outbound.smtp import FileTransport, MailTransport, SmtpTransport
from services.inbox.quarantine import router as quarantine_router
from services.inbox.settings import InboxSettings
from services.inbox.workspace import router as workspace_router
from services.inbox.workspace import service as workspace
from shared.clients.peers import peer_client
from shared.clients.routing import RoutingClient
from shared.clients.translation import TranslationClient
from shared.consumer import events_router
from shared.contracts.events import EventEnvelope
from shared.db import session_scope, utc_now
from shared.dead_letters import dead_letters_router
from shared.logging import get_logger
from shared.metrics import Metrics
from shared.outbox import relay_from_settings
from shared.web import ServiceContext, create_service_app
from shared.workers import Ticker, Workers

LOCALE_DIR = Path(__file__).parent / "locales"
log = get_logger(__name__)


async def _seed_dispositions(sessions: async_sessionmaker[AsyncSession]) -> None:
    try:
        async with session_scope(sessions) as session:
            await workspace.seed_dispositions(session, now=utc_now())
    except (OSError, DBAPIError) as exc:  # the service starts; readiness reports the database
        log.warning("dispositions.seed_failed", error=type(exc).__name__)


async def _wake_snoozed(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with session_scope(sessions) as session:
        await workspace.wake_snoozed(session, now=utc_now())


def mail_transport(settings: InboxSettings) -> MailTransport:
    """SMTP when a server is configured; otherwise ``.eml`` files under the data directory."""
    if not settings.smtp_host:
        return FileTransport(settings.data_dir / "mail")
    return SmtpTransport(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        timeout=settings.smtp_timeout_seconds,
    )


def create_app(
    settings: InboxSettings,
    *,
    peers: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    metrics: Metrics | None = None,
) -> FastAPI:
    """Build the inbox app; ``peers`` gives in-process transports to the other services."""
    transports = peers if peers is not None else {}
    # The running app's token verifier, once its lifespan made it (the event handlers are
    # built before): a deleted agent's tokens are forgotten by it at once.
    verifiers: list[DatabaseVerifier | None] = [None]

    def forget_tokens() -> None:
        if verifiers[0] is not None:
            verifiers[0].forget()

    @asynccontextmanager
    async def lifespan(app: FastAPI, context: ServiceContext) -> AsyncIterator[None]:
        # Every authenticated request may ask it: it must not queue behind the writers.
        context.verifier = verifiers[0] = DatabaseVerifier(
            context.require_read_sessions(), ttl=settings.token_cache_seconds
        )
        routing = peer_client(RoutingClient, settings, transports)
        translation = peer_client(TranslationClient, settings, transports)

        blobs = BlobStore(settings.data_dir / "blobs")
        mail = mail_transport(settings)
        sessions = context.require_sessions()

        sender = Sender(
            address=settings.mail_from, name=settings.mail_from_name, domain=settings.mail_domain
        )

        async def deliver(envelope: EventEnvelope) -> None:
            if envelope.type == AcknowledgementDue.event_type:
                due = AcknowledgementDue.model_validate(envelope.payload)
                await acknowledge(
                    sessions,
                    conversation_id=due.conversation_id,
                    translation=translation,
                    sender=sender,
                    blobs=blobs,
                    response_seconds=settings.acknowledgement_response_seconds,
                    quiet=timedelta(minutes=settings.automatic_quiet_minutes),
                    now=utc_now(),
                    queue_name=due.queue_name,
                    hours=due.hours,
                )
            elif envelope.type == EmailQueued.event_type:
                queued = EmailQueued.model_validate(envelope.payload)
                await send_queued_email(
                    sessions,
                    message_id=queued.message_id,
                    transport=mail,
                    blobs=blobs,
                    now=utc_now(),
                    max_queue_time=timedelta(hours=settings.outbound_max_queue_hours),
                )
            else:
                await routing.deliver_event(envelope)

        relay = relay_from_settings(
            context.require_sessions(), OutboxEvent, deliver, source="inbox", settings=settings
        )
        context.extras.update(
            relay=relay,
            routing=routing,
            agent_queues=AgentQueuesCache(ttl=settings.agent_queues_cache_seconds),
            translation=translation,
            blobs=blobs,
            mail=mail,
            deliver=deliver,
        )
        inbox_metrics.install(context)
        await _seed_dispositions(sessions)
        workers = Workers()
        if settings.run_workers:
            workers.start("inbox.outbox", relay.run, relay.stop)
            snoozes = Ticker(60.0, lambda: _wake_snoozed(sessions))
            workers.start("inbox.snoozed", snoozes.run, snoozes.stop)
        try:
            yield
        finally:
            await workers.stop()
            await routing.aclose()
            await translation.aclose()

    return create_service_app(
        name="inbox",
        title="Inbox service",
        description="Contacts, conversations and messages; the gateways' inbound webhooks and "
        "the agents' conversation API.",
        settings=settings,
        routers=[
            auth_router.router,
            ingest_router.router,
            telephony.router,
            outbound_router.router,
            workspace_router.router,
            conversations_router.router,
            contacts_router.router,
            quarantine_router.router,
            events_router(
                "/inbox/v1",
                ProcessedEvent,
                handlers(acknowledge=settings.auto_acknowledge, forget_tokens=forget_tokens),
            ),
            dead_letters_router("/inbox/v1", OutboxEvent),
        ],
        locale_dirs=[LOCALE_DIR],
        lifespan=lifespan,
        metrics=metrics,
    )
