"""Configuration changes while work is in flight: a queue may not stop taking the channel or
language of the tasks waiting in it, and an agent's change withdraws the offers it may no
longer take."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.routing.stream.broker import AgentBroker
from services.routing.stream.feed import agent_feed
from tests.routing.scenario import (
    admin,
    agent_headers,
    create_agent,
    offers_of,
    open_task,
    run_engine,
    task_of,
)
from tests.routing.test_stream import next_message, parse
from tests.support.apps import Running

TO_ENGLISH_FAX = {
    "language": "en",
    "channels": ["fax"],
    "rules": [{"channels": ["fax"], "languages": ["en"]}],
}


async def _queue(app: Running, headers: dict[str, str], name: str) -> dict[str, Any]:
    queues = (await app.client.get("/routing/v1/queues", headers=headers)).json()
    found: dict[str, Any] = next(q for q in queues if q["name"] == name)
    return found


def _at_rest(task: dict[str, Any]) -> dict[str, Any]:
    """The task without the clock's part of its wait (seconds waited, till the next step)."""
    wait = {
        key: value
        for key, value in (task["wait"] or {}).items()
        if key not in ("waited_seconds", "next_widening_in_seconds")
    }
    return {**task, "wait": wait}


async def test_a_queue_may_not_stop_taking_the_channel_or_language_of_its_waiting_work(
    app: Running,
) -> None:
    headers = await admin(app)
    french = {**headers, "Accept-Language": "fr"}
    email_fr = await _queue(app, headers, "Courriel — français")
    path = f"/routing/v1/queues/{email_fr['id']}"
    # One French email offered to Marie (her only email slot), one waiting behind it.
    await create_agent(app, headers, name="Marie", languages={"fr": 5}, capacity={"email": 1})
    conversations = [await open_task(app, language="fr") for _ in range(2)]
    await run_engine(app)
    before = [await task_of(app, c, headers) for c in conversations]

    both = await app.client.patch(path, json=TO_ENGLISH_FAX, headers=headers)
    both_fr = await app.client.patch(path, json=TO_ENGLISH_FAX, headers=french)
    language = await app.client.patch(path, json={"language": "en"}, headers=headers)
    channels = await app.client.patch(path, json={"channels": ["fax"]}, headers=headers)
    after = await app.client.get(path, headers=headers)
    tasks_after = [await task_of(app, c, headers) for c in conversations]

    assert sorted(t["state"] for t in before) == ["offered", "waiting"]
    assert [a.status_code for a in (both, both_fr, language, channels)] == [409] * 4
    assert {a.json()["code"] for a in (both, both_fr, language, channels)} == {
        "queue.work_not_served"
    }
    assert both.json()["detail"] == (
        "2 tasks waiting or offered in the queue are on a channel or in a language it would no "
        "longer take; move them to another queue or wait until the queue is empty."
    )
    assert both_fr.json()["detail"] == (
        "2\u00a0tâches en attente ou proposées dans la file sont d’un canal ou d’une langue "
        "qu’elle ne prendrait plus\u202f; déplacez-les vers une autre file ou attendez que la "
        "file soit vide."
    )
    assert both_fr.json()["title"] == "Changement refusé\u202f: la file contient du travail"
    # Nothing changed: the queue reads as before, the tasks are where they were.
    assert after.json() == email_fr
    assert [_at_rest(t) for t in tasks_after] == [_at_rest(t) for t in before]


async def test_one_waiting_task_is_named_in_the_singular(app: Running) -> None:
    headers = await admin(app)
    email_fr = await _queue(app, headers, "Courriel — français")
    await open_task(app, language="fr")
    path = f"/routing/v1/queues/{email_fr['id']}"

    one = await app.client.patch(path, json={"language": "en"}, headers=headers)
    one_fr = await app.client.patch(
        path, json={"language": "en"}, headers={**headers, "Accept-Language": "fr"}
    )

    assert one.status_code == one_fr.status_code == 409
    assert one.json()["detail"] == (
        "1 task waiting or offered in the queue is on a channel or in a language it would no "
        "longer take; move it to another queue or wait until the queue is empty."
    )
    assert one_fr.json()["detail"] == (
        "1\u00a0tâche en attente ou proposée dans la file est d’un canal ou d’une langue "
        "qu’elle ne prendrait plus\u202f; déplacez-la vers une autre file ou attendez que la "
        "file soit vide."
    )
    assert (await app.client.get(path, headers=headers)).json() == email_fr


async def test_a_queue_change_that_still_takes_its_waiting_work_is_made(app: Running) -> None:
    headers = await admin(app)
    email_fr = await _queue(app, headers, "Courriel — français")
    conversation = await open_task(app, language="fr")

    # A bilingual queue takes French too, and email stays: the change is made.
    widened = await app.client.patch(
        f"/routing/v1/queues/{email_fr['id']}",
        json={"language": "bilingual", "channels": ["email", "fax"]},
        headers=headers,
    )

    assert widened.status_code == 200, widened.text
    assert (widened.json()["language"], widened.json()["channels"]) == (
        "bilingual",
        ["email", "fax"],
    )
    assert (await task_of(app, conversation, headers))["state"] == "waiting"


