"""Dependencies of the inbox's routes, as Annotated aliases."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from services.inbox.blobs import BlobStore
from services.inbox.conversations.visibility import AgentQueuesCache, Visibility
from services.inbox.ingest.parsing import EmailParser, shared_parser
from services.inbox.settings import InboxSettings
from shared.auth import SIGNATURE_TOLERANCE_SECONDS, Principal, Role, check_signature
from shared.authenticated_first import admit, authenticates
from shared.clients.base import PeerRejected
from shared.clients.routing import RoutingClient
from shared.clients.translation import TranslationClient
from shared.errors import (
    FieldError,
    Forbidden,
    InvalidInput,
    InvalidSignature,
    StaleSignature,
    Unauthorized,
    Unavailable,
    WrongSignature,
)
from shared.i18n import Seconds, Term
from shared.logging import get_logger
from shared.web import (
    ReadSessionDep,
    SessionDep,
    bearer_scheme,
    principal_for_token,
    require_roles,
    service_context,
)

log = get_logger(__name__)

__all__ = [
    "AdminDep",
    "BlobsDep",
    "GatewayDep",
    "IfMatch",
    "ParserDep",
    "ReadSessionDep",
    "ReaderDep",
    "RoutingDep",
    "ServiceDep",
    "SessionDep",
    "SettingsDep",
    "SupervisorDep",
    "TranslationDep",
    "VisibilityDep",
    "WriterDep",
]


# The getters are coroutines: FastAPI runs a plain function dependency in a worker thread, a
# thread hop per request for a dictionary lookup.
async def get_settings(request: Request) -> InboxSettings:
    settings = service_context(request).settings
    assert isinstance(settings, InboxSettings)
    return settings


SettingsDep = Annotated[InboxSettings, Depends(get_settings)]
AdminDep = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
SupervisorDep = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR))]
_Writer = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.AGENT))]
ReaderDep = Annotated[
    Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.SERVICE))
]


async def get_translation(request: Request) -> TranslationClient:
    client = service_context(request).extras["translation"]
    assert isinstance(client, TranslationClient)
    return client


async def get_routing(request: Request) -> RoutingClient:
    client = service_context(request).extras["routing"]
    assert isinstance(client, RoutingClient)
    return client


async def get_blobs(request: Request) -> BlobStore:
    blobs = service_context(request).extras["blobs"]
    assert isinstance(blobs, BlobStore)
    return blobs


async def get_parser(request: Request) -> EmailParser:
    """The app's email parser (its worker processes) when it has one, else the shared one."""
    parser = service_context(request).extras.get("parser")
    return parser if isinstance(parser, EmailParser) else shared_parser


async def get_visibility(request: Request) -> Visibility:
    cache = service_context(request).extras["agent_queues"]
    assert isinstance(cache, AgentQueuesCache)
    return Visibility(cache=cache, routing=await get_routing(request))


TranslationDep = Annotated[TranslationClient, Depends(get_translation)]
BlobsDep = Annotated[BlobStore, Depends(get_blobs)]
ParserDep = Annotated[EmailParser, Depends(get_parser)]
RoutingDep = Annotated[RoutingClient, Depends(get_routing)]
VisibilityDep = Annotated[Visibility, Depends(get_visibility)]


async def named_writer(principal: _Writer, visibility: VisibilityDep) -> Principal:
    """Who writes, named as people know them: an agent by their name in routing, not by the
    name of the token they use (it signs their emails and heads their notes and timeline
    entries). Keeps the token's name while routing cannot say."""
    if principal.agent_id is None:
        return principal
    try:
        name = await visibility.agent_name(principal.agent_id)
    except (Unavailable, PeerRejected) as error:
        log.warning("writer.name_unknown", agent_id=str(principal.agent_id), error=error.code)
        return principal
    return replace(principal, name=name[:200]) if name else principal


WriterDep = Annotated[Principal, Depends(named_writer)]
ServiceDep = Annotated[Principal, Depends(require_roles(Role.SERVICE))]


async def _gateway_check(request: Request) -> Principal:
    return await gateway_principal(
        request, await get_settings(request), await bearer_scheme(request)
    )


@authenticates(_gateway_check)
async def gateway_principal(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> Principal:
    """A gateway: by ``X-Signature`` over the raw body, or by a gateway (or admin) token."""
    signature = request.headers.get("x-signature")
    if signature is not None:
        secrets = {
            name: value.get_secret_value() for name, value in settings.gateway_secrets.items()
        }
        check = check_signature(signature, await request.body(), secrets)
        if check.refusal == "stale":
            raise StaleSignature(
                skew=Seconds(check.skew_seconds), tolerance=Seconds(SIGNATURE_TOLERANCE_SECONDS)
            )
        if check.refusal == "mismatch":
            raise WrongSignature()
        if check.gateway is None:
            raise InvalidSignature()
        return admit(request, Principal(role=Role.GATEWAY, name=check.gateway))
    if credentials is None or not credentials.credentials:
        raise Unauthorized()
    principal = await principal_for_token(request, credentials.credentials)
    if principal.role not in (Role.GATEWAY, Role.ADMIN):
        raise Forbidden(role=Term(principal.role.value))
    return admit(request, principal)


GatewayDep = Annotated[Principal, Depends(gateway_principal)]


# If-Match on an action on a conversation (the workspace's actions and replies).
MAX_VERSION = 2**31 - 1  # a conversation's version is a 4-byte integer column
IfMatch = Annotated[
    str | None,
    Header(
        max_length=40,
        description='The `ETag` you read (e.g. `"7"`, quotes optional; `*` for any version): '
        "the action applies only to that version, and a changed conversation answers 409 "
        "`conversation.changed` with its current state. Anything else is 422 `etag`.",
        examples=['"7"'],
        # Documented only: the server answers a value it cannot read as an `etag` field error.
        json_schema_extra={"pattern": '^(\\*|(W/)?"?[0-9]+"?)$'},
    ),
]


REASON_ETAG = 'Must be the ETag of a read (such as "7") or *.'


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` header names (``*`` or none: any); InvalidInput unless it is
    ASCII digits within the version column's range."""
    if if_match is None or if_match.strip() == "*":
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    # isdigit() alone also takes "²" (a latin-1 header byte), which int() refuses
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_VERSION:
        raise InvalidInput(errors=[FieldError(field="If-Match", code="etag", reason=REASON_ETAG)])
    return int(value)
