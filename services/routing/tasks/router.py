"""HTTP endpoints for tasks, offers, callbacks and the call-time availability question."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from services.routing.deps import (
    ActorDep,
    OwnAgentDep,
    ReadSessionDep,
    ServiceDep,
    SessionDep,
    SettingsDep,
    TranslationDep,
    acting_agent,
)
from services.routing.engine import intake, offers, requeue
from services.routing.tasks import callbacks, service
from services.routing.tasks.schemas import (
    CallbackCreate,
    CallbackRead,
    CallbackState,
    OfferRead,
    TaskChannel,
    TaskRead,
    TaskState,
    TaskSummary,
)
from shared.auth import Principal, Role
from shared.clients.inbox import InboxClient
from shared.contracts.routing import (
    Availability,
    AvailabilityQuery,
    HandoverCheck,
    HandoverQuery,
)
from shared.db import utc_now
from shared.i18n import negotiate_locale
from shared.schemas import Instant, Language, Page, problem_responses
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
    "/tasks",
    summary="List tasks, most recently queued first: a conversation's, or those in a state "
    "(cursor-paginated; agents: those offered to them)",
    description="Answers which task a conversation has and where it stands: "
    "`?conversation_id=…&state=waiting` gives the id of the task still waiting, and "
    "`GET /routing/v1/tasks/{task_id}` then says why no agent has it yet (`wait`). Filters "
    "combine. Supervisors and admins see every task; an agent sees only the tasks offered to "
    "it, whatever became of the offer (those it may read one by one).",
    responses=problem_responses(422),
)
async def list_tasks(
    session: ReadSessionDep,
    principal: ActorDep,
    conversation_id: Annotated[
        UUID | None,
        Query(
            description="The inbox conversation the tasks were opened for (one at a time is "
            "open; transfers, escalations and later contacts open new ones).",
            examples=["1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"],
        ),
    ] = None,
    state: Annotated[
        TaskState | None,
        Query(
            description="`waiting` (in its queue, no agent yet), `offered` (an agent is asked), "
            "`assigned` (an agent has it), `wrap_up` (done, its agent wrapping up), "
            "`completed`, or `canceled` (ended with no agent finishing it: resolved first, "
            "transferred, escalated, hung up).",
            examples=["waiting"],
        ),
    ] = None,
    queue_id: Annotated[UUID | None, Query(description="The queue the task is in.")] = None,
    channel: Annotated[TaskChannel | None, Query(examples=["email"])] = None,
    language: Annotated[
        Language | None, Query(description="The contact's language.", examples=["fr"])
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[TaskSummary]:
    items, next_cursor = await service.list_tasks(
        session,
        filters=service.TaskFilter(
            conversation_id=conversation_id,
            state=state,
            queue_id=queue_id,
            channel=channel,
            language=language,
        ),
        acting_agent_id=acting_agent(principal),
        cursor=cursor,
        limit=limit,
    )
    return Page[TaskSummary](items=items, next_cursor=next_cursor)


@router.get(
    "/tasks/{task_id}",
    summary="Read a task: state, agent, offers and why (agents: only tasks offered to them)",
    description="`route` records the queue chosen and, once assigned, the match; a waiting "
    "task's `wait` explains, in the request's language, why no agent has it yet. For an "
    "agent, a task never offered to it is 404, as if it did not exist.",
    responses=problem_responses(404, 422),
)
async def read_task(
    task_id: UUID,
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
    principal: ActorDep,
    translation: TranslationDep,
) -> TaskRead:
    return await service.task_view(
        session,
        task_id=task_id,
        acting_agent_id=acting_agent(principal),
        now=utc_now(),
        stale_after=settings.stream_stale_after,
        translate=_translator(request),
        translation=translation,
    )


@router.post(
    "/tasks/{task_id}/complete",
    summary="Complete an assigned task; the agent wraps up (the agent, admin, supervisor)",
    description="For an agent, a task never offered to it is 404, as if it did not exist; one "
    "offered to it but assigned to another agent is 403.",
    responses=problem_responses(404, 409, 422),
)
async def complete_task(
    task_id: UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: ActorDep,
    translation: TranslationDep,
) -> TaskRead:
    now = utc_now()
    task = await offers.complete_task(
        session, task_id=task_id, acting_agent_id=acting_agent(principal), now=now
    )
    await callbacks.follow_task(session, task, sticky=timedelta(seconds=settings.sticky_seconds))
    return await service.task_view(
        session,
        task_id=task_id,
        acting_agent_id=acting_agent(principal),
        now=now,
        stale_after=settings.stream_stale_after,
        translate=_translator(request),
        translation=translation,
    )


@router.get(
    "/agents/{agent_id}/offers",
    summary="List an agent's offers, pending ones by default (for polling)",
    responses=problem_responses(404, 422),
)
async def list_offers(
    agent_id: UUID,
    session: ReadSessionDep,
    _: OwnAgentDep,
    state: Literal["pending", "accepted", "rejected", "expired", "canceled", "all"] = "pending",
) -> list[OfferRead]:
    return await service.list_offers(
        session, agent_id=agent_id, state=None if state == "all" else state
    )


@router.post(
    "/offers/{offer_id}/accept",
    summary="Accept an offer: the task is assigned and the inbox told (the offered agent)",
    description="For an agent, another agent's offer is 404, as if it did not exist. Accepting "
    "an accepted offer again (a double-click, a retry) answers it as it stands and changes "
    "nothing; an offer rejected, expired or canceled is 409 `offer.closed`.",
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
    description="The task is offered to another agent who may take it. It comes back to the "
    "agent who rejected it only when no one else may take it, and not before "
    "`ROUTING_REOFFER_DECLINED_AFTER_SECONDS` (30 s by default) after the rejection; the same "
    "holds for an offer left to expire. For an agent, another agent's offer is 404, as if it "
    "did not exist. Rejecting a rejected offer again answers it as it stands; an offer "
    "accepted, expired or canceled is 409 `offer.closed`.",
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


async def _inbox(request: Request) -> InboxClient:
    inbox = service_context(request).extras["inbox"]
    assert isinstance(inbox, InboxClient)
    return inbox


@router.post(
    "/callbacks",
    status_code=201,
    summary="Schedule a callback: a phone task when it falls due",
    description="`conversation_id` must be a conversation the inbox has (`GET "
    "/inbox/v1/conversations`): routing asks the inbox first, so the example's id, which no "
    "install has, is refused with 422 `callback.conversation_not_found` naming "
    "`conversation_id`, and nothing is scheduled. While the inbox cannot be asked the answer "
    "is 503 with `Retry-After`, and nothing is scheduled either. Agents usually schedule a "
    "callback through the inbox (`POST /inbox/v1/conversations/{conversation_id}/callbacks`), "
    "which finds the number to call and notes it on the conversation's timeline.",
    responses=problem_responses(422),
)
async def create_callback(
    body: CallbackCreate,
    session: SessionDep,
    principal: Annotated[Principal, Depends(_SCHEDULERS)],
    inbox: Annotated[InboxClient, Depends(_inbox)],
) -> CallbackRead:
    # Asked before the database is touched, so no transaction waits on the inbox.
    known = await inbox.conversation_exists(body.conversation_id)
    callback = await callbacks.create_callback(
        session,
        data=body,
        acting_agent_id=acting_agent(principal),
        conversation_known=known,
        now=utc_now(),
    )
    return callbacks.callback_read(callback, queue_id=None)


@router.get(
    "/callbacks",
    summary="List callbacks, soonest due first (cursor-paginated; agents: theirs)",
    description="Supervisors and admins see every callback. An agent sees those it may read "
    "one by one: those it is to make (`agent_id`), those it asked for "
    "(`requested_by_agent_id`, for itself or another agent) and those whose call was offered "
    "to it. Filters combine; `state=scheduled` lists those still to come, soonest first; "
    "`state=completed` those whose call was made, `state=canceled` those whose call never "
    "will be.",
    responses=problem_responses(422),
)
async def list_callbacks(
    session: ReadSessionDep,
    principal: ActorDep,
    state: Annotated[
        CallbackState | None,
        Query(
            description="`scheduled` (not yet due), `queued` (due: it became a phone task, "
            "waiting, offered or taken), `completed` (an agent took the call and finished it) "
            "or `canceled` (the call ended with no one having taken it)."
        ),
    ] = None,
    queue_id: Annotated[
        UUID | None,
        Query(
            description="The queue the callback's phone task went to; callbacks still "
            "scheduled have none yet, so they never match."
        ),
    ] = None,
    language: Annotated[
        Language | None, Query(description="The language the call is to be made in.")
    ] = None,
    agent_id: Annotated[
        UUID | None, Query(description="The agent who should make the call first.")
    ] = None,
    due_after: Annotated[
        Instant | None, Query(description="Due at or after this instant (with its offset).")
    ] = None,
    due_before: Annotated[
        Instant | None, Query(description="Due before this instant (with its offset).")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[CallbackRead]:
    items, next_cursor = await callbacks.list_callbacks(
        session,
        filters=callbacks.CallbackFilter(
            state=state,
            queue_id=queue_id,
            language=language,
            agent_id=agent_id,
            due_after=due_after,
            due_before=due_before,
        ),
        acting_agent_id=acting_agent(principal),
        cursor=cursor,
        limit=limit,
    )
    return Page[CallbackRead](items=items, next_cursor=next_cursor)


@router.get(
    "/callbacks/{callback_id}",
    summary="Read a callback and the task it became (agents: theirs, and those they asked for)",
    description="An agent reads the callbacks it is to make (`agent_id`), those it asked for "
    "(`requested_by_agent_id`, for itself or another agent) and those whose task was offered "
    "to it; any other is 404, as if it did not exist.",
    responses=problem_responses(404, 422),
)
async def read_callback(
    callback_id: UUID, session: ReadSessionDep, principal: ActorDep
) -> CallbackRead:
    return await callbacks.get_callback(
        session, callback_id, acting_agent_id=acting_agent(principal)
    )


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


@router.post(
    "/handovers/check",
    summary="Would a transfer or an escalation go where it asks? Asked by the inbox before it "
    "accepts one (service credential only)",
    description="Applies the rules routing follows when the transfer or escalation arrives: "
    "`possible: false` with `refusal` `queue_not_found`, `queue_not_suitable` (the queue does "
    "not take the conversation's channel or language), `no_tier_queue` (an escalation without "
    "a queue, and no queue of the tier takes it), `agent_not_found` or `agent_not_suitable` "
    "(the agent may never take it in that queue, whatever it is doing now; `agent_refusals` "
    "says why). An agent who is away or busy may still be asked for. Changes nothing.",
    responses=problem_responses(422),
)
async def check_handover(
    body: HandoverQuery, session: ReadSessionDep, _: ServiceDep
) -> HandoverCheck:
    return await requeue.check_handover(session, query=body, now=utc_now())
