"""A bilingual queue's stats count every agent who can take some of its work, as the engine
does: one who speaks only French takes its French work. Per language, supervisors see who can
take work in English, in French, and in an undetermined language (both needed)."""

from __future__ import annotations

from typing import Any

from tests.routing.scenario import admin, create_agent, offers_of, open_task, run_engine
from tests.routing.test_queue_offerable import agents_of, connect, queue_named
from tests.support.apps import Running

#: A bilingual queue that takes English and French email ahead of the seeded ones.
BILINGUAL_EMAIL = {
    "name": "Courriel — clients bilingues",
    "language": "bilingual",
    "channels": ["email"],
    "rules": [{"order": 1, "channels": ["email"], "languages": ["en", "fr"]}],
}


async def test_one_language_agents_count_for_a_bilingual_queue_per_language(
    app: Running,
) -> None:
    headers = await admin(app)
    bilingual = await queue_named(app, headers, "Bilingual — bilingue")
    anne = await create_agent(app, headers, name="Anne", languages={"en": 5, "fr": 5})
    await create_agent(app, headers, name="Frank", languages={"fr": 5})
    await create_agent(app, headers, name="Eve", languages={"en": 5})
    await create_agent(app, headers, name="Paul", languages={"fr": 5}, status="away")
    # Below the queue's minimum level in every language: he serves none of its work.
    await create_agent(app, headers, name="Tom", languages={"en": 1, "fr": 1})
    await connect(app, anne)

    agents = await agents_of(app, headers, bilingual)

    assert (agents["available"], agents["away"], agents["busy"]) == (3, 1, 0)
    assert agents["available_by_language"] == {"en": 2, "fr": 2, "und": 1}
    # Only Anne's stream is connected: she alone can be offered a call.
    assert agents["offerable"] == 3
    assert agents["offerable_by_channel"] == {"phone": 1, "email": 3, "fax": 3}
    assert agents["offerable_by_language"] == {"en": 2, "fr": 2, "und": 1}


async def test_the_engine_offers_a_bilingual_queues_french_work_to_a_french_only_agent(
    app: Running,
) -> None:
    headers = await admin(app)
    created = await app.client.post("/routing/v1/queues", json=BILINGUAL_EMAIL, headers=headers)
    assert created.status_code == 201, created.text
    queue_id = created.json()["id"]
    frank = await create_agent(app, headers, name="Frank", languages={"fr": 5})
    eve = await create_agent(app, headers, name="Eve", languages={"en": 5})
    before: dict[str, Any] = await agents_of(app, headers, queue_id)

    await open_task(app, channel="email", language="fr")
    await run_engine(app)
    [offer] = await offers_of(app, frank["id"], headers)
    after = await agents_of(app, headers, queue_id)

    # The stats said so: both can take some of its work, Frank its French work.
    assert before["available"] == before["offerable"] == 2
    assert before["available_by_language"] == {"en": 1, "fr": 1, "und": 0}
    assert offer["queue_id"] == queue_id
    assert offer["language"] == "fr"
    assert await offers_of(app, eve["id"], headers) == []
    # Frank, with room for two more emails, can still take French work.
    assert after["available_by_language"] == {"en": 1, "fr": 1, "und": 0}
    assert after["offerable_by_language"] == {"en": 1, "fr": 1, "und": 0}


async def test_a_one_language_queue_counts_its_language_only(app: Running) -> None:
    headers = await admin(app)
    email_fr = await queue_named(app, headers, "Courriel — français")
    await create_agent(app, headers, name="Frank", languages={"fr": 5})
    await create_agent(app, headers, name="Eve", languages={"en": 5})

    agents = await agents_of(app, headers, email_fr)
    unknown = await app.client.get(
        "/routing/v1/queues/00000000-0000-4000-8000-000000000000/stats", headers=headers
    )
    not_an_id = await app.client.get("/routing/v1/queues/courriel/stats", headers=headers)

    assert agents["available"] == 1
    assert agents["available_by_language"] == agents["offerable_by_language"] == {"fr": 1}
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "queue.not_found"
    assert not_an_id.status_code == 422
    assert [e["field"] for e in not_an_id.json()["errors"]] == ["queue_id"]


async def test_the_per_language_figures_and_what_available_counts_are_documented(
    app: Running,
) -> None:
    spec: dict[str, Any] = (await app.client.get("/openapi.json")).json()
    [counts] = [
        schema
        for name, schema in spec["components"]["schemas"].items()
        if name.endswith("AgentCounts")
    ]
    stats = spec["paths"]["/routing/v1/queues/{queue_id}/stats"]["get"]

    for field in ("available_by_language", "offerable_by_language"):
        assert counts["properties"][field]["examples"]
        assert "und" in counts["properties"][field]["description"]
    assert "bilingual" in counts["properties"]["available"]["description"]
    assert "only French" in stats["description"]
    assert set(counts["required"]) >= {"available_by_language", "offerable_by_language"}
