"""The composition root for one process: the three services on one port, wired in process."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from services.inbox.app import create_app as create_inbox_app
from services.inbox.settings import InboxSettings
from services.routing.app import create_app as create_routing_app
from services.routing.settings import RoutingSettings
from services.translation.app import create_app as create_translation_app
from services.translation.settings import TranslationSettings
from shared.docs import serve_docs
from shared.metrics import Metrics
from shared.web import answer_errors_as_problems

SERVICE_NAMES = ("inbox", "routing", "translation")
#: Served once at the root for the whole process; documented once, from the first service
#: (each service answers them the same way; the root's readiness asks all three).
_PROCESS_PATHS = {"/healthz", "/readyz", "/metrics"}


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
    """One OpenAPI document with every service's paths; clashing schema names get a prefix."""
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
        "tags": [{"name": "health"}],
    }
    specs = {name: app.openapi() for name, app in apps.items()}
    clashing = _clashing_schemas(specs)
    for name, spec in specs.items():
        renames = {key: f"{name.capitalize()}{key}" for key in clashing if key in _schemas(spec)}
        spec = _rename_refs(spec, renames)
        for path, operations in spec.get("paths", {}).items():
            if path in _PROCESS_PATHS:
                document["paths"].setdefault(path, operations)
                continue
            for operation in operations.values():
                operation["tags"] = [f"{name}: {tag}" for tag in operation.get("tags", [])] or [
                    name
                ]
            document["paths"][path] = operations
        for kind in ("schemas", "securitySchemes"):
            for key, schema in spec.get("components", {}).get(kind, {}).items():
                document["components"][kind][
                    renames.get(key, key) if kind == "schemas" else key
                ] = schema
    return document


def _schemas(spec: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = spec.get("components", {}).get("schemas", {})
    return schemas


def _clashing_schemas(specs: dict[str, dict[str, Any]]) -> set[str]:
    """Schema names that two services define differently."""
    seen: dict[str, Any] = {}
    clashing: set[str] = set()
    for spec in specs.values():
        for key, schema in _schemas(spec).items():
            if key in seen and seen[key] != schema:
                clashing.add(key)
            seen.setdefault(key, schema)
    return clashing


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if not renames:
        return node
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            target = ref.rsplit("/", 1)[1]
            if target in renames:
                return {**node, "$ref": f"#/components/schemas/{renames[target]}"}
        return {key: _rename_refs(value, renames) for key, value in node.items()}
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


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
    # One registry for the process: any service's /metrics shows all three.
    metrics = Metrics()
    apps: dict[str, FastAPI] = {
        "inbox": create_inbox_app(inbox, peers=transports, metrics=metrics),
        "routing": create_routing_app(routing, peers=transports, metrics=metrics),
        "translation": create_translation_app(translation, peers=transports, metrics=metrics),
    }
    for name, app in apps.items():
        transports[name] = httpx.ASGITransport(app=app)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            # Each service's lifespan keeps what its start-up loaded out of the collector's
            # sight (shared.web); the last one started covers all three.
            for app in apps.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            yield

    root = FastAPI(title="Bilingual inbox", lifespan=lifespan, docs_url=None, openapi_url=None)
    # Paths outside every service (/nope, a wrong method on /healthz) answer as the services do.
    answer_errors_as_problems(root, name="all_in_one", settings=inbox)

    def merged() -> dict[str, Any]:
        if root.openapi_schema is None:
            root.openapi_schema = merged_openapi(apps)
        return root.openapi_schema

    # The root's own document is the merged one: a 405 here names the methods it lists.
    root.openapi = merged  # type: ignore[method-assign]

    @root.get("/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        return JSONResponse(root.openapi())

    serve_docs(root, title="Bilingual inbox — API")

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

    @root.get("/metrics", include_in_schema=False)
    async def process_metrics(request: Request) -> Response:
        # The inbox app renders the shared registry and checks METRICS_TOKEN the same way.
        async with httpx.AsyncClient(
            transport=transports["inbox"], base_url="http://inbox.internal"
        ) as client:
            answer = await client.get(
                "/metrics",
                headers={
                    name: value
                    for name, value in request.headers.items()
                    if name in ("authorization", "accept-language", "x-request-id")
                },
            )
        return Response(answer.content, answer.status_code, headers=dict(answer.headers))

    return PrefixDispatcher(root, dict(apps))
