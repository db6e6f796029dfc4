"""Transfers, escalations and callbacks from the agents' workspace, applied by routing: driven
through the inbox's endpoints and the outbox relays, checked in routing and back in the inbox."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from services.inbox.models import OutboxEvent as InboxOutboxEvent
from services.routing.models import Callback, ProcessedEvent, Task
from services.routing.models import OutboxEvent as RoutingOutboxEvent
from shared.auth import Role
from shared.db import utc_now
from tests.inbox.builders import email, raw_headers
from tests.routing.scenario import (
    SERVICE,
    admin,
    agent_headers,
    create_agent,
    emitted,
    offers_of,
    post_event,
    run_engine,
    task_of,
)
from tests.support.apps import Running

FRENCH_EMAIL = "Courriel — français"
BILLING = {
    "name": "Courriel — facturation",
    "language": "fr",
    "channels": ["email"],
    "required_skills": {"billing": 2},
}
TIER_TWO = {"name": "Courriel — niveau 2", "language": "fr", "channels": ["email"], "tiers": [2]}


async def create_queue(app: Running, headers: dict[str, str], body: dict[str, Any]) -> str:
    created = await app.client.post("/routing/v1/queues", json=body, headers=headers)
    assert created.status_code == 201, created.text
    queue_id: str = created.json()["id"]
    return queue_id


async def agent_state(app: Running, agent_id: str, headers: dict[str, str]) -> dict[str, Any]:
    answer = await app.client.get(f"/routing/v1/agents/{agent_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def conversation(app: Running, conversation_id: str) -> dict[str, Any]:
    """The conversation as a supervisor reads it in the inbox."""
    headers = {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}
    answer = await app.client.get(f"/inbox/v1/conversations/{conversation_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def inbox_agent(app: Running, agent_id: str) -> dict[str, str]:
    """An inbox token for the routing agent, as its front-end would hold."""
    token = await app.token(Role.AGENT, agent_id=uuid.UUID(agent_id), name="agent")
    return {"Authorization": f"Bearer {token}", "Accept-Language": "fr"}


async def deliver(app: Running, service: str) -> None:
    """Run the service's outbox relay once; every event it claimed was acknowledged."""
    assert await app.relay(service).run_once() >= 1
    model = InboxOutboxEvent if service == "inbox" else RoutingOutboxEvent
    async with app.context(service).require_sessions()() as session:
        failed = await session.scalar(
            select(func.count()).select_from(model).where(model.last_error.is_not(None))
        )
    assert failed == 0


async def assigned_conversation(
    app: Running, headers: dict[str, str], agent: dict[str, Any], subject: str = "Facture erronée"
) -> str:
    """A French email conversation, routed and accepted by ``agent``, the inbox told."""
    gateway = await app.token(Role.GATEWAY)
    received = await app.client.post(
        "/inbox/v1/inbound/email", content=email(subject=subject), headers=raw_headers(gateway)
    )
    assert received.status_code in (200, 201, 202), received.text
    conversation_id: str = received.json()["conversation_id"]
    await deliver(app, "inbox")
    await run_engine(app)
    await deliver(app, "routing")
    [offer] = await offers_of(app, agent["id"], headers)
    accepted = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/accept", headers=await agent_headers(app, agent["id"])
    )
    assert accepted.status_code == 200, accepted.text
    await deliver(app, "routing")
    seen = await conversation(app, conversation_id)
    assert (seen["routing_status"], seen["assignee_agent_id"]) == ("assigned", agent["id"])
    return conversation_id


async def tasks_of(app: Running, conversation_id: str) -> list[Task]:
    async with app.context("routing").require_sessions()() as session:
        rows = await session.scalars(
            select(Task)
            .where(Task.conversation_id == uuid.UUID(conversation_id))
            .order_by(Task.created_at, Task.id)
        )
        return list(rows.all())


