"""The translation service's app: language detection, templates and machine translation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from services.translation.settings import TranslationSettings
from shared.clients.inbox import InboxClient, IntrospectingVerifier
from shared.clients.peers import peer_client
from shared.web import ServiceContext, create_service_app

LOCALE_DIR = Path(__file__).parent / "locales"


def create_app(
    settings: TranslationSettings,
    *,
    peers: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """Build the translation app; ``peers`` gives in-process transports to the other services."""
    transports = peers if peers is not None else {}

    @asynccontextmanager
    async def lifespan(app: FastAPI, context: ServiceContext) -> AsyncIterator[None]:
        inbox = peer_client(InboxClient, settings, transports)
        context.verifier = IntrospectingVerifier(inbox, ttl=settings.token_cache_seconds)
        try:
            yield
        finally:
            await inbox.aclose()

    return create_service_app(
        name="translation",
        title="Translation service",
        description="English/French language detection, bilingual templates rendered with "
        "Babel, and machine translation.",
        settings=settings,
        routers=[],
        locale_dirs=[LOCALE_DIR],
        lifespan=lifespan,
    )
