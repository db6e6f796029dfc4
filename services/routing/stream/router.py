"""The agent's live event stream over Server-Sent Events."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse

from services.routing.deps import BrokerDep, OwnAgentDep, SettingsDep
from services.routing.stream.feed import agent_feed, require_agent
from shared.schemas import problem_responses
from shared.web import service_context

MAX_EVENT_ID = 2**63 - 1  # event ids are 8-byte integers: a larger one cannot be queried

router = APIRouter(
    prefix="/routing/v1", tags=["stream"], responses=problem_responses(401, 403, 503)
)


@router.get(
    "/agents/{agent_id}/events",
    summary="Live stream of an agent's offers, assignments, cancellations and notices (SSE)",
    description="`text/event-stream`: each event has an `id`, a type (`offer`, `offer.ended`, "
    "`assignment`, `task.canceled`, `task.completed`, `status`, and `email.failed` when an "
    "email the agent wrote, or of its conversation, was refused or given up: its recipients, "
    "subject and the mail server's answer) and JSON data. Reconnect with "
    "`Last-Event-ID` to receive every event since; without it, the offers still pending come "
    "first. An agent's token sees only its own stream. Calls are offered only to agents whose "
    "stream is connected.",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **problem_responses(404, 422)},
)
async def agent_events(
    agent_id: UUID,
    request: Request,
    settings: SettingsDep,
    broker: BrokerDep,
    _: OwnAgentDep,
    last_event_id: Annotated[
        int | None, Header(alias="Last-Event-ID", ge=0, le=MAX_EVENT_ID)
    ] = None,
) -> StreamingResponse:
    context = service_context(request)
    reads = context.require_read_sessions()
    await require_agent(reads, agent_id)
    feed = agent_feed(
        context.require_sessions(),
        reads,
        broker,
        agent_id=agent_id,
        last_event_id=last_event_id,
        heartbeat_seconds=settings.stream_heartbeat_seconds,
    )
    return StreamingResponse(
        feed,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