async def test_a_transfer_to_a_queue_frees_the_agent_and_requeues_there(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="away")
    billing = await create_queue(app, headers, BILLING)
    await app.client.patch(
        f"/routing/v1/agents/{luc['id']}", json={"skills": {"billing": 3}}, headers=headers
    )
    conversation_id = await assigned_conversation(app, headers, marie)
    first = await task_of(app, conversation_id, headers)
    assert (await agent_state(app, marie["id"], headers))["load"]["email"] == 1

    moved = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/transfer",
        json={"to_queue_id": billing, "note": "Pour la facturation"},
        headers=await inbox_agent(app, marie["id"]),
    )
    assert moved.status_code == 200, moved.text
    await deliver(app, "inbox")

    old, new = await tasks_of(app, conversation_id)
    assert str(old.id) == first["id"]
    assert (old.state, old.end_reason) == ("canceled", "transferred")
    assert old.route["ended_by"]["task_id"] == str(new.id)
    after = await agent_state(app, marie["id"], headers)
    assert after["load"]["email"] == 0
    assert after["status"] == "available"  # a transfer is not a finished contact: no wrap-up
    task = await task_of(app, conversation_id, headers)
    assert task["state"] == "waiting"
    assert task["queue_id"] == billing
    assert task["route"]["queue"]["name"] == "Courriel — facturation"
    requeue = task["route"]["requeue"]
    assert requeue["kind"] == "transfer"
    assert requeue["queue_choice"] == "requested"
    assert requeue["fallback"] is None
    assert requeue["from_agent_id"] == marie["id"]
    assert requeue["from_queue"]["name"] == FRENCH_EMAIL

    await deliver(app, "routing")
    seen = await conversation(app, conversation_id)
    assert (seen["routing_status"], seen["queue_id"]) == ("queued", billing)
    assert seen["queue_name"] == "Courriel — facturation"

    await app.client.put(
        f"/routing/v1/agents/{luc['id']}/status", json={"status": "available"}, headers=headers
    )
    await run_engine(app)
    [offer] = await offers_of(app, luc["id"], headers)
    assert offer["task_id"] == task["id"]
    assert offer["why"]["queue_name"] == "Courriel — facturation"
    assert [o for o in await offers_of(app, marie["id"], headers) if o["state"] == "pending"] == []


async def test_a_supervisor_transfer_withdraws_a_pending_offer(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    billing = await create_queue(app, headers, BILLING)
    gateway = await app.token(Role.GATEWAY)
    received = await app.client.post(
        "/inbox/v1/inbound/email", content=email(), headers=raw_headers(gateway)
    )
    conversation_id: str = received.json()["conversation_id"]
    await deliver(app, "inbox")
    await run_engine(app)
    [offer] = await offers_of(app, marie["id"], headers)
    supervisor = {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}

    moved = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/transfer",
        json={"to_queue_id": billing},
        headers=supervisor,
    )
    assert moved.status_code == 200, moved.text
    await deliver(app, "inbox")

    assert await offers_of(app, marie["id"], headers) == []
    assert (await agent_state(app, marie["id"], headers))["load"]["email"] == 0
    old = await app.client.get(f"/routing/v1/tasks/{offer['task_id']}", headers=headers)
    assert old.json()["state"] == "canceled"
    assert [o["state"] for o in old.json()["offers"]] == ["canceled"]
    task = await task_of(app, conversation_id, headers)
    assert (task["state"], task["queue_id"]) == ("waiting", billing)
    assert task["route"]["requeue"]["from_task_state"] == "offered"
    too_late = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/accept", headers=await agent_headers(app, marie["id"])
    )
    assert too_late.status_code == 409
    assert too_late.json()["code"] == "offer.closed"


