"""A callback that falls due is a phone call offered to a phone agent, also when its
conversation has an email waiting, offered or taken at that moment: the callback waits for that
task to end, then gets its own phone task, and reads `completed` only once that call was taken
and finished. Driven over HTTP: routing's API and the events the inbox sends it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from services.routing.models import Callback
from shared.auth import Role
from shared.db import utc_now
from tests.routing.scenario import (
    admin,
    agent_headers,
    bearer,
    create_agent,
    offers_of,
    open_task,
    post_event,
    run_engine,
)
from tests.routing.test_callback_access import read, schedule
from tests.routing.test_callback_outcomes import accept, fall_due, pending_call, task
from tests.support.apps import Running


async def tasks_of(app: Running, conversation_id: str) -> list[dict[str, Any]]:
    """The conversation's tasks as the task list gives them, oldest first."""
    answer = await app.client.get(
        "/routing/v1/tasks",
        params={"conversation_id": conversation_id},
        headers=await admin(app),
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items[::-1]


async def callback(app: Running, callback_id: str) -> dict[str, Any]:
    answer = await read(app, callback_id, await admin(app))
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def set_status(app: Running, agent: dict[str, Any], status: str) -> None:
    changed = await app.client.put(
        f"/routing/v1/agents/{agent['id']}/status",
        json={"status": status},
        headers=await admin(app),
    )
    assert changed.status_code == 200, changed.text


async def email_offer(app: Running, agent: dict[str, Any]) -> dict[str, Any]:
    [offer] = [
        offer
        for offer in await offers_of(app, agent["id"], await admin(app))
        if offer["state"] == "pending"
    ]
    assert offer["channel"] == "email"
    return offer


async def complete(app: Running, agent: dict[str, Any], task_id: str) -> None:
    completed = await app.client.post(
        f"/routing/v1/tasks/{task_id}/complete", headers=await agent_headers(app, agent["id"])
    )
    assert completed.status_code == 200, completed.text


async def email_in(
    app: Running, marie: dict[str, Any], email_state: str
) -> tuple[str, dict[str, Any]]:
    """A French email conversation whose task is ``email_state`` (waiting: Marie, the only
    agent, is away; offered to her; or assigned to her): (its id, its task)."""
    conversation_id = await open_task(app)
    if email_state != "waiting":
        await set_status(app, marie, "available")
        await run_engine(app)
        offer = await email_offer(app, marie)
        if email_state == "assigned":
            await accept(app, marie, offer)
    [email] = await tasks_of(app, conversation_id)
    assert (email["channel"], email["state"]) == ("email", email_state)
    return conversation_id, email


async def due_now(app: Running, conversation_id: str) -> tuple[str, datetime]:
    """A callback on the conversation, due now, for no agent in particular; the engine runs
    just after (no agent has a stream, so no call can be offered)."""
    due = utc_now()
    supervisor = bearer(await app.token(Role.SUPERVISOR))
    callback_id = await schedule(
        app, supervisor, conversation_id=conversation_id, due_at=due.isoformat()
    )
    await run_engine(app, due + timedelta(seconds=1))
    return callback_id, due


@pytest.mark.parametrize("email_state", ["waiting", "offered", "assigned"])
async def test_a_callback_due_during_an_email_gets_its_own_call_once_the_email_is_done(
    app: Running, email_state: str
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5}, status="away")
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="away")
    conversation_id, email = await email_in(app, marie, email_state)

    callback_id, due = await due_now(app, conversation_id)

    # Due, it does not ride on the email: no call exists yet, and the email is untouched.
    waiting = await callback(app, callback_id)
    assert (waiting["state"], waiting["task_id"], waiting["queue_id"]) == ("queued", None, None)
    assert waiting["ended_at"] is None
    [still] = await tasks_of(app, conversation_id)
    assert (still["id"], still["channel"], still["state"]) == (email["id"], "email", email_state)
    assert still["priority"] == email["priority"]

    # Marie answers the email and finishes it: that is no call, so the callback is not done.
    await set_status(app, marie, "available")
    if email_state == "waiting":
        await run_engine(app)
    if email_state != "assigned":
        await accept(app, marie, await email_offer(app, marie))
    await complete(app, marie, email["id"])

    after_email = await callback(app, callback_id)
    first, call = await tasks_of(app, conversation_id)
    assert first["id"] == email["id"]
    assert first["state"] in ("wrap_up", "completed")
    assert (call["channel"], call["state"]) == ("phone", "waiting")
    assert (after_email["state"], after_email["task_id"]) == ("queued", call["id"])
    assert after_email["queue_id"] == call["queue_id"] is not None
    assert after_email["ended_at"] is None
    read_call = await task(app, call["id"])
    assert read_call["callback_id"] == callback_id
    assert read_call["attributes"] == {"kind": "callback", "phone": "+15145550123"}
    assert datetime.fromisoformat(read_call["arrived_at"]) == due

    # Luc, on the phone, is offered the call, takes it and finishes it: now it is completed.
    await set_status(app, luc, "available")
    await fall_due(app, luc, utc_now())
    offered = await pending_call(app, luc)
    assert offered["task_id"] == call["id"]
    await accept(app, luc, offered)
    await complete(app, luc, call["id"])

    done = await callback(app, callback_id)
    assert (done["state"], done["task_id"]) == ("completed", call["id"])
    assert datetime.fromisoformat(done["ended_at"]) == datetime.fromisoformat(
        (await task(app, call["id"]))["ended_at"]
    )


