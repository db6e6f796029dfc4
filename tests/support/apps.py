"""Running the services in a test: settings for the test database, apps with their lifespans."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from services.all_in_one import PrefixDispatcher, create_all_in_one
from services.inbox.auth.service import create_token
from services.inbox.models import OutboxEvent as InboxOutboxEvent
from services.inbox.settings import InboxSettings
from services.routing.models import OutboxEvent as RoutingOutboxEvent
from services.routing.settings import RoutingSettings
from services.translation.settings import TranslationSettings
from shared.auth import Role
from shared.clients.routing import RoutingClient
from shared.db import session_scope
from shared.outbox import OutboxEventMixin, Relay
from shared.web import ServiceContext

SERVICE_TOKEN = "test-service-token-0123456789"
OUTBOX_MODELS: dict[str, type[OutboxEventMixin]] = {
    "inbox": InboxOutboxEvent,
    "routing": RoutingOutboxEvent,
}


def settings_for(database_url: str, data_dir: Path, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments for any service's settings, pointed at the test database."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "run_workers": False,
        "service_token": SERVICE_TOKEN,
        "log_json": True,
        "token_cache_seconds": 0,
        # Tests about acknowledgements turn them on; elsewhere they would only add mail.
        "auto_acknowledge": False,
    }
    values.update(overrides)
    return values


@dataclass
class Running:
    """The all-in-one app under test, a client for it, and handles on each service."""

    app: PrefixDispatcher
    client: httpx.AsyncClient

    def service(self, name: str) -> FastAPI:
        app = self.app.services[f"/{name}"]
        assert isinstance(app, FastAPI)
        return app

    def context(self, name: str) -> ServiceContext:
        context: ServiceContext = self.service(name).state.context
        return context

    def relay(self, name: str) -> Relay:
        relay = self.context(name).extras["relay"]
        assert isinstance(relay, Relay)
        return relay

    def relay_now(self, name: str) -> Relay:
        """The service's relay with no backoff, so a failed delivery is due again at once."""
        context = self.context(name)
        return Relay(
            context.require_sessions(),
            OUTBOX_MODELS[name],
            context.extras["deliver"],
            source=name,
            max_backoff_seconds=0,
        )

    async def deliver_all(self) -> None:
        """Deliver every pending event both ways (inbox ↔ routing) until none is left."""
        inbox, routing = self.relay_now("inbox"), self.relay_now("routing")
        while await inbox.run_once() + await routing.run_once():
            pass

    async def token(self, role: Role, *, agent_id: Any = None, name: str = "test") -> str:
        """A new API token of this role, stored through the inbox's own service code."""
        async with session_scope(self.context("inbox").require_sessions()) as session:
            _, secret = await create_token(session, role=role, name=name, agent_id=agent_id)
        return secret


@asynccontextmanager
async def running_all_in_one(
    database_url: str, data_dir: Path, **overrides: Any
) -> AsyncIterator[Running]:
    """Start the three services in one app (lifespans included) and yield a client for it."""
    common = settings_for(database_url, data_dir, **overrides)
    dispatcher = create_all_in_one(
        InboxSettings(**common), RoutingSettings(**common), TranslationSettings(**common)
    )
    assert isinstance(dispatcher, PrefixDispatcher)
    root = dispatcher.default
    assert isinstance(root, FastAPI)
    async with root.router.lifespan_context(root):
        transport = httpx.ASGITransport(app=dispatcher)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Running(app=dispatcher, client=client)


@asynccontextmanager
async def serving(app: FastAPI, base_url: str = "http://probe") -> AsyncIterator[httpx.AsyncClient]:
    """Run one service app's lifespan and yield a client over ASGI for it."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as client,
    ):
        yield client


@asynccontextmanager
async def routing_unreachable(app: Running) -> AsyncIterator[None]:
    """While the block runs, the inbox reaches routing at a port nobody listens on."""
    context = app.context("inbox")
    routing = context.extras["routing"]
    down = RoutingClient(base_url="http://127.0.0.1:1", token=None, timeout=1.0)
    context.extras["routing"] = down
    try:
        yield
    finally:
        context.extras["routing"] = routing
        await down.aclose()
