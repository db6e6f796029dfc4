"""A conversation handed on never goes straight back to the agent who handed it on.

The agent a transfer or an escalation came from counts as having declined the new task (as an
agent who rejected an offer does): the agent asked for gets it first when they may take it;
otherwise another suitable agent does; the sender gets it again only when no one else may
take it, and not before ``ROUTING_REOFFER_DECLINED_AFTER_SECONDS``. Driven through the inbox's
transfer and escalation endpoints, the outbox relays and the engine run by hand.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from shared.auth import Role
from shared.db import utc_now
from tests.inbox.builders import email, raw_headers
from tests.routing.scenario import admin, agent_headers, create_agent, offers_of, run_engine
from tests.routing.scenario import task_of as latest_task
from tests.routing.test_requeue import (
    TIER_TWO,
    assigned_conversation,
    create_queue,
    deliver,
    inbox_agent,
)
from tests.support.apps import Running

AFTER = timedelta(seconds=30)  # ROUTING_REOFFER_DECLINED_AFTER_SECONDS by default


async def pending(app: Running, agent: dict[str, Any]) -> list[dict[str, Any]]:
    """The agent's offers still waiting for an answer."""
    offers = await offers_of(app, agent["id"], await admin(app))
    return [offer for offer in offers if offer["state"] == "pending"]


async def set_status(app: Running, agent: dict[str, Any], status: str) -> None:
    headers = await admin(app)
    changed = await app.client.put(
        f"/routing/v1/agents/{agent['id']}/status", json={"status": status}, headers=headers
    )
    assert changed.status_code == 200, changed.text


async def transfer(app: Running, conversation_id: str, by: dict[str, str], to: str) -> None:
    moved = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/transfer",
        json={"to_agent_id": to, "note": "Le niveau 2 prendra la suite."},
        headers=by,
    )
    assert moved.status_code == 200, moved.text
    await deliver(app, "inbox")  # routing ends the old task and opens the new one


async def engine_at(app: Running, moments: list[datetime]) -> None:
    for moment in moments:
        await run_engine(app, moment)


@pytest.mark.parametrize("status", ["away", "offline"])
async def test_a_transfer_to_an_agent_who_is_not_there_does_not_go_back_to_the_sender(
    app: Running, status: str
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, marie)
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status=status)

    await transfer(app, conversation_id, await inbox_agent(app, marie["id"]), luc["id"])
    handed = utc_now()
    await engine_at(app, [handed, handed + timedelta(seconds=1)])
    meanwhile = await pending(app, marie)
    waiting = await latest_task(app, conversation_id, headers)
    await set_status(app, luc, "available")
    await run_engine(app, handed + timedelta(seconds=2))

    assert meanwhile == []
    assert waiting["state"] == "waiting"
    assert waiting["preferred_agent_id"] == luc["id"]
    assert waiting["route"]["requeue"]["from_agent_id"] == marie["id"]
    # Why it waits says so too: the agent who handed it on counts as having declined it.
    assert ("declined", 1) in {(r["code"], r["agents"]) for r in waiting["wait"]["refusals"]}
    # The agent asked for still gets it first once they may take it.
    [to_luc] = await pending(app, luc)
    assert to_luc["conversation_id"] == conversation_id
    assert to_luc["why"]["sticky"] is True
    assert await pending(app, marie) == []


async def test_it_goes_to_another_suitable_agent_rather_than_back(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, marie)
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="offline")
    anne = await create_agent(app, headers, name="Anne", languages={"fr": 5})

    await transfer(app, conversation_id, await inbox_agent(app, marie["id"]), luc["id"])
    await run_engine(app)

    [to_anne] = await pending(app, anne)
    assert to_anne["conversation_id"] == conversation_id
    assert await pending(app, marie) == []
    assert await pending(app, luc) == []


async def test_the_sender_gets_it_back_only_after_the_delay_when_no_one_else_may(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, marie)
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="away")

    await transfer(app, conversation_id, await inbox_agent(app, marie["id"]), luc["id"])
    handed = utc_now()
    await engine_at(app, [handed, handed + timedelta(seconds=1), handed + AFTER - timedelta(1)])
    meanwhile = await pending(app, marie)
    await run_engine(app, handed + AFTER + timedelta(seconds=1))

    assert meanwhile == []
    [again] = await pending(app, marie)
    assert again["conversation_id"] == conversation_id
    assert await pending(app, luc) == []


async def test_an_escalation_does_not_go_straight_back_to_the_agent_who_escalated(
    app: Running,
) -> None:
    headers = await admin(app)
    # Marie is a tier 2 agent herself, so she may take the tier 2 queue's work.
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    tiered = await app.client.patch(
        f"/routing/v1/agents/{marie['id']}", json={"tier": 2}, headers=headers
    )
    assert tiered.status_code == 200, tiered.text
    conversation_id = await assigned_conversation(app, headers, marie)
    await create_queue(app, headers, TIER_TWO)

    escalated = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/escalate",
        json={"tier": 2, "reason": "Remboursement à approuver"},
        headers=await inbox_agent(app, marie["id"]),
    )
    assert escalated.status_code == 200, escalated.text
    await deliver(app, "inbox")
    handed = utc_now()
    await engine_at(app, [handed, handed + timedelta(seconds=1)])
    meanwhile = await pending(app, marie)
    await run_engine(app, handed + AFTER + timedelta(seconds=1))

    assert meanwhile == []
    task = await latest_task(app, conversation_id, headers)
    assert task["route"]["queue"]["name"] == TIER_TWO["name"]
    assert task["route"]["requeue"]["from_agent_id"] == marie["id"]
    [again] = await pending(app, marie)
    assert again["task_id"] == task["id"]


async def test_a_supervisor_transfer_racing_the_accept_records_and_spares_the_agent(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="away")
    gateway = await app.token(Role.GATEWAY)
    received = await app.client.post(
        "/inbox/v1/inbound/email", content=email(), headers=raw_headers(gateway)
    )
    conversation_id: str = received.json()["conversation_id"]
    await deliver(app, "inbox")
    await run_engine(app)
    [offer] = await pending(app, marie)
    accepted = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/accept", headers=await agent_headers(app, marie["id"])
    )
    assert accepted.status_code == 200, accepted.text
    # The inbox has not heard of the accept yet when the supervisor hands the contact to Luc.
    boss = {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR, name='Sophie')}"}

    await transfer(app, conversation_id, boss, luc["id"])
    handed = utc_now()
    await engine_at(app, [handed, handed + timedelta(seconds=1)])

    task = await latest_task(app, conversation_id, headers)
    requeue = task["route"]["requeue"]
    assert (requeue["from_task_state"], requeue["from_agent_id"]) == ("assigned", marie["id"])
    assert task["state"] == "waiting"
    assert await pending(app, marie) == []
