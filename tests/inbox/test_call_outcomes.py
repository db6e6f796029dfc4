"""What a call that never reaches an agent leaves behind, over HTTP: the inbox and routing agree."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.routing.stream.feed import mark_stream
from shared.auth import Role
from shared.db import utc_now
from tests.inbox.test_calls import FRENCH_LINE, close_phone_queue, event, gateway, phone_app
from tests.routing.scenario import admin, agent_headers, create_agent, offers_of, run_engine
from tests.routing.test_requeue import agent_state
from tests.support.apps import Running

__all__ = ["gateway", "phone_app"]

FRENCH_PHONE_QUEUE = "Téléphone — français"


async def seen(app: Running, conversation_id: str) -> dict[str, Any]:
    """The conversation as a supervisor reads it, and the French phone queue's waiting tasks."""
    headers = {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}
    read = await app.client.get(f"/inbox/v1/conversations/{conversation_id}", headers=headers)
    assert read.status_code == 200, read.text
    queues = (await app.client.get("/routing/v1/queues", headers=headers)).json()
    [queue] = [queue for queue in queues if queue["name"] == FRENCH_PHONE_QUEUE]
    stats = await app.client.get(f"/routing/v1/queues/{queue['id']}/stats", headers=headers)
    assert stats.status_code == 200, stats.text
    conversation: dict[str, Any] = read.json()
    return {
        "status": conversation["status"],
        "routing_status": conversation["routing_status"],
        "assignee_agent_id": conversation["assignee_agent_id"],
        "waiting": stats.json()["waiting"],
    }


NOBODY_SOUGHT = {
    "status": "open",
    "routing_status": "not_routed",
    "assignee_agent_id": None,
    "waiting": 0,
}


@pytest.mark.parametrize("ending", ["abandoned", "missed"])
async def test_a_call_that_ends_before_routing_reads_its_ringing_is_not_left_queued(
    phone_app: Running, gateway: dict[str, str], ending: str
) -> None:
    ringing = await event(phone_app, gateway, event="ringing", to=FRENCH_LINE)
    ended = await event(phone_app, gateway, event=ending, to=FRENCH_LINE)
    await phone_app.deliver_all()

    assert (ringing["action"], ended["action"]) == ("queued", "recorded")
    assert await seen(phone_app, ringing["conversation_id"]) == NOBODY_SOUGHT


@pytest.mark.parametrize("ending", ["abandoned", "missed"])
async def test_a_call_that_ends_after_it_was_queued_waits_for_nobody(
    phone_app: Running, gateway: dict[str, str], ending: str
) -> None:
    ringing = await event(phone_app, gateway, event="ringing", to=FRENCH_LINE)
    await phone_app.deliver_all()
    queued = await seen(phone_app, ringing["conversation_id"])
    await event(phone_app, gateway, event=ending, to=FRENCH_LINE)
    await phone_app.deliver_all()

    assert (queued["routing_status"], queued["waiting"]) == ("queued", 1)
    assert await seen(phone_app, ringing["conversation_id"]) == NOBODY_SOUGHT


@pytest.mark.parametrize("first", ["completed", "answered"])
async def test_a_call_first_heard_of_once_answered_is_open_and_routed_to_nobody(
    phone_app: Running, gateway: dict[str, str], first: str
) -> None:
    heard = await event(phone_app, gateway, event=first, to=FRENCH_LINE, duration_seconds=40)
    late_ringing = await event(phone_app, gateway, event="ringing", to=FRENCH_LINE)
    await phone_app.deliver_all()

    assert (heard["action"], late_ringing["action"]) == ("recorded", "recorded")
    assert await seen(phone_app, heard["conversation_id"]) == NOBODY_SOUGHT


async def test_a_call_told_closed_out_of_hours_is_open_and_routed_to_nobody(
    phone_app: Running, gateway: dict[str, str]
) -> None:
    await close_phone_queue(phone_app, FRENCH_PHONE_QUEUE)

    ringing = await event(phone_app, gateway, event="ringing", to=FRENCH_LINE)
    await event(phone_app, gateway, event="abandoned", to=FRENCH_LINE)
    await phone_app.deliver_all()

    assert ringing["action"] == "closed"
    assert await seen(phone_app, ringing["conversation_id"]) == NOBODY_SOUGHT


@pytest.mark.parametrize("ending", ["answered", "completed"])
async def test_a_call_answered_while_its_task_waits_is_offered_to_nobody_after(
    phone_app: Running, gateway: dict[str, str], ending: str
) -> None:
    """The call was answered outside routing (a desk phone, the telephony system's own
    overflow) and is over: no agent is to be offered a call that ended."""
    ringing = await event(phone_app, gateway, event="ringing", to=FRENCH_LINE)
    await phone_app.deliver_all()
    queued = await seen(phone_app, ringing["conversation_id"])
    ended = await event(phone_app, gateway, event=ending, to=FRENCH_LINE, duration_seconds=40)
    await phone_app.deliver_all()

    assert (queued["routing_status"], queued["waiting"]) == ("queued", 1)
    assert ended["action"] == "recorded"
    assert await seen(phone_app, ringing["conversation_id"]) == NOBODY_SOUGHT


async def test_a_call_completed_by_the_agent_routing_gave_it_to_stays_theirs(
    phone_app: Running, gateway: dict[str, str]
) -> None:
    """Routing gave the call to Marie, and the call ends before the inbox has heard so: her
    task is not taken from her (she wraps it up), and the conversation is hers."""
    headers = await admin(phone_app)
    marie = await create_agent(phone_app, headers, name="Marie", languages={"fr": 5})
    ringing = await event(phone_app, gateway, event="ringing", to=FRENCH_LINE)
    await phone_app.relay_now("inbox").run_once()
    now = utc_now()
    sessions = phone_app.context("routing").require_sessions()
    await mark_stream(sessions, uuid.UUID(marie["id"]), seen=now)
    await run_engine(phone_app, now)
    [call] = await offers_of(phone_app, marie["id"], headers)
    accepted = await phone_app.client.post(
        f"/routing/v1/offers/{call['id']}/accept",
        headers=await agent_headers(phone_app, marie["id"]),
    )
    await event(phone_app, gateway, event="completed", to=FRENCH_LINE, duration_seconds=40)
    await phone_app.deliver_all()

    assert accepted.status_code == 200, accepted.text
    after = await seen(phone_app, ringing["conversation_id"])
    assert (after["routing_status"], after["assignee_agent_id"]) == ("assigned", marie["id"])
    assert (await agent_state(phone_app, marie["id"], headers))["load"]["phone"] == 1