async def test_a_directed_transfer_is_offered_to_that_agent_at_once(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, marie)
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5})
    anne = await create_agent(app, headers, name="Anne", languages={"fr": 5})

    moved = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/transfer",
        json={"to_agent_id": luc["id"]},
        headers=await inbox_agent(app, marie["id"]),
    )
    assert moved.status_code == 200, moved.text
    await deliver(app, "inbox")

    task = await task_of(app, conversation_id, headers)
    assert task["state"] == "offered"
    assert task["agent_id"] == luc["id"]
    assert task["preferred_agent_id"] == luc["id"]
    assert task["route"]["queue"]["name"] == FRENCH_EMAIL
    assert task["route"]["requeue"]["queue_choice"] == "current"
    assert task["route"]["requeue"]["agent"]["outcome"] == "offered"
    [offer] = await offers_of(app, luc["id"], headers)
    assert offer["why"]["directed"] is True
    assert offer["why"]["sticky"] is True
    await run_engine(app)
    assert await offers_of(app, anne["id"], headers) == []
    await deliver(app, "routing")
    assert (await conversation(app, conversation_id))["queue_name"] == FRENCH_EMAIL

    accepted = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/accept", headers=await agent_headers(app, luc["id"])
    )
    assert accepted.status_code == 200
    await deliver(app, "routing")
    seen = await conversation(app, conversation_id)
    assert seen["assignee_agent_id"] == luc["id"]
    assert seen["routing_status"] == "assigned"


async def test_a_transfer_to_an_agent_who_cannot_take_it_waits_in_the_queue(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, marie)
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="away")

    moved = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/transfer",
        json={"to_agent_id": luc["id"]},
        headers=await inbox_agent(app, marie["id"]),
    )
    assert moved.status_code == 200
    await deliver(app, "inbox")

    task = await task_of(app, conversation_id, {**headers, "Accept-Language": "fr"})
    assert task["state"] == "waiting"
    assert task["preferred_agent_id"] == luc["id"]
    assert task["wait"]["reason"] == "transfer_agent_unavailable"
    assert task["wait"]["text"] == (
        "La tâche a été transférée à un agent qui ne peut pas la prendre maintenant\u202f; "
        "elle attend dans sa file."
    )
    agent = task["route"]["requeue"]["agent"]
    assert agent["outcome"] == "not_eligible"
    assert {"code": "not_available", "subject": "away"} in agent["reasons"]
    assert await offers_of(app, luc["id"], headers) == []
    await deliver(app, "routing")
    assert (await conversation(app, conversation_id))["queue_name"] == FRENCH_EMAIL


async def test_an_escalation_goes_to_a_queue_of_the_tier_and_its_agents(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, marie)
    tier_two = await create_queue(app, headers, TIER_TWO)
    created = await app.client.post(
        "/routing/v1/agents",
        json={"name": "Chloé", "email": "chloe@example.com", "tier": 2, "languages": {"fr": 5}},
        headers=headers,
    )
    chloe = created.json()
    await app.client.put(
        f"/routing/v1/agents/{chloe['id']}/status", json={"status": "available"}, headers=headers
    )
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5})

    escalated = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/escalate",
        json={"reason": "Litige complexe"},
        headers=await inbox_agent(app, marie["id"]),
    )
    assert escalated.status_code == 200, escalated.text
    await deliver(app, "inbox")

    task = await task_of(app, conversation_id, headers)
    assert task["queue_id"] == tier_two
    requeue = task["route"]["requeue"]
    assert (requeue["kind"], requeue["tier"], requeue["queue_choice"]) == ("escalation", 2, "tier")
    assert requeue["reason"] == "Litige complexe"
    assert "tiers include the requested tier" in requeue["rule"]
    old = (await tasks_of(app, conversation_id))[0]
    assert (old.state, old.end_reason) == ("canceled", "escalated")

    await run_engine(app)
    [offer] = await offers_of(app, chloe["id"], headers)
    assert offer["task_id"] == task["id"]
    assert await offers_of(app, luc["id"], headers) == []
    await deliver(app, "routing")
    assert (await conversation(app, conversation_id))["queue_name"] == "Courriel — niveau 2"


async def test_an_escalation_whose_tier_queue_went_meanwhile_stays_in_its_queue(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, marie)
    tier_three = await create_queue(app, headers, {**TIER_TWO, "name": "N3", "tiers": [3]})

    escalated = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/escalate",
        json={"reason": "Litige", "tier": 3},
        headers=await inbox_agent(app, marie["id"]),
    )
    assert escalated.status_code == 200
    # Deleted after the inbox checked with routing, before routing hears of the escalation.
    deleted = await app.client.delete(f"/routing/v1/queues/{tier_three}", headers=headers)
    assert deleted.status_code == 204
    await deliver(app, "inbox")

    task = await task_of(app, conversation_id, headers)
    assert task["state"] == "waiting"
    assert task["route"]["queue"]["name"] == FRENCH_EMAIL
    requeue = task["route"]["requeue"]
    assert (requeue["queue_choice"], requeue["fallback"]) == ("current", "no_tier_queue")


