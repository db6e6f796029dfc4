"""HTTP endpoints for API tokens and token introspection."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel

from services.inbox.auth import service
from services.inbox.auth.schemas import TokenCreate, TokenCreated, TokenRead
from services.inbox.deps import (
    AdminDep,
    GatewayDep,
    ReadSessionDep,
    RoutingDep,
    ServiceDep,
    SessionDep,
)
from shared.auth import Role
from shared.contracts.inbox import TokenIntrospection, TokenIntrospectRequest
from shared.schemas import problem_responses
from shared.web import service_context

router = APIRouter(
    prefix="/inbox/v1", tags=["auth"], responses=problem_responses(401, 403, 422, 503)
)


class Identity(BaseModel):
    role: Literal["admin", "supervisor", "agent", "gateway", "service"]
    name: str
    agent_id: UUID | None = None


@router.post(
    "/tokens",
    status_code=201,
    summary="Issue an API token (admin)",
    description="The secret appears once, in this response; only its hash is stored. An "
    "agent's token is bound to an agent routing knows: another id is 422 on `agent_id`, and "
    "routing unreachable is 503.",
)
async def create_token(
    body: TokenCreate, session: SessionDep, routing: RoutingDep, _: AdminDep
) -> TokenCreated:
    # Before the request's transaction begins: no call to routing may hold SQLite's write lock.
    await service.check_token_agent(routing, body.agent_id)
    row, secret = await service.create_token(
        session, role=Role(body.role), name=body.name, agent_id=body.agent_id
    )
    return TokenCreated(
        id=row.id,
        role=body.role,
        name=row.name,
        agent_id=row.agent_id,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        token=secret,
    )


@router.get("/tokens", summary="List API tokens, revoked ones included (admin)")
async def list_tokens(session: ReadSessionDep, _: AdminDep) -> list[TokenRead]:
    return [TokenRead.model_validate(row) for row in await service.list_tokens(session)]


@router.delete(
    "/tokens/{token_id}",
    summary="Revoke an API token (admin)",
    responses=problem_responses(404),
)
async def revoke_token(
    token_id: UUID, request: Request, session: SessionDep, _: AdminDep
) -> TokenRead:
    row = await service.revoke_token(session, token_id)
    verifier = service_context(request).verifier
    if isinstance(verifier, service.DatabaseVerifier):
        verifier.forget()
    return TokenRead.model_validate(row)


@router.post(
    "/auth/introspect",
    summary="Check a token for another service (service credential only)",
)
async def introspect(
    body: TokenIntrospectRequest, session: ReadSessionDep, _: ServiceDep
) -> TokenIntrospection:
    principal = await service.find_principal(session, body.token)
    if principal is None:
        return TokenIntrospection(active=False)
    return TokenIntrospection(
        active=True,
        role=principal.role.value,
        name=principal.name,
        token_id=principal.token_id,
        agent_id=principal.agent_id,
    )


@router.post(
    "/auth/whoami",
    summary="Echo the caller's identity (gateways may sign instead of sending a token)",
    description="Lets a gateway's operator check its token or `X-Signature` setup end to end.",
)
async def whoami(principal: GatewayDep) -> Identity:
    return Identity(role=principal.role.value, name=principal.name, agent_id=principal.agent_id)
