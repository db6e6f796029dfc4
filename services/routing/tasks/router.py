"""HTTP endpoints for tasks, offers, callbacks and the call-time availability question."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Request

from services.routing.deps import (
    ActorDep,
    ReadSessionDep,
    ServiceDep,
    SessionDep,
    SettingsDep,
    acting_agent,
    ensure_own_agent,
)
from services.routing.engine import intake, offers
from services.routing.tasks import service
from services.routing.tasks.schemas import CallbackCreate, CallbackRead, OfferRead, TaskRead
from shared.auth import Principal, Role
from shared.contracts.routing import Availability, AvailabilityQuery
from shared.db import utc_now
from shared.i18n import negotiate_locale
from shared.schemas import problem_responses
from shared.web import require_roles, service_context

router = APIRouter(prefix="/routing/v1", tags=["tasks"], responses=problem_responses(401, 403, 503))


def _translator(request: Request) -> service.Translate:
    context = service_context(request)
    locale = negotiate_locale(
        request.headers.get("accept-language"), context.settings.default_locale
    )

    def translate(text: str, params: Mapping[str, object]) -> str:
        return context.translator.format(text, locale, params)

    return translate


@router.get(
    "/tasks/{task_id}",
    summary="Read a task: state, agent, offers and why (agents: only tasks offered to them)",
    description="`route` records the queue chosen and, once assigned, the match; a waiting "
    "task's `wait` explains, in the request's language, why no agent has it yet.",
    responses=problem_responses(404, 422),
)
async def read_task(
    task_id: UUID,
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
    principal: ActorDep,
) -> TaskRead:
    return await service.task_view(
        session,
        task_id=task_id,
        acting_agent_id=acting_agent(principal),
        now=utc_now(),
        stale_after=settings.stream_stale_after,
        translate=_translator(request),
    )


@router.post(
    "/tasks/{task_id}/complete",
    summary="Complete an assigned task; the agent wraps up (the agent, admin, supervisor)",
    responses=problem_responses(404, 409, 422),
)
async def complete_task(
    task_id: UUID, request: Request, session: SessionDep, settings: SettingsDep, principal: ActorDep
) -> TaskRead:
    now = utc_now()
    await offers.complete_task(
        session, task_id=task_id, acting_agent_id=acting_agent(principal), now=now
    )
    return await service.task_view(
        session,
        task_id=task_id,
        acting_agent_id=acting_agent(principal),
        now=now,
        stale_after=settings.stream_stale_after,
        translate=_translator(request),
    )


@router.get(
    "/agents/{agent_id}/offers",
    summary="List an agent's offers, pending ones by default (for polling)",
    responses=problem_responses(404, 422),
)
async def list_offers(
    agent_id: UUID,
    session: ReadSessionDep,
    principal: ActorDep,
    state: Literal["pending", "accepted", "rejected", "expired", "canceled", "all"] = "pending",
) -> list[OfferRead]:
    ensure_own_agent(principal, agent_id)
    return await service.list_offers(
        session, agent_id=agent_id, state=None if state == "all" else state
    )


@router.post(
    "/offers/{offer_id}/accept",
    summary="Accept an offer: the task is assigned and the inbox told (the offered agent)",
    responses=problem_responses(404, 409, 422),
)
async def accept_offer(offer_id: UUID, session: SessionDep, principal: ActorDep) -> OfferRead:
    return await service.answer_offer(
        session,
        offer_id=offer_id,
        accept=True,
        acting_agent_id=acting_agent(principal),
        now=utc_now(),
    )


@router.post(
    "/offers/{offer_id}/reject",
    summary="Reject an offer: the task goes to the next agent (the offered agent)",
    responses=problem_responses(404, 409, 422),
)
async def reject_offer(offer_id: UUID, session: SessionDep, principal: ActorDep) -> OfferRead:
    return await service.answer_offer(
        session,
        offer_id=offer_id,
        accept=False,
        acting_agent_id=acting_agent(principal),
        now=utc_now(),
    )


_SCHEDULERS = require_roles(Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.SERVICE)


@router.post(
    "/callbacks",
    status_code=201,
    summary="Schedule a callback: a phone task when it falls due",
    responses=problem_responses(422),
)
async def create_callback(
    body: CallbackCreate,
    session: SessionDep,
    principal: Annotated[Principal, Depends(_SCHEDULERS)],
) -> CallbackRead:
    callback = await service.create_callback(
        session, data=body, acting_agent_id=acting_agent(principal), now=utc_now()
    )
    return CallbackRead.model_validate(callback)


@router.get(
    "/callbacks/{callback_id}",
    summary="Read a callback and the task it became (agents: theirs, and those they asked for)",
    description="An agent reads the callbacks it is to make (`agent_id`), those it asked for "
    "(`requested_by_agent_id`, for itself or another agent) and those whose task was offered "
    "to it; any other is 403, as for tasks.",
    responses=problem_responses(404, 422),
)
async def read_callback(
    callback_id: UUID, session: ReadSessionDep, principal: ActorDep
) -> CallbackRead:
    callback = await service.get_callback(
        session, callback_id, acting_agent_id=acting_agent(principal)
    )
    return CallbackRead.model_validate(callback)


@router.post(
    "/availability",
    summary="Would a contact be queued now? Asked when a call rings (service credential only)",
    description="`closed` outside business hours, on holidays, or when no queue takes the "
    "contact: the telephony gateway then plays the closed message.",
    responses=problem_responses(422),
)
async def availability(
    body: AvailabilityQuery, session: ReadSessionDep, _: ServiceDep
) -> Availability:
    return await intake.availability(session, query=body, now=utc_now())
