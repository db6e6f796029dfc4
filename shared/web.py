"""The service app factory: error handlers, request ids, health, auth and the request session."""

from __future__ import annotations

import asyncio
import re
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import Principal, Role, TokenVerifier, same_secret
from shared.authenticated_first import admit, authenticates, refusal
from shared.db import (
    create_engine,
    create_read_sessionmaker,
    create_sessionmaker,
    ping,
    session_scope,
)
from shared.docs import serve_docs
from shared.errors import (
    AppError,
    DatabaseBusy,
    DatabaseUnavailable,
    MalformedBody,
    MethodNotAllowed,
    RouteNotFound,
    Unauthorized,
    Unavailable,
)
from shared.errors import Forbidden as ForbiddenError
from shared.heap import HEAP
from shared.i18n import SHARED_LOCALE_DIR, Term, Translator, negotiate_locale
from shared.logging import get_logger, request_id_var
from shared.metrics import CONTENT_TYPE, Metrics, MetricsMiddleware
from shared.null_characters import refuse_null_characters
from shared.problems import PROBLEM_MEDIA_TYPE, invalid_input, render_problem
from shared.schemas import problem_responses
from shared.settings import CommonSettings

log = get_logger(__name__)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: SQLSTATEs after which the same request may well succeed: the transaction lost a race.
_CONFLICT_STATES = frozenset({"40001", "40P01"})
#: SQLSTATE classes and codes meaning the database went away or refuses connections for now.
_UNREACHABLE_CLASSES = ("08",)
_UNREACHABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})
#: SQLite's "database is locked": another connection held the lock past the busy timeout.
_SQLITE_BUSY = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED"})
#: A write in a read-only transaction (or to a file the process may not write): a bug or a
#: setup to fix, which no retry mends. Its transient kinds (e.g. ``_RECOVERY``) are not this.
_SQLITE_READONLY = "SQLITE_READONLY"


class InvalidToken(Unauthorized):
    code = "auth.invalid_token"
    title = "Invalid token"
    detail_template = "The API token is unknown or has been revoked."


@dataclass
class ServiceContext:
    """What a running service holds: settings, database, texts and its credential check."""

    name: str
    settings: CommonSettings
    translator: Translator
    engine: AsyncEngine | None = None
    sessions: async_sessionmaker[AsyncSession] | None = None
    read_sessions: async_sessionmaker[AsyncSession] | None = None
    verifier: TokenVerifier | None = None
    metrics: Metrics = field(default_factory=Metrics)
    extras: dict[str, Any] = field(default_factory=dict)

    def require_sessions(self) -> async_sessionmaker[AsyncSession]:
        """The sessionmaker, which exists once the app has started."""
        if self.sessions is None:
            raise DatabaseUnavailable(retry_after=5)
        return self.sessions

    def require_read_sessions(self) -> async_sessionmaker[AsyncSession]:
        """The read-only sessionmaker (same pool), which exists once the app has started."""
        if self.read_sessions is None:
            raise DatabaseUnavailable(retry_after=5)
        return self.read_sessions


def service_context(request: Request) -> ServiceContext:
    """The context of the service that serves this request."""
    context: ServiceContext = request.app.state.context
    return context


