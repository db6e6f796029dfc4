"""An agent's task ending in routing is heard in the inbox: the conversation no longer reads
assigned, and the customer's next email asks routing for an agent again, the same agent first.
Driven over HTTP through the all-in-one: routing's API, the inbox's, and the outbox relays."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from services.inbox.models import OutboxEvent as InboxOutboxEvent
from services.routing.models import OutboxEvent as RoutingOutboxEvent
from shared.auth import Role
from tests.inbox.builders import email, raw_headers
from tests.routing.scenario import (
    SERVICE,
    admin,
    agent_headers,
    create_agent,
    emitted,
    offers_of,
    run_engine,
    task_of,
)
from tests.routing.test_callback_outcomes import (
    accept,
    callback_after_resolve,
    fall_due,
    pending_call,
    task,
)
from tests.routing.test_requeue import (
    agent_state,
    assigned_conversation,
    conversation,
    deliver,
    inbox_agent,
)
from tests.support.apps import Running


async def complete(app: Running, task_id: str, agent: dict[str, Any]) -> None:
    completed = await app.client.post(
        f"/routing/v1/tasks/{task_id}/complete", headers=await agent_headers(app, agent["id"])
    )
    assert completed.status_code == 200, completed.text


async def reply(app: Running, conversation_id: str, agent: dict[str, Any]) -> None:
    sent = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/replies",
        json={"text": "Bonjour, c’est corrigé."},
        headers=await inbox_agent(app, agent["id"]),
    )
    assert sent.status_code == 201, sent.text


async def customer_writes_again(app: Running, conversation_id: str) -> None:
    """The customer answers our reply (In-Reply-To its Message-ID): it joins the thread."""
    [ours] = [
        message
        for message in (await conversation(app, conversation_id))["messages"]
        if message["direction"] == "outbound"
    ]
    received = await app.client.post(
        "/inbox/v1/inbound/email",
        content=email(
            subject="RE : Facture erronée",
            body="Merci, mais celle de décembre est erronée elle aussi.",
            in_reply_to=f"<{ours['message_id_header']}>",
        ),
        headers=raw_headers(await app.token(Role.GATEWAY)),
    )
    assert received.status_code in (200, 201, 202), received.text
    assert received.json()["conversation_id"] == conversation_id


async def agent_requests(app: Running, conversation_id: str) -> list[dict[str, Any]]:
    """The inbox's requests to routing for an agent for this conversation, oldest first."""
    async with app.context("inbox").require_sessions()() as session:
        rows = await session.scalars(
            select(InboxOutboxEvent)
            .where(InboxOutboxEvent.type == "conversation.needs_agent")
            .order_by(InboxOutboxEvent.occurred_at)
        )
        return [row.payload for row in rows if row.payload["conversation_id"] == conversation_id]


