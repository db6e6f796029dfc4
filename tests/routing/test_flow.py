"""Routing end to end inside the service: events in, offers out, answers, wrap-up, the why."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from services.routing.models import OutboxEvent
from shared.contracts.routing_events import ConversationAssigned
from shared.db import utc_now
from tests.routing.scenario import (
    admin,
    agent_headers,
    create_agent,
    emitted,
    offers_of,
    open_task,
    post_event,
    run_engine,
    task_of,
)
from tests.support.apps import Running


async def test_a_french_email_is_queued_and_offered_to_the_french_agent_only(app: Running) -> None:
    headers = await admin(app)
    english = await create_agent(app, headers, name="John Smith", languages={"en": 5})
    french = await create_agent(app, headers, name="Marie Tremblay", languages={"fr": 5})

    conversation = await open_task(app, language="fr")
    await run_engine(app)

    queued = await emitted(app, "conversation.queued")
    assert [q["conversation_id"] for q in queued] == [conversation]
    assert queued[0]["queue_name"] == "Courriel — français"
    assert await offers_of(app, english["id"], headers) == []
    [offer] = await offers_of(app, french["id"], headers)
    assert offer["conversation_id"] == conversation
    assert offer["state"] == "pending"
    assert offer["why"]["languages"] == {"fr": 5}
    assert offer["why"]["queue_name"] == "Courriel — français"


async def test_accepting_assigns_the_task_and_tells_the_inbox(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    conversation = await open_task(app, language="fr")
    await run_engine(app)
    [offer] = await offers_of(app, marie["id"], headers)
    as_marie = await agent_headers(app, marie["id"])
    before = utc_now()

    accepted = await app.client.post(f"/routing/v1/offers/{offer['id']}/accept", headers=as_marie)
    again = await app.client.post(f"/routing/v1/offers/{offer['id']}/accept", headers=as_marie)
    rejected = await app.client.post(f"/routing/v1/offers/{offer['id']}/reject", headers=as_marie)

    assert accepted.status_code == 200
    assert accepted.json()["state"] == "accepted"
    # Accepting again (a double-click) answers the offer as it stands and does nothing more (one
    # conversation.assigned, below); rejecting it now is refused.
    assert again.status_code == 200
    assert again.json() == accepted.json()
    assert rejected.status_code == 409
    assert rejected.json()["code"] == "offer.closed"
    task = await task_of(app, conversation, headers)
    [assigned] = await emitted(app, "conversation.assigned")
    assigned_at = ConversationAssigned.model_validate(assigned).assigned_at
    assert assigned == ConversationAssigned(
        conversation_id=conversation,
        task_id=task["id"],
        agent_id=marie["id"],
        queue_id=task["queue_id"],
        queue_name="Courriel — français",
        needs_translation=False,
        assigned_at=assigned_at,
    ).model_dump(mode="json")
    assert before <= assigned_at <= utc_now()
    # Delivered after the conversation's earlier events, never before them.
    async with app.context("routing").require_sessions()() as session:
        keys = await session.scalars(
            select(OutboxEvent.ordering_key).where(OutboxEvent.type == "conversation.assigned")
        )
        assert list(keys) == [str(conversation)]
    assert task["state"] == "assigned"
    assert task["agent_id"] == marie["id"]
    assert task["route"]["assignment"]["languages"] == {"fr": 5}


async def test_an_agent_cannot_answer_another_agents_offer(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    other = await create_agent(app, headers, name="Luc", languages={"en": 5}, status="offline")
    await open_task(app, language="fr")
    await run_engine(app)
    [offer] = await offers_of(app, marie["id"], headers)

    stolen = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/accept",
        headers=await agent_headers(app, other["id"], "fr"),
    )

    # Another agent's offer answers as an unknown one: the agent cannot tell it exists.
    assert stolen.status_code == 404
    assert stolen.json()["code"] == "offer.not_found"
    assert stolen.json()["title"] == "Offre introuvable"
    assert (await offers_of(app, marie["id"], headers))[0]["state"] == "pending"
    assert await emitted(app, "conversation.assigned") == []


async def test_a_rejected_offer_goes_to_the_next_agent(app: Running) -> None:
    headers = await admin(app)
    first = await create_agent(app, headers, name="Anne", languages={"fr": 5})
    second = await create_agent(app, headers, name="Benoit", languages={"fr": 5})
    conversation = await open_task(app, language="fr")
    await run_engine(app)
    offered = [a for a in (first, second) if await offers_of(app, a["id"], headers)]
    assert len(offered) == 1
    [offer] = await offers_of(app, offered[0]["id"], headers)

    rejected = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/reject",
        headers=await agent_headers(app, offered[0]["id"]),
    )
    await run_engine(app)

    assert rejected.json()["state"] == "rejected"
    other = second if offered[0] is first else first
    [next_offer] = await offers_of(app, other["id"], headers)
    assert next_offer["conversation_id"] == conversation
    task = await task_of(app, conversation, headers)
    assert [o["state"] for o in task["offers"]] == ["rejected", "pending"]


async def test_offers_expire_and_three_missed_in_a_row_set_the_agent_away(app: Running) -> None:
    headers = await admin(app)
    sleepy = await create_agent(app, headers, name="Sleepy", languages={"fr": 5})
    now = utc_now()
    for _ in range(3):
        await open_task(app, language="fr")
    await run_engine(app, now)
    assert len(await offers_of(app, sleepy["id"], headers)) == 3

    await run_engine(app, now + timedelta(seconds=61))

    agent = (await app.client.get(f"/routing/v1/agents/{sleepy['id']}", headers=headers)).json()
    assert agent["status"] == "away"
    assert agent["away_reason"] == "missed_offers"
    assert agent["load"]["email"] == 0
    states = await app.client.get(
        f"/routing/v1/agents/{sleepy['id']}/offers?state=expired", headers=headers
    )
    assert len(states.json()) == 3


async def test_an_agent_never_holds_more_emails_than_its_capacity(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(
        app, headers, name="Marie", languages={"fr": 5}, capacity={"phone": 1, "email": 2, "fax": 2}
    )
    conversations = [await open_task(app, language="fr") for _ in range(3)]
    await run_engine(app)

    offers = await offers_of(app, marie["id"], headers)
    assert len(offers) == 2
    waiting = [c for c in conversations if (await task_of(app, c, headers))["state"] == "waiting"]
    [left] = waiting
    task = await task_of(app, left, headers)
    assert task["wait"]["reason"] == "no_agent_available"


async def test_completing_puts_the_agent_in_wrap_up_then_available(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    marie_headers = await agent_headers(app, marie["id"])
    await app.client.patch(
        f"/routing/v1/agents/{marie['id']}", json={"capacity": {"email": 1}}, headers=headers
    )
    queues = (await app.client.get("/routing/v1/queues", headers=headers)).json()
    email_fr = next(q for q in queues if q["name"] == "Courriel — français")
    await app.client.patch(
        f"/routing/v1/queues/{email_fr['id']}", json={"wrap_up_seconds": 45}, headers=headers
    )
    first = await open_task(app, language="fr")
    second = await open_task(app, language="fr")
    await run_engine(app)
    [offer] = await offers_of(app, marie["id"], headers)
    await app.client.post(f"/routing/v1/offers/{offer['id']}/accept", headers=marie_headers)

    done = await app.client.post(
        f"/routing/v1/tasks/{offer['task_id']}/complete", headers=marie_headers
    )
    now = utc_now()
    await run_engine(app, now)
    during = (await app.client.get(f"/routing/v1/agents/{marie['id']}", headers=headers)).json()
    await run_engine(app, now + timedelta(seconds=46))
    after = (await app.client.get(f"/routing/v1/agents/{marie['id']}", headers=headers)).json()

    assert done.status_code == 200
    assert done.json()["state"] == "wrap_up"
    assert offer["conversation_id"] == first
    assert during["status"] == "wrap_up"
    assert during["load"]["email"] == 0
    assert (await task_of(app, second, headers))["state"] == "offered"
    assert after["status"] == "available"
    assert (await task_of(app, first, headers))["state"] == "completed"


async def test_completing_a_task_that_is_not_assigned_is_refused(app: Running) -> None:
    headers = await admin(app)
    conversation = await open_task(app, language="fr")
    task = await task_of(app, conversation, headers)

    refused = await app.client.post(
        f"/routing/v1/tasks/{task['id']}/complete", headers={**headers, "Accept-Language": "fr"}
    )

    assert refused.status_code == 409
    assert refused.json()["code"] == "task.not_assigned"
    assert "\u202f;" in refused.json()["detail"]
    assert (await task_of(app, conversation, headers))["state"] == "waiting"


async def test_the_same_conversation_never_gets_two_open_tasks(app: Running) -> None:
    headers = await admin(app)
    conversation = uuid.uuid4()
    payload = {
        "conversation_id": str(conversation),
        "contact_id": str(uuid.uuid4()),
        "channel": "email",
        "language": "en",
        "language_confidence": 0.8,
        "arrived_at": utc_now().isoformat(),
    }
    event_id = uuid.uuid4()

    first = await post_event(app, "conversation.needs_agent", payload, event_id)
    redelivered = await post_event(app, "conversation.needs_agent", payload, event_id)
    another = await post_event(app, "conversation.needs_agent", {**payload, "priority": 5})

    assert first.json()["applied"] is True
    assert redelivered.json()["applied"] is False
    assert another.json()["applied"] is True
    assert len(await emitted(app, "conversation.queued")) == 1
    task = await task_of(app, str(conversation), headers)
    assert task["priority"] == 5


async def test_a_canceled_conversation_withdraws_the_offer(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    conversation = await open_task(app, language="fr")
    await run_engine(app)

    canceled = await post_event(
        app, "conversation.canceled", {"conversation_id": conversation, "reason": "abandoned"}
    )

    assert canceled.status_code == 200
    task = await task_of(app, conversation, headers)
    assert task["state"] == "canceled"
    assert task["end_reason"] == "abandoned"
    assert await offers_of(app, marie["id"], headers) == []
    all_offers = await app.client.get(
        f"/routing/v1/agents/{marie['id']}/offers?state=all", headers=headers
    )
    assert [o["state"] for o in all_offers.json()] == ["canceled"]


async def test_a_resolved_conversation_completes_its_task(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    conversation = await open_task(app, language="fr")
    await run_engine(app)
    [offer] = await offers_of(app, marie["id"], headers)
    await app.client.post(
        f"/routing/v1/offers/{offer['id']}/accept", headers=await agent_headers(app, marie["id"])
    )

    await post_event(
        app,
        "conversation.resolved",
        {"conversation_id": conversation, "resolved_at": utc_now().isoformat()},
    )

    task = await task_of(app, conversation, headers)
    assert task["state"] == "completed"
    assert task["end_reason"] == "resolved"


async def test_an_agent_who_learns_french_gets_french_work_at_the_next_pass(app: Running) -> None:
    headers = await admin(app)
    john = await create_agent(app, headers, name="John", languages={"en": 5})
    await open_task(app, language="fr")
    await run_engine(app)
    assert await offers_of(app, john["id"], headers) == []

    changed = await app.client.patch(
        f"/routing/v1/agents/{john['id']}", json={"languages": {"en": 5, "fr": 4}}, headers=headers
    )
    await run_engine(app)

    assert changed.status_code == 200
    [offer] = await offers_of(app, john["id"], headers)
    assert offer["why"]["languages"] == {"fr": 4}