class RequestIdMiddleware:
    """Gives every request an id (the caller's ``X-Request-ID`` when sane) and echoes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next(
            (v.decode() for k, v in scope["headers"] if k == b"x-request-id"),
            "",
        )
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", [])
                message["headers"].append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # A bug: logged here, with its traceback and the request's id, and answered as a
            # problem like every other error (the framework's own answer is plain text).
            log.exception("request.failed", method=scope.get("method"), path=scope.get("path"))
            if started:
                raise
            await problem_response(Request(scope), AppError())(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


def problem_response(request: Request, error: AppError) -> JSONResponse:
    """Render an error as problem+json in the language the request asks for."""
    context = service_context(request)
    locale = negotiate_locale(
        request.headers.get("accept-language"), context.settings.default_locale
    )
    body = render_problem(
        error,
        locale=locale,
        translator=context.translator,
        instance=request.url.path,
        request_id=request_id_var.get(),
    )
    headers = {"Content-Language": locale, "Vary": "Accept-Language", **error.headers}
    return JSONResponse(
        body, status_code=error.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def answer_errors_as_problems(app: FastAPI, *, name: str, settings: CommonSettings) -> None:
    """Make an app that is no service (the all-in-one's root) answer its errors as a service
    does: problem+json in the caller's language, with the request's id; ``settings`` gives the
    default language."""
    app.state.context = ServiceContext(
        name=name, settings=settings, translator=Translator([SHARED_LOCALE_DIR])
    )
    app.add_middleware(RequestIdMiddleware)
    _install_error_handlers(app)


def _install_error_handlers(app: FastAPI) -> None:
    async def on_app_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AppError)
        return problem_response(request, exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(request, await refusal(request) or invalid_input(exc.errors()))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return problem_response(request, RouteNotFound())
        if exc.status_code == 405:
            # RFC 9110: a 405 names every method the resource accepts.
            allowed = _methods_at(request)
            return problem_response(
                request, MethodNotAllowed(headers={"Allow": allowed} if allowed else None)
            )
        if exc.status_code == 400:  # the framework could not decode the body
            return problem_response(request, await refusal(request) or MalformedBody())
        error = AppError(str(exc.detail))
        error.status = exc.status_code  # type: ignore[misc]
        return problem_response(request, error)

    async def on_database_error(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, DBAPIError):  # the pool timed out waiting for a connection
            log.warning("database.unavailable", error=type(exc).__name__)
            return problem_response(request, DatabaseUnavailable(retry_after=5))
        if _is_contention(exc):
            log.warning("database.busy", error=type(exc).__name__, sqlstate=_sqlstate(exc))
            return problem_response(request, DatabaseBusy(retry_after=1))
        if not _is_connection_problem(exc):
            raise exc  # a bug, not the database's state: the server error it is
        log.warning("database.unavailable", error=type(exc).__name__, sqlstate=_sqlstate(exc))
        return problem_response(request, DatabaseUnavailable(retry_after=5))

    async def on_io_error(request: Request, exc: Exception) -> JSONResponse:
        # Peers and SMTP wrap their socket errors; a bare one here comes from the database driver.
        log.warning("io.unavailable", error=type(exc).__name__)
        if isinstance(exc, ConnectionError | socket.gaierror | TimeoutError):
            return problem_response(request, DatabaseUnavailable(retry_after=5))
        return problem_response(request, Unavailable(retry_after=5))

    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for kind in (DBAPIError, PoolTimeout):
        app.add_exception_handler(kind, on_database_error)
    app.add_exception_handler(OSError, on_io_error)


def _methods_at(request: Request) -> str:
    """The methods the service documents at the request's path (``GET, POST``), from its
    OpenAPI document: the framework names only those of the first route on that path. Routes
    left out of the document (``/docs``, ``/openapi.json``) name their own."""
    app = request.app
    paths: list[tuple[re.Pattern[str], list[str]]] | None = getattr(app.state, "method_paths", None)
    if paths is None:
        paths = [
            (
                re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))),
                [method.upper() for method in operations],
            )
            for template, operations in app.openapi().get("paths", {}).items()
        ] + [
            (route.path_regex, sorted(route.methods or ()))
            for route in app.routes
            if isinstance(route, Route) and not route.include_in_schema
        ]
        app.state.method_paths = paths
    methods = {m for pattern, found in paths if pattern.fullmatch(request.url.path) for m in found}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def _sqlstate(exc: DBAPIError) -> str | None:
    """The SQLSTATE the driver reported (asyncpg's ``sqlstate``), if any."""
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return state if isinstance(state, str) else None


def _is_contention(exc: DBAPIError) -> bool:
    """Whether the transaction lost to a concurrent one: the same request may well succeed."""
    if _sqlstate(exc) in _CONFLICT_STATES:
        return True
    return getattr(exc.orig, "sqlite_errorname", None) in _SQLITE_BUSY


def _is_connection_problem(exc: DBAPIError) -> bool:
    """Whether the error says the database is out of reach (for now), not that the SQL is wrong.

    SQLite reports most trouble opening or reading its file as an ``OperationalError``.
    """
    if getattr(exc.orig, "sqlite_errorname", None) == _SQLITE_READONLY:
        return False
    if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
        return True
    state = _sqlstate(exc)
    if state is None:
        return False
    return state.startswith(_UNREACHABLE_CLASSES) or state in _UNREACHABLE_STATES


Lifespan = Callable[[FastAPI, ServiceContext], AbstractAsyncContextManager[None]]


@asynccontextmanager
async def _no_lifespan(_app: FastAPI, _context: ServiceContext) -> AsyncIterator[None]:
    yield


def create_service_app(
    *,
    name: str,
    title: str,
    description: str,
    settings: CommonSettings,
    routers: Sequence[APIRouter],
    locale_dirs: Sequence[Path] = (),
    lifespan: Lifespan | None = None,
    metrics: Metrics | None = None,
) -> FastAPI:
    """A service's FastAPI app; the engine and background work start in its lifespan.

    The service's own ``lifespan`` runs once the engine exists and sets ``context.verifier``.
    ``metrics`` is the process's registry when several services share one (all in one).
    """
    context = ServiceContext(
        name=name,
        settings=settings,
        translator=Translator([SHARED_LOCALE_DIR, *locale_dirs]),
        metrics=metrics if metrics is not None else Metrics(),
    )

    @asynccontextmanager
    async def app_lifespan(app: FastAPI) -> AsyncIterator[None]:
        context.engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
        context.sessions = create_sessionmaker(context.engine)
        context.read_sessions = create_read_sessionmaker(context.engine)
        try:
            async with (
                (lifespan or _no_lifespan)(app, context),
                context.metrics.watching_loop(),
                HEAP.held(),
            ):
                yield
        finally:
            await context.engine.dispose()

    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=app_lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # served by ``serve_docs``, without a CDN
        redoc_url=None,
        dependencies=[Depends(refuse_null_characters)],
        # Any operation refuses a path or query holding NUL (``refuse_null_characters``).
        responses=problem_responses(422),
    )
    app.state.context = context
    serve_docs(app, title=f"{title} — API")
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=context.metrics, service=name)
    _install_error_handlers(app)
    app.include_router(health_router())
    app.include_router(metrics_router())
    for router in routers:
        app.include_router(router)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:  # generated, and its errors moved, once
            app.openapi_schema = _closed_key_patterns(_errors_as_problems(generate()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _errors_as_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Document each error body under the media type the server sends it as.

    FastAPI writes a response model's schema under the route's own media type
    (``application/json``); errors go out as ``application/problem+json``, which
    ``problem_responses`` declares with no schema. The schema moves there, in place.
    An operation whose body the server decodes (JSON or a form) also answers 400
    ``request.malformed_body`` when it cannot be (``MalformedBody``): declared here, once.
    """
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if _decodes_a_body(operation):
                operation.setdefault("responses", {}).setdefault("400", _malformed_body())
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if not status.startswith(("4", "5")) or PROBLEM_MEDIA_TYPE not in content:
                    continue
                moved = content.pop("application/json", None)
                if moved is not None and not content[PROBLEM_MEDIA_TYPE]:
                    content[PROBLEM_MEDIA_TYPE] = moved
    return document


def _closed_key_patterns(node: Any) -> Any:
    """Say that a map's keys must match its ``patternProperties``, as the server checks.

    Pydantic writes a dict with a constrained key type (``dict[SkillName, Level]``) as
    ``patternProperties`` alone, under which any other key would be valid; the server refuses
    it (422), so no other key is allowed (``additionalProperties: false``), in place.
    """
    if isinstance(node, dict):
        if "patternProperties" in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            _closed_key_patterns(value)
    elif isinstance(node, list):
        for item in node:
            _closed_key_patterns(item)
    return node


#: Bodies the server decodes, and so may find malformed; raw bodies (an email) are taken as is.
_DECODED_MEDIA_TYPES = (
    "application/json",
    "multipart/form-data",
    "application/x-www-form-urlencoded",
)


def _decodes_a_body(operation: dict[str, Any]) -> bool:
    """Whether the operation takes a body in a media type the server must decode."""
    content = operation.get("requestBody", {}).get("content", {})
    return any(kind in _DECODED_MEDIA_TYPES or kind.endswith("+json") for kind in content)


def _malformed_body() -> dict[str, Any]:
    return {
        "description": "`request.malformed_body`: the body cannot be decoded as its "
        "`Content-Type` says (JSON that is not UTF-8, a multipart body without its boundary…)",
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def health_router() -> APIRouter:
    """``/healthz`` (the process is alive) and ``/readyz`` (its database answers)."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: the database answers",
        responses=problem_responses(503),
    )
    async def readyz(request: Request) -> dict[str, str]:
        context = service_context(request)
        if context.engine is None:
            raise DatabaseUnavailable(retry_after=5)
        try:
            await asyncio.wait_for(ping(context.engine), timeout=3)
        except (OSError, DBAPIError, PoolTimeout, TimeoutError) as exc:
            log.warning("readiness.failed", error=type(exc).__name__)
            raise DatabaseUnavailable(retry_after=5) from exc
        return {"status": "ready"}

    return router


def metrics_router() -> APIRouter:
    """``/metrics``: Prometheus text, open unless ``METRICS_TOKEN`` is set."""
    router = APIRouter(tags=["health"])

    @router.get(
        "/metrics",
        summary="Prometheus metrics: requests, outbox backlog and the service's own figures",
        response_class=Response,
        responses={
            200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"},
            **problem_responses(401),
        },
    )
    async def metrics(request: Request) -> Response:
        context = service_context(request)
        expected = context.settings.metrics_token
        if expected is not None:
            scheme, _, presented = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not presented.strip():
                raise Unauthorized()
            if not same_secret(presented.strip(), expected.get_secret_value()):
                raise InvalidToken()
        return Response(await context.metrics.render(), media_type=CONTENT_TYPE)

    return router


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed before the response is sent, or rolled back."""
    async with session_scope(service_context(request).require_sessions()) as session:
        yield session


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's reads: one transaction that refuses writes and on SQLite waits for none."""
    async with session_scope(service_context(request).require_read_sessions()) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
#: For handlers that never write: a write through it fails (500), never lands.
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
bearer_scheme = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer …`")


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> Principal:
    """The caller behind the bearer token; 401 when there is none or it is not valid."""
    if credentials is None or not credentials.credentials:
        raise Unauthorized()
    return await principal_for_token(request, credentials.credentials)


async def principal_for_token(request: Request, token: str) -> Principal:
    """Resolve a presented token: the services' shared secret, else an API token."""
    context = service_context(request)
    service_token = context.settings.service_token
    if service_token is not None and same_secret(token, service_token.get_secret_value()):
        return Principal(role=Role.SERVICE, name="service")
    if context.verifier is None:
        raise InvalidToken()
    principal = await context.verifier.verify(token)
    if principal is None:
        raise InvalidToken()
    return principal


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency admitting only these roles: 401 without credentials, 403 with the wrong one."""
    allowed = frozenset(roles)

    def admitted(principal: Principal) -> Principal:
        if principal.role not in allowed:
            raise ForbiddenError(role=Term(principal.role.value))
        return principal

    async def check(request: Request) -> Principal:
        return admitted(await authenticate(request, await bearer_scheme(request)))

    @authenticates(check)
    async def dependency(
        request: Request, principal: Annotated[Principal, Depends(authenticate)]
    ) -> Principal:
        return admit(request, admitted(principal))

    return dependency
