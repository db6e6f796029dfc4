"""What a call that never reaches an agent leaves behind, over HTTP: the inbox and routing agree."""

from __future__ import annotations

from typing import Any

import pytest

from shared.auth import Role
from tests.inbox.test_calls import FRENCH_LINE, close_phone_queue, event, gateway, phone_app
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
