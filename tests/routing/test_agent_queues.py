"""Which queues an agent serves (language, skills, tier, capacity; no widening) and who may ask."""

from __future__ import annotations

import uuid
from typing import Any

from shared.auth import Role
from tests.routing.scenario import SERVICE, admin, agent_headers, bearer, create_agent
from tests.support.apps import Running

BILLING = {
    "name": "Courriel — facturation",
    "language": "fr",
    "channels": ["email"],
    "required_skills": {"billing": 3},
    "tiers": [2],
    "widening": [
        {"after_seconds": 0, "kind": "lower_skill_level", "skill": "billing", "min_level": 1},
        {"after_seconds": 0, "kind": "bilingual", "min_level": 1},
    ],
    "rules": [{"order": 1, "channels": ["email"], "languages": ["fr"], "skills": ["billing"]}],
}


async def served(app: Running, agent_id: str, headers: dict[str, str]) -> dict[str, Any]:
    answer = await app.client.get(f"/routing/v1/agents/{agent_id}/queues", headers=headers)
    assert answer.status_code == 200, answer.text
    return {
        queue["name"]: (queue["languages"], queue["channels"]) for queue in answer.json()["queues"]
    }


async def test_an_english_agent_serves_the_english_queues_and_english_work_of_the_bilingual_one(
    app: Running,
) -> None:
    headers = await admin(app)
    john = await create_agent(app, headers, name="John", languages={"en": 5, "fr": 2})
    marie = await create_agent(
        app, headers, name="Marie", languages={"fr": 5, "en": 4}, status="offline"
    )

    johns = await served(app, john["id"], headers)
    maries = await served(app, marie["id"], headers)

    assert johns == {
        "Bilingual — bilingue": (["en"], ["email", "fax", "phone"]),
        "Email — English": (["en"], ["email"]),
        "Fax — English": (["en"], ["fax"]),
        "Phone — English": (["en"], ["phone"]),
    }
    # Presence does not count: Marie is offline and still serves every queue, und included.
    assert maries["Bilingual — bilingue"] == (["en", "fr", "und"], ["email", "fax", "phone"])
    assert len(maries) == 7


async def test_skills_tiers_and_capacity_count_at_the_base_rule_without_widening(
    app: Running,
) -> None:
    headers = await admin(app)
    created = await app.client.post("/routing/v1/queues", json=BILLING, headers=headers)
    assert created.status_code == 201, created.text
    luc = await create_agent(
        app, headers, name="Luc", languages={"fr": 5}, skills={"billing": 2}, status="offline"
    )
    url = f"/routing/v1/agents/{luc['id']}"

    novice = await served(app, luc["id"], headers)
    await app.client.patch(url, json={"skills": {"billing": 3}}, headers=headers)
    wrong_tier = await served(app, luc["id"], headers)
    await app.client.patch(url, json={"tier": 2}, headers=headers)
    qualified = await served(app, luc["id"], headers)
    await app.client.patch(url, json={"capacity": {"email": 0}}, headers=headers)
    no_email = await served(app, luc["id"], headers)

    # The widening steps (a lower billing level, bilingual agents) apply from the first
    # second, yet only the queue's own minimums decide whom it is served by.
    assert "Courriel — facturation" not in novice
    assert "Courriel — facturation" not in wrong_tier
    assert qualified["Courriel — facturation"] == (["fr"], ["email"])
    assert "Courriel — facturation" not in no_email
    assert "Courriel — français" not in no_email
    assert no_email["Téléphone — français"] == (["fr"], ["phone"])
    assert no_email["Bilingual — bilingue"] == (["fr"], ["fax", "phone"])


async def test_an_agent_reads_its_own_queues_only_and_services_read_any(app: Running) -> None:
    headers = await admin(app)
    john = await create_agent(app, headers, name="John", languages={"en": 5})
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    as_john = await agent_headers(app, john["id"], "fr")
    missing = uuid.uuid4()

    own = await app.client.get(f"/routing/v1/agents/{john['id']}/queues", headers=as_john)
    other = await app.client.get(f"/routing/v1/agents/{marie['id']}/queues", headers=as_john)
    by_service = await app.client.get(f"/routing/v1/agents/{marie['id']}/queues", headers=SERVICE)
    by_supervisor = await app.client.get(
        f"/routing/v1/agents/{marie['id']}/queues",
        headers=bearer(await app.token(Role.SUPERVISOR)),
    )
    unknown = await app.client.get(
        f"/routing/v1/agents/{missing}/queues", headers=bearer(await app.token(Role.ADMIN), "fr")
    )
    gateway = await app.client.get(
        f"/routing/v1/agents/{john['id']}/queues", headers=bearer(await app.token(Role.GATEWAY))
    )
    anonymous = await app.client.get(f"/routing/v1/agents/{john['id']}/queues")

    assert own.status_code == 200
    assert own.json()["agent_id"] == john["id"]
    assert other.status_code == 403
    assert other.json()["code"] == "agent.not_own"
    assert other.json()["title"] == "Agent d’un autre"
    assert "queues" not in other.json()
    assert by_service.status_code == by_supervisor.status_code == 200
    assert {q["name"] for q in by_service.json()["queues"]} >= {"Courriel — français"}
    assert by_service.json() == by_supervisor.json()
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "agent.not_found"
    assert unknown.json()["detail"] == f"Aucun agent n’a l’identifiant {missing}."
    assert (gateway.status_code, anonymous.status_code) == (403, 401)
