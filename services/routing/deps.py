"""Dependencies of routing's routes, as Annotated aliases, and the agent-token ownership rule."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from services.routing.engine.translation_check import TranslationCheck
from services.routing.errors import NotOwnAgent
from services.routing.settings import RoutingSettings
from services.routing.stream.broker import AgentBroker
from shared.auth import Principal, Role
from shared.authenticated_first import authenticates
from shared.web import (
    ReadSessionDep,
    SessionDep,
    authenticate,
    bearer_scheme,
    require_roles,
    service_context,
)

__all__ = [
    "ActorDep",
    "BrokerDep",
    "ManagerDep",
    "OwnAgentDep",
    "ReadSessionDep",
    "ServiceDep",
    "SessionDep",
    "SettingsDep",
    "TranslationDep",
    "acting_agent",
    "ensure_own_agent",
]


async def get_settings(request: Request) -> RoutingSettings:
    settings = service_context(request).settings
    assert isinstance(settings, RoutingSettings)
    return settings


async def get_broker(request: Request) -> AgentBroker:
    broker = service_context(request).extras["broker"]
    assert isinstance(broker, AgentBroker)
    return broker


async def get_translation(request: Request) -> TranslationCheck:
    """Whether machine translation is on, asked of translation and kept a short while."""
    check = service_context(request).extras["translation"]
    assert isinstance(check, TranslationCheck)
    return check


SettingsDep = Annotated[RoutingSettings, Depends(get_settings)]
TranslationDep = Annotated[TranslationCheck, Depends(get_translation)]
BrokerDep = Annotated[AgentBroker, Depends(get_broker)]
ManagerDep = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR))]
_ACTORS = require_roles(Role.ADMIN, Role.SUPERVISOR, Role.AGENT)
ActorDep = Annotated[Principal, Depends(_ACTORS)]
ServiceDep = Annotated[Principal, Depends(require_roles(Role.SERVICE))]
#: Managers, and the other services (the inbox checks a transfer's queue).
ManagerOrServiceDep = Annotated[
    Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.SERVICE))
]


def acting_agent(principal: Principal) -> uuid.UUID | None:
    """The agent an agent's token acts as, None for supervisors and admins."""
    if principal.role is not Role.AGENT:
        return None
    if principal.agent_id is None:
        raise NotOwnAgent()
    return principal.agent_id


def ensure_own_agent(principal: Principal, agent_id: uuid.UUID) -> None:
    """Refuse (403) an agent's token acting on another agent."""
    acting = acting_agent(principal)
    if acting is not None and acting != agent_id:
        raise NotOwnAgent()


async def _own_agent_from_request(request: Request) -> Principal:
    """``own_agent`` from the request alone, for a refusal of its shape made before the route's
    dependencies ran (a body that does not decode, a NUL character)."""
    principal = await _ACTORS(request, await authenticate(request, await bearer_scheme(request)))
    try:
        agent_id = uuid.UUID(str(request.path_params.get("agent_id")))
    except ValueError:
        return principal  # not an id: the path's own refusal stands
    ensure_own_agent(principal, agent_id)
    return principal


@authenticates(_own_agent_from_request)
async def own_agent(agent_id: uuid.UUID, principal: ActorDep) -> Principal:
    """The caller of a route about one agent: an agent's token naming another agent is refused
    (403) before the route reads the rest of the request, so a bad body or query from it is
    never judged and tells it nothing."""
    ensure_own_agent(principal, agent_id)
    return principal


#: Admins, supervisors, and the agent named by the path's ``agent_id`` itself.
OwnAgentDep = Annotated[Principal, Depends(own_agent)]
