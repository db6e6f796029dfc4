"""An agent's token acting on another agent is refused for that (403) before anything about its
request's shape: its bad body, query or header is never judged. The agent itself, and
supervisors, still get the shape's refusal, field by field; no refusal changes anything."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from shared.auth import Role
from tests.routing.scenario import admin, agent_headers, bearer, create_agent
from tests.support.apps import Running

JSON = {"Content-Type": "application/json"}


async def attempts(
    app: Running, agent_id: str, headers: dict[str, str]
) -> dict[str, httpx.Response]:
    """Requests about ``agent_id`` whose shape is wrong, each in its own way."""
    status = f"/routing/v1/agents/{agent_id}/status"
    return {
        "status: unknown value": await app.client.put(
            status, json={"status": "sleeping"}, headers=headers
        ),
        "status: no body": await app.client.put(status, headers=headers),
        "status: body not UTF-8": await app.client.put(
            status, content=b"\xff", headers=headers | JSON
        ),
        "status: NUL in the query": await app.client.put(
            f"{status}?note=%00", json={"status": "available"}, headers=headers
        ),
        "offers: unknown state": await app.client.get(
            f"/routing/v1/agents/{agent_id}/offers", params={"state": "lost"}, headers=headers
        ),
        "events: negative Last-Event-ID": await app.client.get(
            f"/routing/v1/agents/{agent_id}/events", headers=headers | {"Last-Event-ID": "-1"}
        ),
    }


def codes(answers: dict[str, httpx.Response]) -> dict[str, tuple[int, str]]:
    return {label: (a.status_code, a.json()["code"]) for label, a in answers.items()}


async def agent_state(app: Running, agent_id: str) -> dict[str, Any]:
    answer = await app.client.get(f"/routing/v1/agents/{agent_id}", headers=await admin(app))
    state: dict[str, Any] = answer.json()
    return {key: state[key] for key in ("status", "away_reason", "status_changed_at")}


async def test_another_agents_token_is_refused_before_its_request_is_judged(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="offline")
    as_marie = await agent_headers(app, marie["id"], "fr")
    supervisor = bearer(await app.token(Role.SUPERVISOR), "fr")
    luc_before = await agent_state(app, luc["id"])
    marie_before = await agent_state(app, marie["id"])

    on_luc = await attempts(app, luc["id"], as_marie)
    on_nobody = await attempts(app, str(uuid.uuid4()), as_marie)
    own = await attempts(app, marie["id"], as_marie)
    managed = await attempts(app, luc["id"], supervisor)

    assert codes(on_luc) == dict.fromkeys(on_luc, (403, "agent.not_own"))
    for answer in on_luc.values():
        assert answer.json()["title"] == "Agent d’un autre"
        assert not answer.json().get("errors")
    # An id that is no agent's is refused the same way: nothing tells it from Luc's.
    assert codes(on_nobody) == codes(on_luc)
    # The agent itself, and supervisors, are still told what is wrong, field by field.
    expected = {
        "status: unknown value": (422, "request.invalid"),
        "status: no body": (422, "request.invalid"),
        "status: body not UTF-8": (400, "request.malformed_body"),
        "status: NUL in the query": (422, "request.invalid"),
        "offers: unknown state": (422, "request.invalid"),
        "events: negative Last-Event-ID": (422, "request.invalid"),
    }
    assert codes(own) == codes(managed) == expected
    assert [e["field"] for e in own["status: unknown value"].json()["errors"]] == ["status"]
    assert [e["field"] for e in own["offers: unknown state"].json()["errors"]] == ["state"]
    # No refusal changed anything.
    assert await agent_state(app, luc["id"]) == luc_before
    assert await agent_state(app, marie["id"]) == marie_before
    # Marie's valid request about herself still goes through; about Luc, it is refused.
    away = {"status": "away", "reason": "break"}
    own_away = await app.client.put(
        f"/routing/v1/agents/{marie['id']}/status", json=away, headers=as_marie
    )
    lucs_away = await app.client.put(
        f"/routing/v1/agents/{luc['id']}/status", json=away, headers=as_marie
    )
    assert (own_away.status_code, own_away.json()["status"]) == (200, "away")
    assert lucs_away.status_code == 403
    assert await agent_state(app, luc["id"]) == luc_before