def pending(offers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [offer for offer in offers if offer["state"] == "pending"]


async def test_a_completed_task_frees_the_conversation_and_the_next_email_goes_to_its_agent(
    app: Running,
) -> None:
    headers = await admin(app)
    john = await create_agent(app, headers, name="John", languages={"fr": 5, "en": 5})
    await create_agent(app, headers, name="Luc", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, john)
    await reply(app, conversation_id, john)
    first = await task_of(app, conversation_id, headers)

    await complete(app, first["id"], john)
    await app.deliver_all()
    freed = await conversation(app, conversation_id)
    load = (await agent_state(app, john["id"], headers))["load"]["email"]
    as_john = await app.client.get(
        f"/inbox/v1/conversations/{conversation_id}", headers=await inbox_agent(app, john["id"])
    )
    await customer_writes_again(app, conversation_id)
    await app.deliver_all()
    await run_engine(app)
    await app.deliver_all()

    # John's task is over in routing, and the inbox says so. The conversation stays open, and
    # John, who handled it, still reads it (to write his note, or resolve it).
    assert load == 0
    assert (freed["status"], freed["routing_status"]) == ("open", "none")
    assert freed["assignee_agent_id"] == john["id"]
    assert as_john.status_code == 200, as_john.text
    [released] = await emitted(app, "conversation.released")
    assert released["conversation_id"] == conversation_id
    assert (released["task_id"], released["agent_id"]) == (first["id"], john["id"])
    assert released["reason"] == "completed"
    # The customer's email asked routing for an agent again, John first, and he is offered it.
    [_, again] = await agent_requests(app, conversation_id)
    assert again["preferred_agent_id"] == john["id"]
    second = await task_of(app, conversation_id, headers)
    assert second["id"] != first["id"]
    [offer] = pending(await offers_of(app, john["id"], headers))
    assert offer["task_id"] == second["id"]
    assert second["route"]["preferred_agent_id"] == john["id"]
    assert (await conversation(app, conversation_id))["routing_status"] == "queued"
    assert (await task(app, first["id"]))["state"] == "completed"


async def test_while_its_agent_is_away_the_next_email_waits_for_the_queues_agents_to_see(
    app: Running,
) -> None:
    headers = await admin(app)
    john = await create_agent(app, headers, name="John", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="away")
    conversation_id = await assigned_conversation(app, headers, john)
    await reply(app, conversation_id, john)
    first = await task_of(app, conversation_id, headers)
    await complete(app, first["id"], john)
    await app.deliver_all()
    for agent, status in ((john, "away"), (luc, "available")):
        changed = await app.client.put(
            f"/routing/v1/agents/{agent['id']}/status", json={"status": status}, headers=headers
        )
        assert changed.status_code == 200, changed.text

    await customer_writes_again(app, conversation_id)
    await app.deliver_all()
    await run_engine(app)
    await app.deliver_all()

    [offer] = pending(await offers_of(app, luc["id"], headers))
    assert offer["conversation_id"] == conversation_id
    waiting = await conversation(app, conversation_id)
    assert (waiting["status"], waiting["routing_status"]) == ("open", "queued")
    assert waiting["assignee_agent_id"] is None
    # Luc, offered it, reads it before he accepts; once he has, it is his.
    as_luc = await app.client.get(
        f"/inbox/v1/conversations/{conversation_id}", headers=await inbox_agent(app, luc["id"])
    )
    assert as_luc.status_code == 200, as_luc.text
    accepted = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/accept", headers=await agent_headers(app, luc["id"])
    )
    assert accepted.status_code == 200, accepted.text
    await app.deliver_all()
    taken = await conversation(app, conversation_id)
    assert (taken["routing_status"], taken["assignee_agent_id"]) == ("assigned", luc["id"])


async def test_a_release_is_applied_once_and_not_over_a_later_assignment(app: Running) -> None:
    headers = await admin(app)
    john = await create_agent(app, headers, name="John", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, john)
    first = await task_of(app, conversation_id, headers)
    await complete(app, first["id"], john)
    await app.deliver_all()
    freed = await conversation(app, conversation_id)
    async with app.context("routing").require_sessions()() as session:
        [event] = await session.scalars(
            select(RoutingOutboxEvent).where(RoutingOutboxEvent.type == "conversation.released")
        )
    envelope = {
        "id": str(event.id),
        "type": event.type,
        "source": "routing",
        "occurred_at": event.occurred_at.isoformat(),
        "payload": event.payload,
    }

    again = await app.client.post("/inbox/v1/events", json=envelope, headers=SERVICE)
    other = await assigned_conversation(app, headers, luc, subject="Déménagement")
    before = await conversation(app, other)
    # John's release reaches Luc's conversation late (its task ended, Luc holds it now).
    late = await app.client.post(
        "/inbox/v1/events",
        json={
            **envelope,
            "id": str(uuid.uuid4()),
            "payload": {**event.payload, "conversation_id": other},
        },
        headers=SERVICE,
    )

    assert event.delivered_at is not None
    assert (again.status_code, again.json()) == (200, {"id": str(event.id), "applied": False})
    assert await conversation(app, conversation_id) == freed
    assert late.status_code == 200, late.text
    after = await conversation(app, other)
    assert (after["routing_status"], after["assignee_agent_id"]) == ("assigned", luc["id"])
    assert after == before