async def test_a_transfer_to_a_queue_deleted_meanwhile_keeps_the_queue_with_the_reason(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, marie)
    other = await assigned_conversation(app, headers, marie, subject="Changement d’adresse")
    doomed = await app.client.post(
        "/routing/v1/queues",
        json={"name": "Recouvrement", "language": "fr", "channels": ["email"]},
        headers=headers,
    )
    unknown = doomed.json()["id"]
    queues_before = (await app.client.get("/routing/v1/queues", headers=headers)).json()

    moved = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/transfer",
        json={"to_queue_id": unknown},
        headers=await inbox_agent(app, marie["id"]),
    )
    assert moved.status_code == 200
    # Deleted after the inbox checked it, before routing hears of the transfer.
    deleted = await app.client.delete(f"/routing/v1/queues/{unknown}", headers=headers)
    assert deleted.status_code == 204
    queues_before = [queue for queue in queues_before if queue["id"] != unknown]
    await deliver(app, "inbox")

    task = await task_of(app, conversation_id, headers)
    assert task["state"] == "waiting"
    assert task["route"]["queue"]["name"] == FRENCH_EMAIL
    requeue = task["route"]["requeue"]
    assert requeue["to_queue_id"] == unknown
    assert (requeue["queue_choice"], requeue["fallback"]) == ("current", "queue_unknown")
    untouched = await task_of(app, other, headers)
    assert (untouched["state"], untouched["agent_id"]) == ("assigned", marie["id"])
    assert (await app.client.get("/routing/v1/queues", headers=headers)).json() == queues_before
    await deliver(app, "routing")
    assert (await conversation(app, conversation_id))["queue_name"] == FRENCH_EMAIL


async def test_events_for_an_unknown_conversation_change_nothing(app: Running) -> None:
    nobody = str(uuid.uuid4())

    transfer = await post_event(
        app, "conversation.transferred", {"conversation_id": nobody, "to_queue_id": nobody}
    )
    escalation = await post_event(
        app, "conversation.escalated", {"conversation_id": nobody, "reason": "x"}
    )
    broken = await post_event(app, "conversation.transferred", {"to_queue_id": nobody})

    assert transfer.status_code == 200
    assert transfer.json()["applied"] is True
    assert escalation.json()["applied"] is True
    assert broken.status_code == 422
    assert await tasks_of(app, nobody) == []
    assert await emitted(app, "conversation.queued") == []
    async with app.context("routing").require_sessions()() as session:
        processed = (await session.scalars(select(ProcessedEvent.type))).all()
    assert sorted(processed) == ["conversation.escalated", "conversation.transferred"]


