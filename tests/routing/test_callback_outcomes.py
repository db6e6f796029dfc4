"""A callback follows its call to the end: `completed` once the call an agent took is finished,
`canceled` when its call ends with no one having taken it; the list filters on both, and the
read says when it ended. Driven over HTTP: routing's API, the inbox's and its events."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from services.routing.stream.feed import mark_stream
from shared.auth import Role
from shared.db import utc_now
from tests.routing.scenario import (
    admin,
    agent_headers,
    bearer,
    create_agent,
    offers_of,
    post_event,
    run_engine,
)
from tests.routing.test_callback_access import read, schedule
from tests.routing.test_callback_list import URL, ids, listed
from tests.routing.test_requeue import assigned_conversation, inbox_agent
from tests.support.apps import Running


async def fall_due(app: Running, agent: dict[str, Any], due: datetime) -> None:
    """Run the engine just after ``due``, the agent's front-end listening (calls are offered
    only to agents whose stream is connected)."""
    later = due + timedelta(seconds=1)
    sessions = app.context("routing").require_sessions()
    await mark_stream(sessions, uuid.UUID(agent["id"]), seen=later)
    await run_engine(app, later)


async def pending_call(app: Running, agent: dict[str, Any]) -> dict[str, Any]:
    [call] = [
        offer
        for offer in await offers_of(app, agent["id"], await admin(app))
        if offer["state"] == "pending"
    ]
    assert call["channel"] == "phone"
    return call


async def accept(app: Running, agent: dict[str, Any], offer: dict[str, Any]) -> None:
    accepted = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/accept", headers=await agent_headers(app, agent["id"])
    )
    assert accepted.status_code == 200, accepted.text


async def task(app: Running, task_id: str) -> dict[str, Any]:
    answer = await app.client.get(f"/routing/v1/tasks/{task_id}", headers=await admin(app))
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def by_state(app: Running, headers: dict[str, str]) -> dict[str, list[str]]:
    return {
        state: ids(await listed(app, headers, state=state))
        for state in ("scheduled", "queued", "completed", "canceled")
    }


async def test_a_callback_whose_call_was_taken_and_completed_is_completed(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    supervisor = bearer(await app.token(Role.SUPERVISOR))
    due = utc_now() + timedelta(minutes=10)
    made = await schedule(app, supervisor, due_at=due.isoformat(), agent_id=marie["id"])
    waiting = await schedule(app, supervisor, due_at=(due + timedelta(days=1)).isoformat())
    await fall_due(app, marie, due)
    call = await pending_call(app, marie)
    await accept(app, marie, call)
    taken = await read(app, made, supervisor)

    completed = await app.client.post(
        f"/routing/v1/tasks/{call['task_id']}/complete",
        headers=await agent_headers(app, marie["id"]),
    )

    assert completed.status_code == 200, completed.text
    assert (taken.json()["state"], taken.json()["ended_at"]) == ("queued", None)
    after = (await read(app, made, supervisor)).json()
    assert after["state"] == "completed"
    assert after["task_id"] == call["task_id"]
    assert after["ended_at"] is not None
    assert datetime.fromisoformat(after["ended_at"]) == datetime.fromisoformat(
        (await task(app, call["task_id"]))["ended_at"]
    )
    assert await by_state(app, supervisor) == {
        "scheduled": [waiting],
        "queued": [],
        "completed": [made],
        "canceled": [],
    }
    # Marie, who made the call, reads it completed too; the one still to come is untouched.
    own = await read(app, made, await agent_headers(app, marie["id"]))
    assert own.json() == after
    later = (await read(app, waiting, supervisor)).json()
    assert (later["state"], later["task_id"], later["ended_at"]) == ("scheduled", None, None)


async def callback_after_resolve(
    app: Running,
) -> tuple[dict[str, str], dict[str, Any], str, dict[str, str], datetime]:
    """Marie's French email conversation, for which she schedules a callback in five minutes
    and which she then resolves: (admin headers, Marie, the conversation's URL, her inbox
    headers, when the callback is due)."""
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, marie)
    url = f"/inbox/v1/conversations/{conversation_id}"
    as_marie = await inbox_agent(app, marie["id"])
    due = utc_now() + timedelta(minutes=5)
    scheduled = await app.client.post(
        f"{url}/callbacks",
        json={"due_at": due.isoformat(), "phone": "514-555-0123"},
        headers=as_marie,
    )
    assert scheduled.status_code == 202, scheduled.text
    resolved = await app.client.post(f"{url}/resolve", json={}, headers=as_marie)
    assert resolved.status_code == 200, resolved.text
    await app.deliver_all()
    return headers, marie, url, as_marie, due


async def test_a_callback_is_completed_when_its_conversation_is_resolved_after_the_call(
    app: Running,
) -> None:
    headers, marie, url, as_marie, due = await callback_after_resolve(app)
    [callback] = await listed(app, headers, state="scheduled")
    await fall_due(app, marie, due)
    await accept(app, marie, await pending_call(app, marie))
    await app.deliver_all()

    again = await app.client.post(f"{url}/resolve", json={"note": "Rappel fait."}, headers=as_marie)
    await app.deliver_all()

    assert again.status_code == 200, again.text
    after = (await read(app, callback["id"], headers)).json()
    assert after["state"] == "completed"
    assert after["ended_at"] is not None
    assert ids(await listed(app, headers, state="completed")) == [callback["id"]]
    assert await listed(app, headers, state="scheduled") == []
    assert await listed(app, headers, state="queued") == []


async def test_a_callback_whose_conversation_is_resolved_before_anyone_took_the_call_is_canceled(
    app: Running,
) -> None:
    headers, marie, url, as_marie, due = await callback_after_resolve(app)
    [callback] = await listed(app, headers, state="scheduled")
    # The call is offered to Marie, who does not answer before the conversation is resolved.
    await fall_due(app, marie, due)
    offered = await pending_call(app, marie)
    await app.deliver_all()

    resolved = await app.client.post(f"{url}/resolve", json={}, headers=as_marie)
    await app.deliver_all()

    assert resolved.status_code == 200, resolved.text
    after = (await read(app, callback["id"], headers)).json()
    assert after["state"] == "canceled"
    assert after["task_id"] == offered["task_id"]
    call = await task(app, offered["task_id"])
    assert (call["state"], call["end_reason"]) == ("canceled", "resolved")
    assert datetime.fromisoformat(after["ended_at"]) == datetime.fromisoformat(call["ended_at"])
    assert await by_state(app, headers) == {
        "scheduled": [],
        "queued": [],
        "completed": [],
        "canceled": [callback["id"]],
    }


async def test_a_callback_whose_call_the_inbox_cancels_is_canceled(app: Running) -> None:
    headers = await admin(app)
    supervisor = bearer(await app.token(Role.SUPERVISOR))
    due = utc_now() + timedelta(minutes=10)
    conversation_id = str(uuid.uuid4())
    callback_id = await schedule(
        app, supervisor, due_at=due.isoformat(), conversation_id=conversation_id
    )
    # No agent is connected: the call waits in its queue.
    await run_engine(app, due + timedelta(seconds=1))
    waiting = (await read(app, callback_id, supervisor)).json()

    canceled = await post_event(
        app, "conversation.canceled", {"conversation_id": conversation_id, "reason": "abandoned"}
    )

    assert canceled.status_code == 200, canceled.text
    assert waiting["state"] == "queued"
    after = (await read(app, callback_id, supervisor)).json()
    assert (after["state"], after["task_id"]) == ("canceled", waiting["task_id"])
    assert after["ended_at"] is not None
    assert ids(await listed(app, headers, state="canceled")) == [callback_id]
    assert await listed(app, headers, state="queued") == []


async def test_a_transferred_call_is_followed_to_its_new_task(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5})
    supervisor = bearer(await app.token(Role.SUPERVISOR))
    due = utc_now() + timedelta(minutes=10)
    conversation_id = str(uuid.uuid4())
    # For no agent in particular: Marie, the one listening when it falls due, gets the call.
    callback_id = await schedule(
        app, supervisor, due_at=due.isoformat(), conversation_id=conversation_id
    )
    await fall_due(app, marie, due)
    first = await pending_call(app, marie)
    await accept(app, marie, first)

    # Marie hands the call to Luc, whose front-end listens: he takes it and finishes it.
    await mark_stream(
        app.context("routing").require_sessions(), uuid.UUID(luc["id"]), seen=utc_now()
    )
    transferred = await post_event(
        app,
        "conversation.transferred",
        {
            "conversation_id": conversation_id,
            "from_agent_id": marie["id"],
            "to_agent_id": luc["id"],
        },
    )
    assert transferred.status_code == 200, transferred.text
    moved = (await read(app, callback_id, supervisor)).json()
    second = await pending_call(app, luc)
    await accept(app, luc, second)
    completed = await app.client.post(
        f"/routing/v1/tasks/{second['task_id']}/complete",
        headers=await agent_headers(app, luc["id"]),
    )

    assert completed.status_code == 200, completed.text
    assert second["task_id"] != first["task_id"]
    # Handing the call on is not finishing it: the callback waits with its new task.
    assert (moved["state"], moved["task_id"], moved["ended_at"]) == (
        "queued",
        second["task_id"],
        None,
    )
    after = (await read(app, callback_id, supervisor)).json()
    assert (after["state"], after["task_id"]) == ("completed", second["task_id"])
    assert ids(await listed(app, headers, state="completed")) == [callback_id]
    # Both agents the call was offered to still read the callback, as it reads now.
    for agent in (marie, luc):
        own = await agent_headers(app, agent["id"])
        assert (await read(app, callback_id, own)).json() == after
        assert ids(await listed(app, own, state="completed")) == [callback_id]


async def test_an_unknown_state_is_refused_in_both_languages_and_changes_nothing(
    app: Running,
) -> None:
    headers = await admin(app)
    callback_id = await schedule(app, headers)
    before = await listed(app, headers)

    answers = {
        language: await app.client.get(
            URL,
            params={"state": "done"},
            headers=bearer(await app.token(Role.SUPERVISOR), language),
        )
        for language in ("en", "fr")
    }

    for answer in answers.values():
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == "request.invalid"
        [error] = answer.json()["errors"]
        assert error["field"] == "state"
        for state in ("scheduled", "queued", "completed", "canceled"):
            assert state in error["reason"]
    assert answers["en"].json()["errors"][0]["reason"].startswith("Must be one of")
    assert answers["fr"].json()["errors"][0]["reason"].startswith("Doit être")
    assert await listed(app, headers) == before
    assert ids(before) == [callback_id]
    assert before[0]["state"] == "scheduled"


async def test_the_api_documents_the_callback_states(app: Running) -> None:
    spec: dict[str, Any] = (await app.client.get("/openapi.json")).json()
    listing = spec["paths"]["/routing/v1/callbacks"]["get"]
    [state] = [p for p in listing["parameters"] if p["name"] == "state"]
    values = state["schema"]["anyOf"][0]["enum"]
    assert values == ["scheduled", "queued", "completed", "canceled"]
    for value in values:
        assert f"`{value}`" in state["description"]
    read_schema = spec["components"]["schemas"]["CallbackRead"]["properties"]
    for value in values:
        assert f"`{value}`" in read_schema["state"]["description"]
    assert "ended_at" in read_schema