async def test_assigned_work_does_not_hold_a_queue_change_back(app: Running) -> None:
    headers = await admin(app)
    email_fr = await _queue(app, headers, "Courriel — français")
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    conversation = await open_task(app, language="fr")
    await run_engine(app)
    [offer] = await offers_of(app, marie["id"], headers)
    accepted = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/accept", headers=await agent_headers(app, marie["id"])
    )

    # The task is with Marie already: the queue is not asked to route it again.
    changed = await app.client.patch(
        f"/routing/v1/queues/{email_fr['id']}", json=TO_ENGLISH_FAX, headers=headers
    )

    assert accepted.status_code == 200, accepted.text
    assert changed.status_code == 200, changed.text
    assert changed.json()["language"] == "en"
    assert (await task_of(app, conversation, headers))["state"] == "assigned"


async def _stream_since_start(app: Running, agent_id: str) -> list[dict[str, Any]]:
    """Every event of the agent's stream so far (resumed from the first id)."""
    context = app.context("routing")
    broker = context.extras["broker"]
    assert isinstance(broker, AgentBroker)
    feed = agent_feed(
        context.require_sessions(),
        context.require_read_sessions(),
        broker,
        agent_id=uuid.UUID(agent_id),
        last_event_id=0,
        heartbeat_seconds=60,
    )
    events: list[dict[str, Any]] = []
    try:
        await next_message(feed)  # retry:
        while not events or events[-1]["event"] != "offer.ended":
            events.append(parse(await next_message(feed)))
    finally:
        await feed.aclose()
    return events


async def _offered_to_marie(
    app: Running, headers: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Marie (French and English) holds the offer of a French email; Paul (French) is away."""
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5, "en": 5})
    await create_agent(app, headers, name="Paul", languages={"fr": 5}, status="away")
    conversation = await open_task(app, language="fr")
    await run_engine(app)
    [offer] = await offers_of(app, marie["id"], headers)
    return marie, offer, conversation


@pytest.mark.parametrize(
    "change",
    [
        {"capacity": {"phone": 1, "email": 0, "fax": 0}},
        {"languages": {"en": 5}},
        {"skills": {}, "tier": 2},
    ],
    ids=["capacity_zero", "language_dropped", "tier_not_served"],
)
async def test_an_agent_change_withdraws_the_offers_she_may_no_longer_take(
    app: Running, change: dict[str, Any]
) -> None:
    headers = await admin(app)
    if "tier" in change:
        email_fr = await _queue(app, headers, "Courriel — français")
        await app.client.patch(
            f"/routing/v1/queues/{email_fr['id']}", json={"tiers": [1]}, headers=headers
        )
    marie, offer, conversation = await _offered_to_marie(app, headers)

    changed = await app.client.patch(
        f"/routing/v1/agents/{marie['id']}", json=change, headers=headers
    )
    left = await offers_of(app, marie["id"], headers)
    accepted = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/accept", headers=await agent_headers(app, marie["id"])
    )
    task = await task_of(app, conversation, headers)
    paul = next(
        a
        for a in (await app.client.get("/routing/v1/agents", headers=headers)).json()
        if a["name"] == "Paul"
    )
    await app.client.put(
        f"/routing/v1/agents/{paul['id']}/status", json={"status": "available"}, headers=headers
    )
    await run_engine(app)

    assert changed.status_code == 200, changed.text
    assert changed.json()["load"]["email"] == 0
    assert left == []
    assert accepted.status_code == 409
    assert accepted.json()["code"] == "offer.closed"
    assert (task["state"], task["agent_id"]) == ("waiting", None)
    ended = (await _stream_since_start(app, marie["id"]))[-1]
    assert (ended["data"]["offer_id"], ended["data"]["reason"]) == (offer["id"], "rescinded")
    assert len(await offers_of(app, paul["id"], headers)) == 1


async def test_a_capacity_cut_withdraws_the_newest_offers_over_it_and_keeps_the_rest(
    app: Running,
) -> None:
    headers = await admin(app)
    marie, first, conversation = await _offered_to_marie(app, headers)
    second_conversation = await open_task(app, language="fr")
    await run_engine(app)
    [second] = [o for o in await offers_of(app, marie["id"], headers) if o["id"] != first["id"]]

    changed = await app.client.patch(
        f"/routing/v1/agents/{marie['id']}",
        json={"capacity": {"phone": 1, "email": 1, "fax": 2}, "name": "Marie T."},
        headers=headers,
    )
    left = await offers_of(app, marie["id"], headers)

    assert changed.status_code == 200, changed.text
    assert [o["id"] for o in left] == [first["id"]]
    assert (await task_of(app, conversation, headers))["state"] == "offered"
    assert (await task_of(app, second_conversation, headers))["state"] == "waiting"
    assert second["conversation_id"] == second_conversation


async def test_an_agent_change_she_can_still_work_under_keeps_her_offer(app: Running) -> None:
    headers = await admin(app)
    marie, offer, conversation = await _offered_to_marie(app, headers)

    changed = await app.client.patch(
        f"/routing/v1/agents/{marie['id']}",
        json={"languages": {"fr": 4}, "capacity": {"phone": 0, "email": 1, "fax": 0}},
        headers=headers,
    )
    accepted = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/accept", headers=await agent_headers(app, marie["id"])
    )

    assert changed.status_code == 200, changed.text
    assert accepted.status_code == 200, accepted.text
    assert (await task_of(app, conversation, headers))["state"] == "assigned"
