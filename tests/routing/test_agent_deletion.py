"""An agent deleted in routing stops working everywhere: the inbox revokes its API tokens.

Routing emits ``agent.deleted`` with the deletion; once the inbox has it, the agent's tokens
answer 401 on the inbox and on every service that checks tokens through it, and the token
list shows them revoked. A refused deletion changes nothing, and a redelivered event neither.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from services.routing.models import OutboxEvent
from shared.db import utc_now
from tests.routing.scenario import (
    SERVICE,
    admin,
    bearer,
    create_agent,
    emitted,
    open_task,
    run_engine,
)
from tests.support.apps import Running, running_all_in_one


async def issue(app: Running, headers: dict[str, str], agent_id: str, name: str) -> dict[str, Any]:
    """A new agent token, issued through the inbox's API."""
    created = await app.client.post(
        "/inbox/v1/tokens",
        json={"role": "agent", "name": name, "agent_id": agent_id},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    token: dict[str, Any] = created.json()
    return token


async def tokens(app: Running, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The token list, by token id."""
    listed = await app.client.get("/inbox/v1/tokens", headers=headers)
    assert listed.status_code == 200, listed.text
    return {row["id"]: row for row in listed.json()}


async def answers(app: Running, agent_id: str, token: str) -> tuple[int, int]:
    """What the agent's token gets on the inbox (its conversations) and on routing (its
    offers, the token checked through the inbox)."""
    inbox = await app.client.get("/inbox/v1/conversations", headers=bearer(token))
    routing = await app.client.get(f"/routing/v1/agents/{agent_id}/offers", headers=bearer(token))
    return inbox.status_code, routing.status_code


async def test_a_deleted_agents_tokens_are_revoked_and_answer_401(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie Tremblay", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc Gagnon", languages={"fr": 5, "en": 4})
    desk = await issue(app, headers, marie["id"], "Poste 12")
    phone = await issue(app, headers, marie["id"], "Cellulaire")
    old = await issue(app, headers, marie["id"], "Ancien poste")
    revoked_by_hand = await app.client.delete(f"/inbox/v1/tokens/{old['id']}", headers=headers)
    luc_token = await issue(app, headers, luc["id"], "Luc")
    before = utc_now()
    working = await answers(app, marie["id"], desk["token"])

    deleted = await app.client.delete(f"/routing/v1/agents/{marie['id']}", headers=headers)
    # While the event is on its way, routing already refuses a new token for her.
    in_flight = await app.client.post(
        "/inbox/v1/tokens",
        json={"role": "agent", "name": "Nouveau poste", "agent_id": marie["id"]},
        headers={**headers, "Accept-Language": "fr"},
    )
    listed_in_flight = await tokens(app, headers)
    await app.deliver_all()
    after = utc_now()

    assert working == (200, 200)
    assert deleted.status_code == 204
    assert in_flight.status_code == 422
    assert in_flight.json()["errors"] == [
        {
            "field": "agent_id",
            "code": "agent_not_found",
            "reason": "Aucun agent n’a cet identifiant.",
        }
    ]
    assert len(listed_in_flight) == 5  # the admin's, her three, Luc's: none added
    for token in (desk, phone):
        refused = await app.client.get("/inbox/v1/conversations", headers=bearer(token["token"]))
        assert refused.status_code == 401
        assert refused.json()["code"] == "auth.invalid_token"
        assert await answers(app, marie["id"], token["token"]) == (401, 401)
    assert await answers(app, luc["id"], luc_token["token"]) == (200, 200)
    assert (await app.client.get("/inbox/v1/conversations", headers=headers)).status_code == 200
    listed = await tokens(app, headers)
    assert set(listed) == set(listed_in_flight)
    for token in (desk, phone):
        revoked_at = listed[token["id"]]["revoked_at"]
        assert revoked_at is not None
        assert before <= datetime.fromisoformat(revoked_at) <= after
        assert {**listed[token["id"]], "revoked_at": None} == listed_in_flight[token["id"]]
    # A token revoked before keeps its time; other agents' tokens are untouched.
    assert listed[old["id"]] == listed_in_flight[old["id"]] == revoked_by_hand.json()
    assert listed[luc_token["id"]] == listed_in_flight[luc_token["id"]]
    assert listed[luc_token["id"]]["revoked_at"] is None


async def test_a_redelivered_agent_deleted_event_changes_nothing(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie Tremblay", languages={"fr": 5})
    token = await issue(app, headers, marie["id"], "Poste")
    deleted = await app.client.delete(f"/routing/v1/agents/{marie['id']}", headers=headers)
    await app.deliver_all()
    listed = await tokens(app, headers)
    async with app.context("routing").require_sessions()() as session:
        [event] = await session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "agent.deleted")
        )
    envelope = {
        "id": str(event.id),
        "type": event.type,
        "source": "routing",
        "occurred_at": event.occurred_at.isoformat(),
        "payload": event.payload,
    }

    again = await app.client.post("/inbox/v1/events", json=envelope, headers=SERVICE)

    assert deleted.status_code == 204
    assert event.payload["agent_id"] == marie["id"]
    assert event.delivered_at is not None
    assert (again.status_code, again.json()) == (200, {"id": str(event.id), "applied": False})
    assert await tokens(app, headers) == listed
    assert listed[token["id"]]["revoked_at"] is not None
    assert await answers(app, marie["id"], token["token"]) == (401, 401)


async def test_a_refused_deletion_leaves_the_agents_tokens_working(app: Running) -> None:
    headers = await admin(app)
    luc = await create_agent(app, headers, name="Luc Gagnon", languages={"fr": 5})
    token = await issue(app, headers, luc["id"], "Poste")
    await open_task(app, language="fr")
    await run_engine(app)
    listed = await tokens(app, headers)

    refused = await app.client.delete(f"/routing/v1/agents/{luc['id']}", headers=headers)
    await app.deliver_all()

    assert refused.status_code == 409
    assert refused.json()["code"] == "agent.holds_tasks"
    assert await emitted(app, "agent.deleted") == []
    assert await answers(app, luc["id"], token["token"]) == (200, 200)
    assert await tokens(app, headers) == listed
    assert listed[token["id"]]["revoked_at"] is None
    still = await app.client.get(f"/routing/v1/agents/{luc['id']}", headers=headers)
    assert still.status_code == 200


async def test_deleting_an_agent_without_tokens_revokes_nothing_else(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie Tremblay", languages={"fr": 5})
    gateway = await app.client.post(
        "/inbox/v1/tokens", json={"role": "gateway", "name": "Postfix"}, headers=headers
    )
    listed = await tokens(app, headers)

    deleted = await app.client.delete(f"/routing/v1/agents/{marie['id']}", headers=headers)
    await app.deliver_all()

    assert deleted.status_code == 204
    assert [event["agent_id"] for event in await emitted(app, "agent.deleted")] == [marie["id"]]
    assert await tokens(app, headers) == listed
    assert listed[gateway.json()["id"]]["revoked_at"] is None


async def test_the_inbox_forgets_a_deleted_agents_token_at_once_though_it_caches_tokens(
    db_url: str, tmp_path: Path
) -> None:
    """With token answers cached for a minute, the deleted agent's token, just used, is
    refused by the inbox as soon as it has the event, not a minute later."""
    async with running_all_in_one(db_url, tmp_path, token_cache_seconds=60) as app:
        headers = await admin(app)
        marie = await create_agent(app, headers, name="Marie Tremblay", languages={"fr": 5})
        desk = await issue(app, headers, marie["id"], "Poste 12")
        luc = await create_agent(app, headers, name="Luc Gagnon", languages={"fr": 5})
        luc_token = await issue(app, headers, luc["id"], "Luc")
        working = await app.client.get("/inbox/v1/conversations", headers=bearer(desk["token"]))

        await app.client.delete(f"/routing/v1/agents/{marie['id']}", headers=headers)
        await app.deliver_all()
        after = await app.client.get("/inbox/v1/conversations", headers=bearer(desk["token"]))
        others = await app.client.get("/inbox/v1/conversations", headers=bearer(luc_token["token"]))

    assert (working.status_code, after.status_code, others.status_code) == (200, 401, 200)