async def test_a_callbacks_call_completed_on_a_resolved_conversation_no_longer_reads_assigned(
    app: Running,
) -> None:
    _, marie, url, _, due = await callback_after_resolve(app)
    conversation_id = url.rsplit("/", 1)[-1]
    await fall_due(app, marie, due)
    call = await pending_call(app, marie)
    await accept(app, marie, call)
    await app.deliver_all()
    calling = await conversation(app, conversation_id)

    await complete(app, call["task_id"], marie)
    await app.deliver_all()

    assert (calling["status"], calling["routing_status"]) == ("resolved", "assigned")
    after = await conversation(app, conversation_id)
    assert (after["status"], after["routing_status"]) == ("resolved", "none")
    assert after["assignee_agent_id"] == marie["id"]
    assert (await task(app, call["task_id"]))["state"] in ("wrap_up", "completed")


async def test_an_assignment_heard_after_the_resolve_is_undone_when_routing_completes_it(
    app: Running,
) -> None:
    """The inbox resolves the conversation while its task is offered to Marie, who accepts
    before routing hears of the resolve: routing completes her task, and the inbox, told of
    the assignment after its resolve (which it ignores: the resolve ended that task), is told
    of the release after that."""
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    received = await app.client.post(
        "/inbox/v1/inbound/email",
        content=email(),
        headers=raw_headers(await app.token(Role.GATEWAY)),
    )
    conversation_id = received.json()["conversation_id"]
    await deliver(app, "inbox")
    await run_engine(app)
    await deliver(app, "routing")
    [offer] = pending(await offers_of(app, marie["id"], headers))
    supervisor = {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}
    resolved = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/resolve", json={}, headers=supervisor
    )
    assert resolved.status_code == 200, resolved.text
    accepted = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/accept", headers=await agent_headers(app, marie["id"])
    )
    assert accepted.status_code == 200, accepted.text
    await deliver(app, "routing")
    heard_late = await conversation(app, conversation_id)

    await app.deliver_all()

    assert (heard_late["status"], heard_late["routing_status"]) == ("resolved", "none")
    after = await conversation(app, conversation_id)
    assert (after["status"], after["routing_status"]) == ("resolved", "none")
    ended = await task(app, offer["task_id"])
    assert (ended["state"], ended["end_reason"]) == ("completed", "resolved")
    assert (await agent_state(app, marie["id"], headers))["load"]["email"] == 0


async def test_a_queue_heard_after_the_resolve_is_undone_when_routing_cancels_the_task(
    app: Running,
) -> None:
    """The conversation is resolved (spam, say) before the inbox hears where it waits: told
    of the queue after its resolve, the inbox is told of the cancel after that, and the
    resolved conversation does not read queued for good."""
    headers = await admin(app)
    received = await app.client.post(
        "/inbox/v1/inbound/email",
        content=email(),
        headers=raw_headers(await app.token(Role.GATEWAY)),
    )
    conversation_id = received.json()["conversation_id"]
    await deliver(app, "inbox")
    supervisor = {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}
    resolved = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/resolve", json={}, headers=supervisor
    )
    assert resolved.status_code == 200, resolved.text

    await app.deliver_all()

    after = await conversation(app, conversation_id)
    assert (after["status"], after["routing_status"]) == ("resolved", "none")
    assert after["assignee_agent_id"] is None
    [ended] = (
        await app.client.get(
            "/routing/v1/tasks", params={"conversation_id": conversation_id}, headers=headers
        )
    ).json()["items"]
    assert (ended["state"], ended["end_reason"]) == ("canceled", "resolved")
