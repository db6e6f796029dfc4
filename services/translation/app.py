"""The translation service's app: language detection, templates and machine translation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError

from services.translation.deps import PROVIDER_EXTRA
from services.translation.detection import detector
from services.translation.detection import router as detection_router
from services.translation.mt import router as mt_router
from services.translation.mt.provider import select_provider
from services.translation.settings import TranslationSettings
from services.translation.templates import router as templates_router
from services.translation.templates.service import seed_templates, upgrade_seeds
from shared.clients.inbox import InboxClient, IntrospectingVerifier
from shared.clients.peers import peer_client
from shared.db import session_scope, utc_now
from shared.logging import get_logger
from shared.metrics import Metrics
from shared.web import ServiceContext, create_service_app

LOCALE_DIR = Path(__file__).parent / "locales"
log = get_logger(__name__)


async def _seed(context: ServiceContext) -> None:
    """Add the approved templates never offered before, and any the inbox sends found absent;
    a database that is down only logs.

    Seeding at start rather than in a migration: it adds only seeds never offered before, so
    edits and deletions stand, new seeds arrive with new releases, and a service pointed at its
    own (or an emptied) database gets its templates without re-running history. The templates
    the inbox sends by itself cannot be deleted, so one absent was lost: it comes back whole.
    A stored version still holding an earlier release's seed text, never edited, gets today's.
    """
    try:
        async with session_scope(context.require_sessions()) as session:
            now = utc_now()
            added = await seed_templates(session, now=now)
            upgraded = await upgrade_seeds(session, now=now)
    except (OSError, DBAPIError) as error:
        # start anyway: readiness reports the database, and the next start seeds
        log.warning("templates.seed_failed", error=type(error).__name__)
        return
    if added or upgraded:
        log.info("templates.seeded", added=added, upgraded=upgraded)


def create_app(
    settings: TranslationSettings,
    *,
    peers: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    metrics: Metrics | None = None,
) -> FastAPI:
    """Build the translation app; ``peers`` gives in-process transports to the other services."""
    transports = peers if peers is not None else {}

    @asynccontextmanager
    async def lifespan(app: FastAPI, context: ServiceContext) -> AsyncIterator[None]:
        inbox = peer_client(InboxClient, settings, transports)
        context.verifier = IntrospectingVerifier(inbox, ttl=settings.token_cache_seconds)
        timeout = settings.mt_timeout_seconds
        mt_http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)), follow_redirects=False
        )
        context.extras[PROVIDER_EXTRA] = select_provider(settings, mt_http)
        try:
            # Load the detection models now, not on the first request (a few seconds).
            await asyncio.to_thread(detector.warm_up)
            if settings.seed_templates:
                await _seed(context)
            yield
        finally:
            await mt_http.aclose()
            await inbox.aclose()

    return create_service_app(
        name="translation",
        title="Translation service",
        description="English/French language detection, bilingual templates rendered with "
        "Babel, and machine translation.",
        settings=settings,
        routers=[detection_router.router, templates_router.router, mt_router.router],
        locale_dirs=[LOCALE_DIR],
        lifespan=lifespan,
        metrics=metrics,
    )
