"""An agent speaks at least one language: without one it could never be offered work.

``languages: {}`` (or none at all) on creation, and ``languages: {}`` on a change, are 422 on
``languages`` in English and French, and nothing is stored or changed.
"""

from __future__ import annotations

from typing import Any

from tests.routing.scenario import admin, create_agent
from tests.support.apps import Running

NO_LANGUAGE = {
    "en": "Must name at least one language: an agent who speaks none is never offered work.",
    "fr": "Doit nommer au moins une langue\u202f: un agent qui n’en parle aucune ne se voit "
    "jamais offrir de travail.",
}
NEW_AGENT = {"name": "Marie Tremblay", "email": "marie@example.com", "skills": {"billing": 4}}


async def listed(app: Running, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = await app.client.get("/routing/v1/agents", headers=headers)
    assert answer.status_code == 200, answer.text
    agents: list[dict[str, Any]] = answer.json()
    return agents


async def test_an_agent_without_a_language_is_not_created(app: Running) -> None:
    headers = await admin(app)

    refused = {
        language: await app.client.post(
            "/routing/v1/agents",
            json={**NEW_AGENT, "languages": {}},
            headers={**headers, "Accept-Language": language},
        )
        for language in ("en", "fr")
    }
    left_out = await app.client.post("/routing/v1/agents", json=NEW_AGENT, headers=headers)
    stored_after_refusals = await listed(app, headers)
    created = await app.client.post(
        "/routing/v1/agents", json={**NEW_AGENT, "languages": {"fr": 1}}, headers=headers
    )

    for language, answer in refused.items():
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "request.invalid"
        assert answer.json()["errors"] == [
            {"field": "languages", "code": "no_language", "reason": NO_LANGUAGE[language]}
        ]
    assert left_out.status_code == 422
    assert left_out.json()["errors"] == [
        {"field": "languages", "code": "missing", "reason": "This field is required."}
    ]
    assert stored_after_refusals == []
    # The address was not taken by a refused request.
    assert created.status_code == 201, created.text
    assert created.json()["languages"] == {"fr": 1}


async def test_an_agents_languages_are_not_emptied(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie Tremblay", languages={"fr": 5, "en": 3})
    before = await listed(app, headers)

    refused = {
        language: await app.client.patch(
            f"/routing/v1/agents/{marie['id']}",
            json={"languages": {}, "name": "Marie Tremblay-Roy", "tier": 2},
            headers={**headers, "Accept-Language": language},
        )
        for language in ("en", "fr")
    }
    after_refusals = await listed(app, headers)
    unchanged_languages = await app.client.patch(
        f"/routing/v1/agents/{marie['id']}", json={"tier": 2}, headers=headers
    )
    replaced = await app.client.patch(
        f"/routing/v1/agents/{marie['id']}", json={"languages": {"en": 4}}, headers=headers
    )

    for language, answer in refused.items():
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"] == [
            {"field": "languages", "code": "no_language", "reason": NO_LANGUAGE[language]}
        ]
    assert after_refusals == before
    assert before[0]["languages"] == {"fr": 5, "en": 3}
    assert unchanged_languages.status_code == 200
    assert unchanged_languages.json()["languages"] == {"fr": 5, "en": 3}
    assert replaced.status_code == 200
    assert replaced.json()["languages"] == {"en": 4}


async def test_the_documented_schema_asks_for_one_language(app: Running) -> None:
    spec: dict[str, Any] = (await app.client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    create = schemas["AgentCreate"]
    [update] = [
        option
        for option in schemas["AgentUpdate"]["properties"]["languages"]["anyOf"]
        if option.get("type") == "object"
    ]

    assert "languages" in create["required"]
    assert create["properties"]["languages"]["minProperties"] == 1
    assert update["minProperties"] == 1