async def test_a_callback_waiting_for_an_email_is_not_completed_by_a_resolve(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5}, status="away")
    conversation_id, email = await email_in(app, marie, "assigned")
    callback_id, _ = await due_now(app, conversation_id)

    # Marie resolves the conversation: her email task ends, the promised call is still owed.
    resolved = await post_event(
        app,
        "conversation.resolved",
        {
            "conversation_id": conversation_id,
            "resolved_by_agent_id": marie["id"],
            "resolved_at": utc_now().isoformat(),
        },
    )

    assert resolved.status_code == 200, resolved.text
    first, call = await tasks_of(app, conversation_id)
    assert (first["id"], first["end_reason"]) == (email["id"], "resolved")
    assert (call["channel"], call["state"]) == ("phone", "waiting")
    after = await callback(app, callback_id)
    assert (after["state"], after["task_id"], after["ended_at"]) == ("queued", call["id"], None)
    assert (await task(app, call["id"]))["callback_id"] == callback_id


async def test_a_callback_waiting_for_an_email_the_inbox_cancels_gets_its_call(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5}, status="away")
    conversation_id, email = await email_in(app, marie, "waiting")
    callback_id, _ = await due_now(app, conversation_id)

    canceled = await post_event(
        app, "conversation.canceled", {"conversation_id": conversation_id, "reason": "spam"}
    )

    assert canceled.status_code == 200, canceled.text
    first, call = await tasks_of(app, conversation_id)
    assert (first["id"], first["state"], first["end_reason"]) == (email["id"], "canceled", "spam")
    assert (call["channel"], call["state"]) == ("phone", "waiting")
    after = await callback(app, callback_id)
    assert (after["state"], after["task_id"], after["ended_at"]) == ("queued", call["id"], None)


async def test_a_callback_due_while_the_customer_is_calling_in_rides_that_call(
    app: Running,
) -> None:
    headers = await admin(app)
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5})
    conversation_id = await open_task(
        app, channel="phone", attributes={"message_kind": "call", "dialed": "+15145550100"}
    )
    [inbound] = await tasks_of(app, conversation_id)

    callback_id, due = await due_now(app, conversation_id)

    # The customer is on the line: that call is the callback's, no second call is opened.
    queued = await callback(app, callback_id)
    assert (queued["state"], queued["task_id"]) == ("queued", inbound["id"])
    assert [t["id"] for t in await tasks_of(app, conversation_id)] == [inbound["id"]]
    await fall_due(app, luc, due)
    offered = await pending_call(app, luc)
    assert offered["task_id"] == inbound["id"]
    await accept(app, luc, offered)
    await complete(app, luc, inbound["id"])
    done = await callback(app, callback_id)
    assert (done["state"], done["task_id"]) == ("completed", inbound["id"])
    assert len(await tasks_of(app, conversation_id)) == 1


async def test_callbacks_waiting_for_an_email_share_one_call(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5}, status="away")
    conversation_id, email = await email_in(app, marie, "assigned")
    first_id, _ = await due_now(app, conversation_id)
    second_id, _ = await due_now(app, conversation_id)
    other = str(uuid.uuid4())
    elsewhere, _ = await due_now(app, other)

    await complete(app, marie, email["id"])

    _, call = await tasks_of(app, conversation_id)
    assert call["channel"] == "phone"
    for callback_id in (first_id, second_id):
        after = await callback(app, callback_id)
        assert (after["state"], after["task_id"]) == ("queued", call["id"])
    # Another conversation's callback had its call at once, untouched since.
    [own] = await tasks_of(app, other)
    assert (await callback(app, elsewhere))["task_id"] == own["id"]
    assert own["channel"] == "phone"


async def test_a_callback_that_rode_on_an_email_before_gets_its_call_when_the_email_ends(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5}, status="away")
    conversation_id, email = await email_in(app, marie, "assigned")
    callback_id = await schedule(app, await admin(app), conversation_id=conversation_id)
    # As releases before this change left it: queued on the conversation's email task.
    async with app.context("routing").require_sessions().begin() as session:
        await session.execute(
            update(Callback)
            .where(Callback.id == uuid.UUID(callback_id))
            .values(state="queued", task_id=uuid.UUID(email["id"]))
        )

    await complete(app, marie, email["id"])

    first, call = await tasks_of(app, conversation_id)
    assert first["id"] == email["id"]
    assert (call["channel"], call["state"]) == ("phone", "waiting")
    after = await callback(app, callback_id)
    assert (after["state"], after["task_id"], after["ended_at"]) == ("queued", call["id"], None)
    assert (await task(app, call["id"]))["callback_id"] == callback_id