async def test_a_transfer_after_the_task_ended_opens_a_new_one_and_once(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    billing = await create_queue(app, headers, BILLING)
    conversation_id = await assigned_conversation(app, headers, marie)
    first = await task_of(app, conversation_id, headers)
    done = await app.client.post(
        f"/routing/v1/tasks/{first['id']}/complete", headers=await agent_headers(app, marie["id"])
    )
    assert done.status_code == 200, done.text
    event_id = uuid.uuid4()
    payload = {"conversation_id": conversation_id, "to_queue_id": billing}

    applied = await post_event(app, "conversation.transferred", payload, event_id)
    again = await post_event(app, "conversation.transferred", payload, event_id)

    assert (applied.json()["applied"], again.json()["applied"]) == (True, False)
    old, new = await tasks_of(app, conversation_id)
    assert old.state == "completed"
    assert (new.state, str(new.queue_id)) == ("waiting", billing)
    assert new.route["requeue"]["from_task_state"] == "completed"
    [queued] = [q for q in await emitted(app, "conversation.queued") if q["task_id"] == str(new.id)]
    assert queued["queue_id"] == billing


async def test_a_transfer_older_than_the_tasks_end_is_ignored(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, marie)
    asked_at = utc_now()
    resolved = await post_event(
        app,
        "conversation.resolved",
        {"conversation_id": conversation_id, "resolved_at": utc_now().isoformat()},
    )
    assert resolved.status_code == 200
    envelope = {
        "id": str(uuid.uuid4()),
        "type": "conversation.transferred",
        "source": "inbox",
        "occurred_at": asked_at.isoformat(),
        "payload": {"conversation_id": conversation_id, "to_agent_id": marie["id"]},
    }

    late = await app.client.post("/routing/v1/events", json=envelope, headers=SERVICE)

    assert late.status_code == 200
    [task] = await tasks_of(app, conversation_id)
    assert task.state == "completed"
    assert task.end_reason == "resolved"


async def test_a_callback_is_scheduled_once_and_becomes_a_phone_task_when_due(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, marie)
    first = await task_of(app, conversation_id, headers)
    await app.client.post(
        f"/routing/v1/tasks/{first['id']}/complete", headers=await agent_headers(app, marie["id"])
    )
    due = utc_now() + timedelta(hours=2)

    scheduled = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/callbacks",
        json={"due_at": due.isoformat(), "phone": "514-555-0123", "note": "Rappeler"},
        headers=await inbox_agent(app, marie["id"]),
    )
    assert scheduled.status_code == 202, scheduled.text
    await deliver(app, "inbox")

    async with app.context("inbox").require_sessions()() as session:
        event = await session.scalar(
            select(InboxOutboxEvent).where(InboxOutboxEvent.type == "callback.requested")
        )
    assert event is not None
    read = await app.client.get(f"/routing/v1/callbacks/{event.id}", headers=headers)
    assert read.status_code == 200, read.text
    callback = read.json()
    assert callback["conversation_id"] == conversation_id
    assert (callback["agent_id"], callback["language"]) == (marie["id"], "fr")
    assert callback["state"] == "scheduled"
    assert callback["note"] == "Rappeler"
    assert callback["phone"] == "+15145550123"
    replay = await post_event(app, "callback.requested", event.payload, event.id)
    assert replay.json()["applied"] is False
    async with app.context("routing").require_sessions()() as session:
        assert await session.scalar(select(func.count()).select_from(Callback)) == 1

    await run_engine(app, due + timedelta(seconds=1))

    later = (await app.client.get(f"/routing/v1/callbacks/{event.id}", headers=headers)).json()
    assert later["state"] == "queued"
    task = await task_of(app, conversation_id, headers)
    assert task["id"] == later["task_id"]
    assert (task["channel"], task["callback_id"]) == ("phone", str(event.id))
    assert task["attributes"] == {"kind": "callback", "phone": "+15145550123"}
    assert task["preferred_agent_id"] == marie["id"]


async def test_the_transferring_agent_is_not_offered_the_conversation_back(
    app: Running,
) -> None:
    headers = await admin(app)
    expert = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    await app.client.patch(
        f"/routing/v1/agents/{expert['id']}", json={"skills": {"billing": 5}}, headers=headers
    )
    colleague = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="away")
    await app.client.patch(
        f"/routing/v1/agents/{colleague['id']}", json={"skills": {"billing": 3}}, headers=headers
    )
    # The most skilled agent would win this queue, but it is the one handing the contact over.
    billing = await create_queue(app, headers, {**BILLING, "policy": "most_skilled"})
    conversation_id = await assigned_conversation(app, headers, expert)

    moved = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/transfer",
        json={"to_queue_id": billing, "note": "Un collègue prendra la suite"},
        headers=await inbox_agent(app, expert["id"]),
    )
    assert moved.status_code == 200, moved.text
    await deliver(app, "inbox")
    await app.client.put(
        f"/routing/v1/agents/{colleague['id']}/status",
        json={"status": "available"},
        headers=headers,
    )
    await run_engine(app)

    task = await task_of(app, conversation_id, headers)
    [offer] = await offers_of(app, colleague["id"], headers)
    assert offer["task_id"] == task["id"]
    assert [o for o in await offers_of(app, expert["id"], headers) if o["state"] == "pending"] == []
