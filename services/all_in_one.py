"""The composition root for one process: the three services on one port, wired in process."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from services.inbox.app import create_app as create_inbox_app
from services.inbox.settings import InboxSettings
from services.routing.app import create_app as create_routing_app
from services.routing.settings import RoutingSettings
from services.translation.app import create_app as create_translation_app
from services.translation.settings import TranslationSettings

SERVICE_NAMES = ("inbox", "routing", "translation")
_SHARED_PATHS = {"/healthz", "/readyz"}


class PrefixDispatcher:
    """Sends ``/<service>/…`` requests to that service's app and everything else to ``default``."""

    def __init__(self, default: ASGIApp, services: dict[str, ASGIApp]) -> None:
        self.default = default
        self.services = {f"/{name}": app for name, app in services.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path: str = scope["path"]
            for prefix, app in self.services.items():
                if path == prefix or path.startswith(prefix + "/"):
                    await app(scope, receive, send)
                    return
        await self.default(scope, receive, send)


def merged_openapi(apps: dict[str, FastAPI]) -> dict[str, Any]:
    """One OpenAPI document with every service's paths; schema names must not clash."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Bilingual inbox",
            "version": "0.1.0",
            "description": "English/French omnichannel inbox: the inbox, routing and "
            "translation services in one process. Every endpoint but health needs "
            "`Authorization: Bearer <token>`; errors are RFC 9457 problem+json in English "
            "or French (`Accept-Language`).",
        },
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
        "tags": [],
    }
    for name, app in apps.items():
        spec = app.openapi()
        for path, operations in spec.get("paths", {}).items():
            if path in _SHARED_PATHS:
                continue
            for operation in operations.values():
                operation["tags"] = [f"{name}: {tag}" for tag in operation.get("tags", [])] or [
                    name
                ]
            document["paths"][path] = operations
        components = spec.get("components", {})
        for kind in ("schemas", "securitySchemes"):
            for key, schema in components.get(kind, {}).items():
                existing = document["components"][kind].get(key)
                if existing is not None and existing != schema:
                    raise RuntimeError(f"OpenAPI {kind} '{key}' differs between services")
                document["components"][kind][key] = schema
    for name in ("health",):
        document["tags"].append({"name": name})
    return document


def create_all_in_one(
    inbox: InboxSettings, routing: RoutingSettings, translation: TranslationSettings
) -> ASGIApp:
    """The three services in one ASGI app, talking to each other over in-process transports."""
    if inbox.service_token is None:
        # In one process the services' shared secret never leaves memory: make one per start.
        token = SecretStr(secrets.token_urlsafe(32))
        inbox = inbox.model_copy(update={"service_token": token})
        routing = routing.model_copy(update={"service_token": token})
        translation = translation.model_copy(update={"service_token": token})
    transports: dict[str, httpx.AsyncBaseTransport] = {}
    apps: dict[str, FastAPI] = {
        "inbox": create_inbox_app(inbox, peers=transports),
        "routing": create_routing_app(routing, peers=transports),
        "translation": create_translation_app(translation, peers=transports),
    }
    for name, app in apps.items():
        transports[name] = httpx.ASGITransport(app=app)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for app in apps.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            yield

    root = FastAPI(title="Bilingual inbox", lifespan=lifespan, docs_url=None, openapi_url=None)
    spec_cache: dict[str, Any] = {}

    @root.get("/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        if not spec_cache:
            spec_cache.update(merged_openapi(apps))
        return JSONResponse(spec_cache)

    @root.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Bilingual inbox — API")

    @root.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @root.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        language = request.headers.get("accept-language", "")
        for name in SERVICE_NAMES:
            async with httpx.AsyncClient(
                transport=transports[name], base_url=f"http://{name}.internal"
            ) as client:
                answer = await client.get("/readyz", headers={"Accept-Language": language})
            if answer.status_code != 200:
                return Response(answer.content, answer.status_code, headers=dict(answer.headers))
        return JSONResponse({"status": "ready"})

    return PrefixDispatcher(root, dict(apps))
