"""A customer who writes again on an email conversation whose agent has logged out is not left
waiting for her: the conversation goes back to its queue, that agent first should she come
back before anyone else may take it. While the agent is at work (available, busy or away),
the new email lands in her conversation as before. Driven over HTTP through the all-in-one:
routing's API, the inbox's, and the outbox relays."""

from __future__ import annotations

from typing import Any

import pytest

from tests.routing.scenario import admin, agent_headers, create_agent, offers_of, run_engine
from tests.routing.scenario import task_of as latest_task
from tests.routing.test_requeue import agent_state, assigned_conversation, conversation
from tests.routing.test_task_completion_reaches_inbox import (
    customer_writes_again,
    pending,
    reply,
)
from tests.support.apps import Running


async def set_status(app: Running, agent: dict[str, Any], status: str) -> None:
    changed = await app.client.put(
        f"/routing/v1/agents/{agent['id']}/status",
        json={"status": status},
        headers=await admin(app),
    )
    assert changed.status_code == 200, changed.text


async def accept(app: Running, offer: dict[str, Any], agent: dict[str, Any]) -> None:
    accepted = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/accept", headers=await agent_headers(app, agent["id"])
    )
    assert accepted.status_code == 200, accepted.text


async def inbound_texts(app: Running, conversation_id: str) -> list[str]:
    messages = (await conversation(app, conversation_id))["messages"]
    return [message["text"] or "" for message in messages if message["direction"] == "inbound"]


async def test_the_customer_writing_to_an_offline_agent_goes_to_another_available_agent(
    app: Running,
) -> None:
    headers = await admin(app)
    john = await create_agent(app, headers, name="John", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="away")
    conversation_id = await assigned_conversation(app, headers, john)
    await reply(app, conversation_id, john)
    first = await latest_task(app, conversation_id, headers)
    await set_status(app, john, "offline")
    await set_status(app, luc, "available")
    await app.deliver_all()
    await run_engine(app)
    # Logging out alone leaves the conversation with John (he may come back to it).
    kept = await conversation(app, conversation_id)

    await customer_writes_again(app, conversation_id)
    await app.deliver_all()
    waiting = await conversation(app, conversation_id)
    await run_engine(app)
    await app.deliver_all()

    assert (kept["routing_status"], kept["assignee_agent_id"]) == ("assigned", john["id"])
    # The new email went back to the queue: nobody's, so the queue's agents see it.
    assert (waiting["status"], waiting["routing_status"]) == ("open", "queued")
    assert waiting["assignee_agent_id"] is None
    assert any("décembre" in text for text in await inbound_texts(app, conversation_id))
    # John's assignment ended and his capacity is free; a new task waits, John first.
    ended = (await app.client.get(f"/routing/v1/tasks/{first['id']}", headers=headers)).json()
    assert (ended["state"], ended["end_reason"]) == ("canceled", "agent_offline")
    assert (await agent_state(app, john["id"], headers))["load"].get("email", 0) == 0
    second = await latest_task(app, conversation_id, headers)
    assert second["id"] != first["id"]
    assert second["route"]["preferred_agent_id"] == john["id"]
    # Luc, available, is offered it; once he accepts, it is his.
    [offer] = pending(await offers_of(app, luc["id"], headers))
    assert (offer["conversation_id"], offer["task_id"]) == (conversation_id, second["id"])
    await accept(app, offer, luc)
    await app.deliver_all()
    taken = await conversation(app, conversation_id)
    assert (taken["routing_status"], taken["assignee_agent_id"]) == ("assigned", luc["id"])


@pytest.mark.parametrize("status", ["available", "away", "busy"])
async def test_the_customer_writing_to_an_agent_at_work_stays_with_her(
    app: Running, status: str
) -> None:
    headers = await admin(app)
    john = await create_agent(app, headers, name="John", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="away")
    conversation_id = await assigned_conversation(app, headers, john)
    await reply(app, conversation_id, john)
    first = await latest_task(app, conversation_id, headers)
    await set_status(app, john, status)
    await set_status(app, luc, "available")

    await customer_writes_again(app, conversation_id)
    await app.deliver_all()
    await run_engine(app)
    await app.deliver_all()

    held = await conversation(app, conversation_id)
    assert (held["routing_status"], held["assignee_agent_id"]) == ("assigned", john["id"])
    assert any("décembre" in text for text in await inbound_texts(app, conversation_id))
    assert (await latest_task(app, conversation_id, headers))["id"] == first["id"]
    still = (await app.client.get(f"/routing/v1/tasks/{first['id']}", headers=headers)).json()
    assert (still["state"], still["agent_id"]) == ("assigned", john["id"])
    assert (await agent_state(app, john["id"], headers))["load"]["email"] == 1
    assert pending(await offers_of(app, luc["id"], headers)) == []
    assert pending(await offers_of(app, john["id"], headers)) == []


async def test_the_offline_agent_back_before_anyone_else_gets_the_conversation_first(
    app: Running,
) -> None:
    headers = await admin(app)
    john = await create_agent(app, headers, name="John", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="away")
    conversation_id = await assigned_conversation(app, headers, john)
    await reply(app, conversation_id, john)
    await set_status(app, john, "offline")

    await customer_writes_again(app, conversation_id)
    await app.deliver_all()
    await run_engine(app)
    await app.deliver_all()
    # Nobody may take it yet: it waits in its queue.
    waiting = await conversation(app, conversation_id)
    offered_meanwhile = pending(await offers_of(app, luc["id"], headers))
    # John comes back, and Luc too: John, who had it, is offered it first.
    await set_status(app, john, "available")
    await set_status(app, luc, "available")
    await run_engine(app)
    await app.deliver_all()

    assert (waiting["routing_status"], waiting["assignee_agent_id"]) == ("queued", None)
    assert offered_meanwhile == []
    assert pending(await offers_of(app, luc["id"], headers)) == []
    [offer] = pending(await offers_of(app, john["id"], headers))
    assert offer["conversation_id"] == conversation_id
    await accept(app, offer, john)
    await app.deliver_all()
    back = await conversation(app, conversation_id)
    assert (back["routing_status"], back["assignee_agent_id"]) == ("assigned", john["id"])
