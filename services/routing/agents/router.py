"""HTTP endpoints for agents: CRUD with languages, skills and capacity, and presence."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Response

from services.routing.agents import service
from services.routing.agents.schemas import AgentCreate, AgentRead, AgentStatusUpdate, AgentUpdate
from services.routing.deps import ActorDep, ManagerDep, SessionDep, SettingsDep, ensure_own_agent
from shared.db import utc_now
from shared.schemas import problem_responses

router = APIRouter(prefix="/routing/v1", tags=["agents"], responses=problem_responses(401, 403))


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


@router.get("/agents", summary="List agents, optionally by status (admin, supervisor)")
async def list_agents(
    session: SessionDep,
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
    responses=problem_responses(404),
)
async def read_agent(
    agent_id: UUID, session: SessionDep, settings: SettingsDep, principal: ActorDep
) -> AgentRead:
    ensure_own_agent(principal, agent_id)
    agent = await service.get_agent(session, agent_id)
    [read] = await service.read_agents(
        session, [agent], now=utc_now(), stale_after=settings.stream_stale_after
    )
    return read


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
    responses=problem_responses(404, 409),
)
async def delete_agent(agent_id: UUID, session: SessionDep, _: ManagerDep) -> Response:
    await service.delete_agent(session, agent_id=agent_id)
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
    principal: ActorDep,
) -> AgentRead:
    ensure_own_agent(principal, agent_id)
    agent = await service.set_status(session, agent_id=agent_id, data=body, now=utc_now())
    [read] = await service.read_agents(
        session, [agent], now=utc_now(), stale_after=settings.stream_stale_after
    )
    return read
