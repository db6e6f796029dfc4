"""Agent event streams: pending offers first, new events as they commit, resume by id."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from sqlalchemy import select, update

from services.routing.models import Agent, AgentEvent
from services.routing.stream.broker import AgentBroker
from services.routing.stream.feed import agent_feed
from tests.routing.scenario import (
    admin,
    agent_headers,
    create_agent,
    offers_of,
    open_task,
    post_event,
    run_engine,
)
from tests.support.apps import Running


def parse(message: str) -> dict[str, Any]:
    fields = dict(line.split(": ", 1) for line in message.strip().splitlines())
    return {"id": int(fields["id"]), "event": fields["event"], "data": json.loads(fields["data"])}


async def next_message(feed: AsyncGenerator[str, None]) -> str:
    # The guard only bounds a broken test; events arrive as soon as their commit wakes the feed.
    return await asyncio.wait_for(anext(feed), timeout=10)


def open_feed(
    app: Running, agent_id: str, last_event_id: int | None = None
) -> AsyncGenerator[str, None]:
    context = app.context("routing")
    broker = context.extras["broker"]
    assert isinstance(broker, AgentBroker)
    return agent_feed(
        context.require_sessions(),
        context.require_read_sessions(),
        broker,
        agent_id=uuid.UUID(agent_id),
        last_event_id=last_event_id,
        heartbeat_seconds=60,
    )


async def test_a_new_stream_gets_pending_offers_then_the_assignment(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    conversation = await open_task(app, language="fr")
    await run_engine(app)
    [offer] = await offers_of(app, marie["id"], headers)

    feed = open_feed(app, marie["id"])
    try:
        assert (await next_message(feed)).startswith("retry: ")
        pending = parse(await next_message(feed))
        connected = await app.client.get(f"/routing/v1/agents/{marie['id']}", headers=headers)
        await app.client.post(
            f"/routing/v1/offers/{offer['id']}/accept",
            headers=await agent_headers(app, marie["id"]),
        )
        assigned = parse(await next_message(feed))
    finally:
        await feed.aclose()
    after = await app.client.get(f"/routing/v1/agents/{marie['id']}", headers=headers)

    assert pending["event"] == "offer"
    assert pending["data"]["offer_id"] == offer["id"]
    assert pending["data"]["conversation_id"] == conversation
    assert assigned["event"] == "assignment"
    assert assigned["data"] == pending["data"]
    assert assigned["id"] > pending["id"]
    assert connected.json()["stream_connected"] is True
    assert after.json()["stream_connected"] is False


@pytest.mark.sqlite_only
async def test_a_connected_stream_gets_its_next_event_while_another_write_is_open(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    await open_task(app, language="fr")
    await run_engine(app)
    [offer] = await offers_of(app, marie["id"], headers)
    feed = open_feed(app, marie["id"])
    try:
        await next_message(feed)
        await next_message(feed)
        # The assignment commits and wakes the feed; then another transaction starts writing.
        await app.client.post(
            f"/routing/v1/offers/{offer['id']}/accept",
            headers=await agent_headers(app, marie["id"]),
        )
        async with app.context("routing").require_sessions()() as holder:
            await holder.execute(
                update(Agent)
                .where(Agent.id == uuid.UUID(marie["id"]))
                .values(stream_seen_at=Agent.stream_seen_at)
            )
            # Read without queueing behind that write: it arrives while the write is open.
            assigned = parse(await next_message(feed))
            await holder.rollback()
    finally:
        await feed.aclose()

    assert assigned["event"] == "assignment"
    assert assigned["data"]["offer_id"] == offer["id"]


async def test_a_stream_resuming_from_an_id_misses_nothing_since(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    await open_task(app, language="fr")
    await run_engine(app)
    feed = open_feed(app, marie["id"])
    await next_message(feed)
    first = parse(await next_message(feed))
    await feed.aclose()

    await open_task(app, language="fr")
    await run_engine(app)
    [newest, _] = await offers_of(app, marie["id"], headers)
    await app.client.post(
        f"/routing/v1/offers/{newest['id']}/reject", headers=await agent_headers(app, marie["id"])
    )
    resumed = open_feed(app, marie["id"], last_event_id=first["id"])
    try:
        await next_message(resumed)
        replayed = [parse(await next_message(resumed)) for _ in range(2)]
    finally:
        await resumed.aclose()

    assert [(m["event"], m["data"]["offer_id"]) for m in replayed] == [
        ("offer", newest["id"]),
        ("offer.ended", newest["id"]),
    ]
    assert replayed[1]["data"]["reason"] == "rejected"


async def test_an_agent_may_not_open_another_agents_stream(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5})

    other = await app.client.get(
        f"/routing/v1/agents/{luc['id']}/events", headers=await agent_headers(app, marie["id"])
    )
    unknown = await app.client.get(f"/routing/v1/agents/{uuid.uuid4()}/events", headers=headers)
    bad_resume = await app.client.get(
        f"/routing/v1/agents/{luc['id']}/events", headers={**headers, "Last-Event-ID": "x"}
    )

    assert other.status_code == 403
    assert unknown.status_code == 404
    assert bad_resume.status_code == 422


async def test_a_failed_email_notice_for_no_such_agent_or_malformed_changes_no_stream(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    notice = {
        "conversation_id": str(uuid.uuid4()),
        "message_id": str(uuid.uuid4()),
        "agent_id": str(uuid.uuid4()),
        "failure_code": 550,
        "failure_reason": "5.1.1 Mailbox does not exist",
    }

    unknown_agent = await post_event(app, "email.failed", notice)
    malformed = await post_event(
        app, "email.failed", {**notice, "agent_id": marie["id"], "failure_code": 999}
    )
    feed = open_feed(app, marie["id"], last_event_id=0)
    try:
        await next_message(feed)
        only = parse(await next_message(feed))
    finally:
        await feed.aclose()

    assert unknown_agent.status_code == 200, unknown_agent.text
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "failure_code"
    # Marie's stream holds her status change alone.
    assert only["event"] == "status"
    async with app.context("routing").require_sessions()() as session:
        kinds = (await session.scalars(select(AgentEvent.type))).all()
    assert list(kinds) == ["status"]
