"""A rejected offer goes to another agent: the agent who rejected it gets the task again only
when no one else may take it, and not before ``ROUTING_REOFFER_DECLINED_AFTER_SECONDS``."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.routing.stream.feed import mark_stream
from shared.db import utc_now
from tests.routing.scenario import (
    admin,
    agent_headers,
    create_agent,
    offers_of,
    open_task,
    run_engine,
    task_of,
)
from tests.support.apps import Running

AFTER = timedelta(seconds=30)  # the setting's default


async def listening(app: Running, agents: list[dict[str, Any]], at: datetime) -> None:
    """The agents' front-ends hold their live streams open at ``at`` (calls need it)."""
    for agent in agents:
        await mark_stream(
            app.context("routing").require_sessions(), uuid.UUID(agent["id"]), seen=at
        )


async def set_status(app: Running, agent: dict[str, Any], status: str) -> None:
    changed = await app.client.put(
        f"/routing/v1/agents/{agent['id']}/status",
        json={"status": status},
        headers=await admin(app),
    )
    assert changed.status_code == 200, changed.text


@pytest.mark.parametrize("channel", ["email", "phone"])
async def test_a_rejected_task_waits_for_another_agent_rather_than_coming_straight_back(
    app: Running, channel: str
) -> None:
    headers = await admin(app)
    anne = await create_agent(app, headers, name="Anne", languages={"fr": 5})
    benoit = await create_agent(app, headers, name="Benoit", languages={"fr": 5}, status="away")
    start = utc_now()
    await listening(app, [anne, benoit], start)
    # Anne handled the customer before: the conversation goes to her first.
    conversation = await open_task(
        app, language="fr", channel=channel, preferred_agent_id=anne["id"]
    )
    await run_engine(app, start)
    [offer] = await offers_of(app, anne["id"], headers)
    as_anne = await agent_headers(app, anne["id"])

    rejected = await app.client.post(f"/routing/v1/offers/{offer['id']}/reject", headers=as_anne)
    again = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/reject", headers={**as_anne, "Accept-Language": "fr"}
    )
    soon = utc_now() + timedelta(seconds=1)
    await listening(app, [anne, benoit], soon)
    await run_engine(app, soon)
    waiting = await task_of(app, conversation, headers)
    back_to_anne = await offers_of(app, anne["id"], headers)
    await set_status(app, benoit, "available")
    await run_engine(app, soon)

    assert rejected.status_code == 200
    assert rejected.json()["state"] == "rejected"
    # Rejecting twice answers the offer as it stands and changes nothing more.
    assert again.status_code == 200
    assert again.json() == rejected.json()
    assert back_to_anne == []
    assert waiting["state"] == "waiting"
    assert [o["state"] for o in waiting["offers"]] == ["rejected"]
    [to_benoit] = await offers_of(app, benoit["id"], headers)
    assert to_benoit["conversation_id"] == conversation
    assert await offers_of(app, anne["id"], headers) == []


@pytest.mark.parametrize("channel", ["email", "phone"])
async def test_the_only_agent_who_may_take_it_gets_it_back_after_a_while(
    app: Running, channel: str
) -> None:
    headers = await admin(app)
    anne = await create_agent(app, headers, name="Anne", languages={"fr": 5})
    # Benoit is available but cannot take a French contact.
    await create_agent(app, headers, name="Benoit", languages={"en": 5})
    start = utc_now()
    await listening(app, [anne], start)
    conversation = await open_task(app, language="fr", channel=channel)
    await run_engine(app, start)
    [offer] = await offers_of(app, anne["id"], headers)

    rejected = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/reject", headers=await agent_headers(app, anne["id"])
    )
    answered = utc_now()
    moments = [answered + timedelta(seconds=1), answered + AFTER - timedelta(seconds=1)]
    offered_meanwhile = []
    for moment in moments:
        await listening(app, [anne], moment)
        await run_engine(app, moment)
        offered_meanwhile += await offers_of(app, anne["id"], headers)
    later = answered + AFTER + timedelta(seconds=1)
    await listening(app, [anne], later)
    await run_engine(app, later)

    assert rejected.status_code == 200
    assert offered_meanwhile == []
    [offer_again] = await offers_of(app, anne["id"], headers)
    assert offer_again["conversation_id"] == conversation
    task = await task_of(app, conversation, headers)
    assert [o["state"] for o in task["offers"]] == ["rejected", "pending"]
