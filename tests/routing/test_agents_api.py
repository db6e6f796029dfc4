"""The agents API: create, read, change, delete, presence; roles and bad input."""

from __future__ import annotations

import asyncio
import uuid

from shared.auth import Role
from tests.routing.scenario import admin, agent_headers, bearer, create_agent, open_task, run_engine
from tests.support.apps import Running

NEW_AGENT = {
    "name": "Marie Tremblay",
    "email": "marie@example.com",
    "languages": {"fr": 5, "en": 3},
    "skills": {"billing": 4},
    "tier": 2,
}


async def test_an_agent_is_created_offline_with_default_capacity(app: Running) -> None:
    headers = await admin(app)

    created = await app.client.post("/routing/v1/agents", json=NEW_AGENT, headers=headers)
    listed = await app.client.get("/routing/v1/agents", headers=headers)

    assert created.status_code == 201
    agent = created.json()
    assert agent["status"] == "offline"
    assert agent["languages"] == {"fr": 5, "en": 3}
    assert agent["skills"] == {"billing": 4}
    assert agent["capacity"] == {"phone": 1, "email": 3, "fax": 2}
    assert agent["load"] == {"phone": 0, "email": 0, "fax": 0}
    assert agent["stream_connected"] is False
    assert [a["id"] for a in listed.json()] == [agent["id"]]


async def test_bad_levels_and_duplicate_emails_are_refused_in_french(app: Running) -> None:
    headers = bearer(await app.token(Role.SUPERVISOR), "fr")
    await app.client.post("/routing/v1/agents", json=NEW_AGENT, headers=headers)

    bad = await app.client.post(
        "/routing/v1/agents",
        json={**NEW_AGENT, "email": "autre@example.com", "languages": {"fr": 6}},
        headers=headers,
    )
    duplicate = await app.client.post(
        "/routing/v1/agents", json={**NEW_AGENT, "email": "MARIE@example.com"}, headers=headers
    )
    listed = await app.client.get("/routing/v1/agents", headers=headers)

    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "languages.fr"
    assert bad.json()["errors"][0]["reason"] == "Doit valoir au plus 5."
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "agent.email_taken"
    assert duplicate.json()["title"] == "Adresse courriel déjà utilisée"
    assert len(listed.json()) == 1


async def test_an_address_with_accented_capitals_is_taken_once(app: Running) -> None:
    headers = bearer(await app.token(Role.SUPERVISOR), "fr")
    agent = {**NEW_AGENT, "email": "Élodie.Bérubé@Exemple.ca"}
    await app.client.post("/routing/v1/agents", json=agent, headers=headers)

    again = await app.client.post("/routing/v1/agents", json=agent, headers=headers)
    listed = await app.client.get("/routing/v1/agents", headers=headers)

    assert again.status_code == 409
    assert again.json()["code"] == "agent.email_taken"
    assert len(listed.json()) == 1


async def test_two_agents_created_at_once_with_one_address_are_one(app: Running) -> None:
    headers = await admin(app)

    answers = await asyncio.gather(
        *(app.client.post("/routing/v1/agents", json=NEW_AGENT, headers=headers) for _ in range(2))
    )
    listed = await app.client.get("/routing/v1/agents", headers=headers)

    assert sorted(answer.status_code for answer in answers) == [201, 409]
    assert len(listed.json()) == 1


async def test_languages_skills_and_capacity_are_replaced(app: Running) -> None:
    headers = await admin(app)
    agent = (await app.client.post("/routing/v1/agents", json=NEW_AGENT, headers=headers)).json()

    changed = await app.client.patch(
        f"/routing/v1/agents/{agent['id']}",
        json={"languages": {"fr": 4}, "skills": {}, "capacity": {"email": 5}},
        headers=headers,
    )
    read = await app.client.get(f"/routing/v1/agents/{agent['id']}", headers=headers)

    assert changed.status_code == 200
    assert read.json()["languages"] == {"fr": 4}
    assert read.json()["skills"] == {}
    assert read.json()["capacity"] == {"phone": 1, "email": 5, "fax": 2}


async def test_an_agent_sets_its_own_presence_but_not_anothers(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5}, status="offline")
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="offline")
    as_marie = await agent_headers(app, marie["id"])

    own = await app.client.put(
        f"/routing/v1/agents/{marie['id']}/status",
        json={"status": "away", "reason": "break"},
        headers=as_marie,
    )
    other = await app.client.put(
        f"/routing/v1/agents/{luc['id']}/status", json={"status": "available"}, headers=as_marie
    )
    wrap_up = await app.client.put(
        f"/routing/v1/agents/{marie['id']}/status", json={"status": "wrap_up"}, headers=as_marie
    )
    listing = await app.client.get("/routing/v1/agents", headers=as_marie)
    luc_after = await app.client.get(f"/routing/v1/agents/{luc['id']}", headers=headers)

    assert own.status_code == 200
    assert (own.json()["status"], own.json()["away_reason"]) == ("away", "break")
    assert other.status_code == 403
    assert wrap_up.status_code == 422
    assert listing.status_code == 403
    assert luc_after.json()["status"] == "offline"


async def test_unknown_agents_are_404_and_anonymous_callers_401(app: Running) -> None:
    headers = await admin(app)
    missing = uuid.uuid4()

    unknown = await app.client.get(f"/routing/v1/agents/{missing}", headers=headers)
    anonymous = await app.client.get("/routing/v1/agents")
    deleted_unknown = await app.client.delete(f"/routing/v1/agents/{missing}", headers=headers)

    assert unknown.status_code == 404
    assert unknown.json()["code"] == "agent.not_found"
    assert str(missing) in unknown.json()["detail"]
    assert anonymous.status_code == 401
    assert deleted_unknown.status_code == 404


async def test_an_agent_holding_a_task_cannot_be_deleted(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    idle = await create_agent(app, headers, name="Luc", languages={"en": 5}, status="offline")
    await open_task(app, language="fr")
    await run_engine(app)

    busy = await app.client.delete(f"/routing/v1/agents/{marie['id']}", headers=headers)
    gone = await app.client.delete(f"/routing/v1/agents/{idle['id']}", headers=headers)
    after = await app.client.get(f"/routing/v1/agents/{idle['id']}", headers=headers)

    assert busy.status_code == 409
    assert busy.json()["code"] == "agent.holds_tasks"
    assert gone.status_code == 204
    assert after.status_code == 404
