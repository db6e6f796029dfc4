"""HTTP endpoints for agents: CRUD with languages, skills and capacity, and presence."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Response

from services.routing.agents import service
from services.routing.agents.schemas import AgentCreate, AgentRead, AgentStatusUpdate, AgentUpdate
from services.routing.deps import (
    ActorDep,
    ManagerDep,
    OwnAgentDep,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
    ensure_own_agent,
)
from shared.auth import Principal, Role
from shared.contracts.routing import AgentQueues
from shared.db import utc_now
from shared.schemas import problem_responses
from shared.web import require_roles

router = APIRouter(
    prefix="/routing/v1", tags=["agents"], responses=problem_responses(401, 403, 503)
)
#: The inbox asks, with the services' token, which queues an agent serves.
ReaderDep = Annotated[
    Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.SERVICE))
]


@router.post(
    "/agents",
    status_code=201,
    summary="Create an agent (admin, supervisor)",
    responses=problem_responses(409, 422),
)
async def create_agent(
    body: AgentCreate, session: SessionDep, settings: SettingsDep, _: ManagerDep
) -> AgentRead:
    agent = await service.create_agent(session, data=body, now=utc_now())
    [read] = await service.read_agents(
        session, [agent], now=utc_now(), stale_after=settings.stream_stale_after
    )
    return read


@router.get(
    "/agents",
    summary="List agents, optionally by status (admin, supervisor)",
    responses=problem_responses(422),
)
async def list_agents(
    session: ReadSessionDep,
    settings: SettingsDep,
    _: ManagerDep,
    status: Literal["offline", "available", "away", "busy", "wrap_up"] | None = None,
) -> list[AgentRead]:
    agents = await service.list_agents(session, status=status)
    return await service.read_agents(
        session, agents, now=utc_now(), stale_after=settings.stream_stale_after
    )


@router.get(
    "/agents/{agent_id}",
    summary="Read an agent (admin, supervisor, or the agent itself)",
    responses=problem_responses(404, 422),
)
async def read_agent(
    agent_id: UUID, session: ReadSessionDep, settings: SettingsDep, principal: ActorDep
) -> AgentRead:
    ensure_own_agent(principal, agent_id)
    agent = await service.get_agent(session, agent_id)
    [read] = await service.read_agents(
        session, [agent], now=utc_now(), stale_after=settings.stream_stale_after
    )
    return read


@router.get(
    "/agents/{agent_id}/queues",
    summary="The queues an agent serves (admin, supervisor, services, or the agent itself)",
    description="A queue is served when the agent speaks a language it takes at the queue's "
    "`min_language_level`, holds its required skills at their minimum levels, is of one of its "
    "tiers, and has capacity for one of its channels. Presence and current load do not count, "
    "nor do widening steps: a long wait may bring an agent work from queues not listed here. "
    "Each queue lists the languages and channels the agent may take in it.",
    responses=problem_responses(404, 422),
)
async def read_agent_queues(
    agent_id: UUID, session: ReadSessionDep, principal: ReaderDep
) -> AgentQueues:
    ensure_own_agent(principal, agent_id)
    return await service.served_queues(session, agent_id=agent_id, now=utc_now())


@router.patch(
    "/agents/{agent_id}",
    summary="Change an agent's details, languages, skills or capacity (admin, supervisor)",
    responses=problem_responses(404, 409, 422),
)
async def update_agent(
    agent_id: UUID, body: AgentUpdate, session: SessionDep, settings: SettingsDep, _: ManagerDep
) -> AgentRead:
    agent = await service.update_agent(session, agent_id=agent_id, data=body, now=utc_now())
    [read] = await service.read_agents(
        session, [agent], now=utc_now(), stale_after=settings.stream_stale_after
    )
    return read


@router.delete(
    "/agents/{agent_id}",
    status_code=204,
    summary="Delete an agent that holds no task (admin, supervisor)",
    description="An agent offered or assigned a task is 409 and stays. Once deleted, the "
    "inbox revokes the API tokens bound to the agent (routing's `agent.deleted` event, "
    "delivered within moments): they answer 401 and the token list shows them revoked.",
    responses=problem_responses(404, 409, 422),
)
async def delete_agent(agent_id: UUID, session: SessionDep, _: ManagerDep) -> Response:
    await service.delete_agent(session, agent_id=agent_id, now=utc_now())
    return Response(status_code=204)


@router.put(
    "/agents/{agent_id}/status",
    summary="Set an agent's presence (the agent itself, admin, supervisor)",
    description="`available` also ends wrap-up early; leaving `available` withdraws pending "
    "offers. `away` takes a reason such as `break` or `meal`.",
    responses=problem_responses(404, 422),
)
async def set_status(
    agent_id: UUID,
    body: AgentStatusUpdate,
    session: SessionDep,
    settings: SettingsDep,
    _: OwnAgentDep,
) -> AgentRead:
    agent = await service.set_status(session, agent_id=agent_id, data=body, now=utc_now())
    [read] = await service.read_agents(
        session, [agent], now=utc_now(), stale_after=settings.stream_stale_after
    )
    return read
