"""Resolving a conversation ends every routing task of it the agent holds, the callback's phone
task included: driven through the inbox's endpoints and the relays, as an agent would."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.routing.stream.feed import mark_stream
from shared.db import utc_now
from tests.routing.scenario import admin, agent_headers, create_agent, offers_of, run_engine
from tests.routing.test_requeue import (
    agent_state,
    assigned_conversation,
    conversation,
    inbox_agent,
    tasks_of,
)
from tests.support.apps import Running


async def test_resolving_after_a_callback_frees_the_agent_and_says_so(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, marie)
    url = f"/inbox/v1/conversations/{conversation_id}"
    as_marie = await inbox_agent(app, marie["id"])
    due = utc_now() + timedelta(seconds=5)

    scheduled = await app.client.post(
        f"{url}/callbacks",
        json={"due_at": due.isoformat(), "phone": "514-555-0123"},
        headers=as_marie,
    )
    first = await app.client.post(f"{url}/resolve", json={}, headers=as_marie)
    await app.deliver_all()
    # The callback falls due: Marie's front-end is listening, the call is offered to her.
    later = due + timedelta(seconds=1)
    await mark_stream(app.context("routing").require_sessions(), uuid.UUID(marie["id"]), seen=later)
    await run_engine(app, later)
    [call] = [o for o in await offers_of(app, marie["id"], headers) if o["state"] == "pending"]
    accepted = await app.client.post(
        f"/routing/v1/offers/{call['id']}/accept", headers=await agent_headers(app, marie["id"])
    )
    await app.deliver_all()
    during = await conversation(app, conversation_id)
    busy = await agent_state(app, marie["id"], headers)

    second = await app.client.post(
        f"{url}/resolve",
        json={"disposition": "resolved_first_contact", "note": "Rappel fait."},
        headers=as_marie,
    )
    await app.deliver_all()

    assert (scheduled.status_code, first.status_code, accepted.status_code) == (202, 200, 200)
    assert call["channel"] == "phone"
    assert (during["routing_status"], busy["load"]["phone"]) == ("assigned", 1)
    assert second.status_code == 200, second.text
    notes = await app.client.get(f"{url}/notes", headers=as_marie)
    assert [n["body"] for n in notes.json()] == ["Rappel fait."]
    after = await conversation(app, conversation_id)
    assert (after["status"], after["routing_status"]) == ("resolved", "none")
    assert (await agent_state(app, marie["id"], headers))["load"]["phone"] == 0
    email, phone = await tasks_of(app, conversation_id)
    assert (email.channel, email.end_reason) == ("email", "resolved")
    assert (phone.channel, phone.end_reason) == ("phone", "resolved")
    assert phone.state in ("wrap_up", "completed")
