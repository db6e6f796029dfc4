"""A Last-Event-ID no event can have is refused before the stream starts, instead of a stream
that breaks after its first line and makes the front-end reconnect for ever."""

from __future__ import annotations

import uuid

import pytest

from services.routing.models import Agent
from tests.routing.scenario import admin, create_agent
from tests.support.apps import Running

INT64_MAX = 2**63 - 1


@pytest.mark.parametrize("last_event_id", ["99999999999999999999999", str(INT64_MAX + 1)])
async def test_a_last_event_id_past_int64_is_a_422_and_opens_no_stream(
    app: Running, last_event_id: str
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})

    answer = await app.client.get(
        f"/routing/v1/agents/{marie['id']}/events",
        headers={**headers, "Last-Event-ID": last_event_id, "Accept-Language": "fr"},
    )

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    [error] = answer.json()["errors"]
    assert error["field"] == "Last-Event-ID"
    assert error["reason"] == (
        "Doit valoir au plus 9\u202f223\u202f372\u202f036\u202f854\u202f775\u202f807."
    )
    async with app.context("routing").require_sessions()() as session:
        agent = await session.get(Agent, uuid.UUID(marie["id"]))
    assert agent is not None
    assert agent.stream_seen_at is None  # never counted as connected, so never offered a call


async def test_the_document_states_the_largest_last_event_id(app: Running) -> None:
    document = (await app.client.get("/openapi.json")).json()

    operation = document["paths"]["/routing/v1/agents/{agent_id}/events"]["get"]
    [header] = [p for p in operation["parameters"] if p["name"] == "Last-Event-ID"]
    schemas = header["schema"].get("anyOf", [header["schema"]])
    assert {"type": "integer", "minimum": 0, "maximum": INT64_MAX} in schemas
