"""An agent keeps sight of the callbacks it asks for, for itself or for another agent: routing
stores who asked (through its API or the inbox's event) and lets that agent read them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from services.inbox.models import OutboxEvent as InboxOutboxEvent
from services.routing.models import Callback
from shared.auth import Role
from shared.db import utc_now
from tests.routing.scenario import SERVICE, admin, agent_headers, bearer, create_agent, post_event
from tests.routing.test_callback_access import callback_body, read, schedule
from tests.routing.test_requeue import assigned_conversation, deliver, inbox_agent
from tests.support.apps import Running
from tests.support.inbox_rows import inbox_has


async def callbacks_stored(app: Running) -> int:
    async with app.context("routing").require_sessions()() as session:
        return await session.scalar(select(func.count()).select_from(Callback)) or 0


async def three_agents(app: Running) -> tuple[dict[str, Any], ...]:
    headers = await admin(app)
    agents = []
    for name in ("Marie", "Luc", "Paul"):
        agents.append(
            await create_agent(app, headers, name=name, languages={"fr": 5}, status="offline")
        )
    return tuple(agents)


async def test_the_agent_who_asks_for_a_callback_for_another_agent_reads_it(
    app: Running,
) -> None:
    marie, luc, paul = await three_agents(app)
    marie_headers = await agent_headers(app, marie["id"], "fr")
    luc_headers = await agent_headers(app, luc["id"])
    paul_headers = await agent_headers(app, paul["id"])
    supervisor = bearer(await app.token(Role.SUPERVISOR))

    body = callback_body(agent_id=luc["id"])
    await inbox_has(app, body["conversation_id"])
    created = await app.client.post("/routing/v1/callbacks", json=body, headers=marie_headers)
    for_luc = created.json()["id"]
    own = await schedule(app, marie_headers)
    by_supervisor = await schedule(app, supervisor, agent_id=luc["id"])
    by_service = await schedule(app, SERVICE, agent_id=luc["id"])

    assert created.status_code == 201
    assert (created.json()["agent_id"], created.json()["requested_by_agent_id"]) == (
        luc["id"],
        marie["id"],
    )
    by_marie = await read(app, for_luc, marie_headers)
    by_luc = await read(app, for_luc, luc_headers)
    by_paul = await read(app, for_luc, paul_headers)
    assert by_marie.status_code == by_luc.status_code == 200
    assert by_marie.json() == by_luc.json() == created.json()
    # A third agent still may not: 404, and nothing of the callback in the answer.
    assert by_paul.status_code == 404
    assert by_paul.json()["code"] == "callback.not_found"
    assert "5550123" not in by_paul.text
    assert "Rappeler" not in by_paul.text
    assert (await read(app, own, marie_headers)).json()["requested_by_agent_id"] == marie["id"]
    # Callbacks a supervisor or a service asked for name no agent as asking: Marie has no say.
    for callback_id in (by_supervisor, by_service):
        seen = await read(app, callback_id, supervisor)
        assert seen.json()["requested_by_agent_id"] is None
        assert (await read(app, callback_id, marie_headers)).status_code == 404
        assert (await read(app, callback_id, luc_headers)).status_code == 200


async def test_who_asked_cannot_be_given_and_refused_requests_store_nothing(
    app: Running,
) -> None:
    marie, luc, paul = await three_agents(app)
    marie_headers = await agent_headers(app, marie["id"], "fr")
    paul_headers = await agent_headers(app, paul["id"])

    # Marie may not pass her callback off as Paul's request, nor name an unknown agent.
    spoofed = await app.client.post(
        "/routing/v1/callbacks",
        json=callback_body(agent_id=luc["id"], requested_by_agent_id=paul["id"]),
        headers=marie_headers,
    )
    body = callback_body(agent_id=str(uuid.uuid4()))
    await inbox_has(app, body["conversation_id"])
    unknown = await app.client.post("/routing/v1/callbacks", json=body, headers=marie_headers)

    assert (spoofed.status_code, unknown.status_code) == (422, 422)
    assert spoofed.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in spoofed.json()["errors"]] == ["requested_by_agent_id"]
    assert [e["field"] for e in unknown.json()["errors"]] == ["agent_id"]
    assert unknown.json()["errors"][0]["reason"] == "Aucun agent n’a cet identifiant."
    assert await callbacks_stored(app) == 0

    # A refused read changes nothing either.
    for_luc = await schedule(app, marie_headers, agent_id=luc["id"])
    before = await read(app, for_luc, marie_headers)
    refused = await read(app, for_luc, paul_headers)
    after = await read(app, for_luc, marie_headers)
    assert refused.status_code == 404
    assert before.json() == after.json()
    assert after.json()["requested_by_agent_id"] == marie["id"]
    assert await callbacks_stored(app) == 1


async def test_a_callback_asked_for_in_the_workspace_is_read_by_the_agent_who_asked(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    paul = await create_agent(app, headers, name="Paul", languages={"fr": 5}, status="offline")
    conversation_id = await assigned_conversation(app, headers, marie)

    scheduled = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/callbacks",
        json={
            "due_at": (utc_now() + timedelta(hours=2)).isoformat(),
            "phone": "514-555-0123",
            "note": "Rappeler",
        },
        headers=await inbox_agent(app, marie["id"]),
    )
    assert scheduled.status_code == 202, scheduled.text
    await deliver(app, "inbox")
    async with app.context("inbox").require_sessions()() as session:
        event = await session.scalar(
            select(InboxOutboxEvent).where(InboxOutboxEvent.type == "callback.requested")
        )
    assert event is not None
    # The answer names the callback as routing keeps it.
    callback_id = scheduled.json()["id"]
    assert callback_id == str(event.id)

    by_marie = await read(app, callback_id, await agent_headers(app, marie["id"]))
    by_paul = await read(app, callback_id, await agent_headers(app, paul["id"]))

    assert by_marie.status_code == 200, by_marie.text
    assert by_marie.json()["requested_by_agent_id"] == marie["id"]
    assert by_marie.json()["agent_id"] == marie["id"]
    assert by_paul.status_code == 404
    assert by_paul.json()["code"] == "callback.not_found"


async def test_a_callback_event_from_before_the_field_is_still_accepted(app: Running) -> None:
    headers = await admin(app)
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="offline")
    event_id = uuid.uuid4()
    # As an inbox that did not yet say who asked wrote it to its outbox.
    payload = {
        "conversation_id": str(uuid.uuid4()),
        "contact_id": str(uuid.uuid4()),
        "phone": "+15145550123",
        "due_at": (utc_now() + timedelta(hours=1)).isoformat(),
        "language": "fr",
        "preferred_agent_id": luc["id"],
        "note": None,
    }

    delivered = await post_event(app, "callback.requested", payload, event_id)

    assert delivered.status_code == 200, delivered.text
    callback = await read(app, str(event_id), headers)
    assert callback.status_code == 200
    assert callback.json()["agent_id"] == luc["id"]
    assert callback.json()["requested_by_agent_id"] is None
    assert (await read(app, str(event_id), await agent_headers(app, luc["id"]))).status_code == 200
