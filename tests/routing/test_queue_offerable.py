"""Queue stats say how many available agents the engine would offer the queue's work now, by
the engine's own rule: an agent whose stream is not connected cannot be offered a call."""

from __future__ import annotations

import uuid
from typing import Any

from services.routing.stream.feed import mark_stream
from shared.db import utc_now
from tests.routing.scenario import admin, create_agent, offers_of, open_task, run_engine
from tests.support.apps import Running


async def queue_named(app: Running, headers: dict[str, str], name: str) -> str:
    queues = (await app.client.get("/routing/v1/queues", headers=headers)).json()
    queue_id: str = next(q["id"] for q in queues if q["name"] == name)
    return queue_id


async def agents_of(app: Running, headers: dict[str, str], queue_id: str) -> dict[str, Any]:
    stats = await app.client.get(f"/routing/v1/queues/{queue_id}/stats", headers=headers)
    assert stats.status_code == 200, stats.text
    agents: dict[str, Any] = stats.json()["agents"]
    return agents


async def connect(app: Running, agent: dict[str, Any]) -> None:
    """The agent's front-end holds its live stream open now."""
    sessions = app.context("routing").require_sessions()
    await mark_stream(sessions, uuid.UUID(agent["id"]), seen=utc_now())


async def test_an_available_agent_without_its_stream_is_not_counted_as_able_to_take_calls(
    app: Running,
) -> None:
    headers = await admin(app)
    phone_fr = await queue_named(app, headers, "Téléphone — français")
    email_fr = await queue_named(app, headers, "Courriel — français")
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5})
    await connect(app, marie)

    phone = await agents_of(app, headers, phone_fr)
    email = await agents_of(app, headers, email_fr)

    # Both are available (the figure clients already read is unchanged) ...
    assert (phone["available"], email["available"]) == (2, 2)
    # ... but only Marie can be offered a call: Luc's front-end is not listening.
    assert phone["offerable"] == 1
    assert phone["offerable_by_channel"] == {"phone": 1}
    # Written work needs no live stream.
    assert email["offerable"] == 2
    assert email["offerable_by_channel"] == {"email": 2}

    # The engine agrees: the call goes to Marie, never to Luc.
    await open_task(app, channel="phone", language="fr")
    await run_engine(app)
    [call] = await offers_of(app, marie["id"], headers)
    assert call["channel"] == "phone"
    assert await offers_of(app, luc["id"], headers) == []

    # Marie now holds the call; once Luc's stream connects, he is the one who can take the next.
    await connect(app, luc)
    after = await agents_of(app, headers, phone_fr)
    assert (after["available"], after["busy"]) == (1, 1)
    assert after["offerable"] == 1
    assert after["offerable_by_channel"] == {"phone": 1}


async def test_an_agent_holding_written_work_is_not_counted_for_a_queue_that_keeps_calls_apart(
    app: Running,
) -> None:
    headers = await admin(app)
    phone_fr = await queue_named(app, headers, "Téléphone — français")
    email_fr = await queue_named(app, headers, "Courriel — français")
    paul = await create_agent(app, headers, name="Paul", languages={"fr": 5})
    await connect(app, paul)
    await open_task(app, channel="email", language="fr")
    await run_engine(app)
    [held] = await offers_of(app, paul["id"], headers)
    assert held["channel"] == "email"
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    await connect(app, marie)

    phone = await agents_of(app, headers, phone_fr)
    email = await agents_of(app, headers, email_fr)

    # Paul has room for a call, so he is available, but the queue does not mix calls with
    # the email he holds: only Marie can be offered one.
    assert phone["available"] == 2
    assert (phone["offerable"], phone["offerable_by_channel"]) == (1, {"phone": 1})
    assert (email["offerable"], email["offerable_by_channel"]) == (2, {"email": 2})
    await open_task(app, channel="phone", language="fr")
    await run_engine(app)
    assert [o["channel"] for o in await offers_of(app, paul["id"], headers)] == ["email"]
    assert [o["channel"] for o in await offers_of(app, marie["id"], headers)] == ["phone"]


async def test_a_queue_serving_several_channels_counts_each_channel_and_any(app: Running) -> None:
    headers = await admin(app)
    bilingual = await queue_named(app, headers, "Bilingual — bilingue")
    anne = await create_agent(app, headers, name="Anne", languages={"en": 5, "fr": 5})
    await create_agent(app, headers, name="Ben", languages={"en": 5, "fr": 5})
    await create_agent(app, headers, name="Chloe", languages={"en": 5, "fr": 5}, status="away")
    await connect(app, anne)

    agents = await agents_of(app, headers, bilingual)

    assert (agents["available"], agents["away"]) == (2, 1)
    assert agents["offerable"] == 2
    assert agents["offerable_by_channel"] == {"phone": 1, "email": 2, "fax": 2}


async def test_the_new_figures_are_documented(app: Running) -> None:
    spec: dict[str, Any] = (await app.client.get("/openapi.json")).json()
    [counts] = [
        schema
        for name, schema in spec["components"]["schemas"].items()
        if name.endswith("AgentCounts")
    ]

    for field in ("offerable", "offerable_by_channel"):
        documented = counts["properties"][field]
        assert "stream" in documented["description"]
        assert documented["examples"]
    assert set(counts["required"]) >= {"available", "busy", "wrap_up", "away", "offerable"}
