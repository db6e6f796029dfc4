"""The queues API: the seeded setup, create with rules, hours and widening, stats, bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.auth import Role
from shared.db import utc_now
from tests.routing.scenario import (
    admin,
    agent_headers,
    bearer,
    create_agent,
    offers_of,
    open_task,
    run_engine,
)
from tests.support.apps import Running

BILLING = {
    "name": "Courriel — facturation",
    "language": "fr",
    "channels": ["email"],
    "priority": 5,
    "required_skills": {"billing": 3},
    "service_level_seconds": 14400,
    "service_level_percent": 90,
    "widening": [
        {"after_seconds": 600, "kind": "other_language"},
        {"after_seconds": 60, "kind": "bilingual", "min_level": 3},
    ],
    "hours": {
        "time_zone": "America/Toronto",
        "weekly": {"mon": [{"start": "08:00", "end": "23:00"}]},
        "holidays": ["2026-12-25"],
    },
    "rules": [{"order": 1, "channels": ["email"], "languages": ["fr"], "skills": ["billing"]}],
}


async def test_the_default_setup_has_english_and_french_queues_per_channel_and_one_bilingual(
    app: Running,
) -> None:
    queues = (await app.client.get("/routing/v1/queues", headers=await admin(app))).json()

    by_language: dict[str, set[str]] = {}
    for queue in queues:
        by_language.setdefault(queue["language"], set()).update(queue["channels"])
    assert by_language == {
        "en": {"phone", "email", "fax"},
        "fr": {"phone", "email", "fax"},
        "bilingual": {"phone", "email", "fax"},
    }
    bilingual = next(q for q in queues if q["language"] == "bilingual")
    assert bilingual["rules"][0]["languages"] == ["und"]
    assert all(q["open_now"] for q in queues)


async def test_a_queue_is_created_with_rules_hours_and_sorted_widening(app: Running) -> None:
    headers = await admin(app)

    created = await app.client.post("/routing/v1/queues", json=BILLING, headers=headers)
    read = await app.client.get(f"/routing/v1/queues/{created.json()['id']}", headers=headers)

    assert created.status_code == 201
    queue = read.json()
    assert queue["required_skills"] == {"billing": 3}
    assert queue["rules"][0]["skills"] == ["billing"]
    assert queue["hours"]["weekly"]["mon"][0]["start"] == "08:00:00"
    assert queue["hours"]["holidays"] == ["2026-12-25"]
    assert {step["kind"] for step in queue["widening"]} == {"bilingual", "other_language"}


async def test_a_rule_with_a_skill_sends_tasks_needing_it_to_its_queue(app: Running) -> None:
    headers = await admin(app)
    always_open = {**BILLING, "hours": {"time_zone": "UTC"}}
    queue = (await app.client.post("/routing/v1/queues", json=always_open, headers=headers)).json()
    expert = await create_agent(
        app, headers, name="Expert", languages={"fr": 5}, skills={"billing": 4}
    )

    conversation = await open_task(app, language="fr", skills={"billing": 2})
    await run_engine(app)

    [offer] = await offers_of(app, expert["id"], headers)
    assert offer["conversation_id"] == conversation
    assert offer["queue_id"] == queue["id"]
    assert offer["why"]["skills"] == [{"skill": "billing", "required": 3, "applied": 3, "held": 4}]


async def test_inconsistent_queues_are_refused_and_nothing_is_stored(app: Running) -> None:
    headers = bearer(await app.token(Role.ADMIN), "fr")
    cases: list[dict[str, Any]] = [
        {
            **BILLING,
            "widening": [{"after_seconds": 60, "kind": "other_language", "channels": ["phone"]}],
        },
        {**BILLING, "widening": [{"after_seconds": 60, "kind": "bilingual"}]},
        {**BILLING, "hours": {"time_zone": "Mars/Olympus"}},
        {**BILLING, "hours": {"weekly": {"mon": [{"start": "23:00", "end": "02:00"}]}}},
        {**BILLING, "channels": []},
        {**BILLING, "language": "und"},
        # Numbers past what any contact centre means (and past the database's integers).
        {**BILLING, "rules": [{"order": -24856786256891270791725339115520}]},
        {**BILLING, "service_level_seconds": 2**31},
        {**BILLING, "widening": [{"after_seconds": 2**40, "kind": "drop_skill", "skill": "x"}]},
        {**BILLING, "tiers": [11]},
    ]

    answers = [await app.client.post("/routing/v1/queues", json=c, headers=headers) for c in cases]
    duplicate_ok = await app.client.post("/routing/v1/queues", json=BILLING, headers=headers)
    duplicate = await app.client.post("/routing/v1/queues", json=BILLING, headers=headers)
    queues = (await app.client.get("/routing/v1/queues", headers=headers)).json()

    assert [a.status_code for a in answers] == [422] * len(cases)
    assert all(a.json()["title"] == "Demande invalide" for a in answers)
    assert duplicate_ok.status_code == 201
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "queue.name_taken"
    assert sum(1 for q in queues if q["name"] == BILLING["name"]) == 1


async def test_hours_with_a_time_zone_offset_are_refused_on_create_and_change(
    app: Running,
) -> None:
    headers = bearer(await app.token(Role.ADMIN), "fr")
    created = await app.client.post("/routing/v1/queues", json=BILLING, headers=headers)
    queue_id = created.json()["id"]
    # Hours are on the queue's own clock (its time_zone): an offset has no place there.
    offsets: list[dict[str, Any]] = [
        {"closures": [{"day": "2027-01-04", "start": "08:30Z", "end": "09:00Z"}]},
        {"closures": [{"day": "2027-01-04", "start": "08:30", "end": "09:00+01:00"}]},
        {"weekly": {"mon": [{"start": "08:00Z", "end": "17:00Z"}]}},
        {"weekly": {"mon": [{"start": "08:00", "end": "17:00-05:00"}]}},
    ]

    created_with = [
        await app.client.post(
            "/routing/v1/queues",
            json={**BILLING, "name": "Heures", "hours": hours},
            headers=headers,
        )
        for hours in offsets
    ]
    changed = [
        await app.client.patch(
            f"/routing/v1/queues/{queue_id}", json={"hours": hours}, headers=headers
        )
        for hours in offsets
    ]
    read = await app.client.get(f"/routing/v1/queues/{queue_id}", headers=headers)
    queues = (await app.client.get("/routing/v1/queues", headers=headers)).json()

    for answer in [*created_with, *changed]:
        assert answer.status_code == 422, answer.text
        for error in answer.json()["errors"]:
            assert error["code"] == "local_time"
            assert error["reason"] == "Doit être une heure locale (HH:MM), sans décalage horaire."
    assert [e["field"] for e in created_with[0].json()["errors"]] == [
        "hours.closures.0.start",
        "hours.closures.0.end",
    ]
    assert [e["field"] for e in changed[3].json()["errors"]] == ["hours.weekly.mon.0.end"]
    assert read.json() == created.json()
    assert "Heures" not in [queue["name"] for queue in queues]


async def test_a_change_out_of_range_is_refused_and_the_queue_is_unchanged(app: Running) -> None:
    headers = bearer(await app.token(Role.ADMIN), "fr")
    created = await app.client.post("/routing/v1/queues", json=BILLING, headers=headers)
    queue_id = created.json()["id"]

    changed = await app.client.patch(
        f"/routing/v1/queues/{queue_id}",
        json={"rules": [{"order": 10**32, "channels": ["email"]}], "service_level_seconds": 10},
        headers=headers,
    )
    read = await app.client.get(f"/routing/v1/queues/{queue_id}", headers=headers)

    assert changed.status_code == 422
    assert changed.json()["errors"][0]["field"] == "rules.0.order"
    assert read.json() == created.json()


async def test_agents_may_not_manage_queues(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})

    refused = await app.client.post(
        "/routing/v1/queues", json=BILLING, headers=await agent_headers(app, marie["id"])
    )

    assert refused.status_code == 403
    queues = (await app.client.get("/routing/v1/queues", headers=headers)).json()
    assert BILLING["name"] not in {q["name"] for q in queues}


async def test_stats_count_waiting_agents_offers_and_service_level(app: Running) -> None:
    headers = await admin(app)
    queues = (await app.client.get("/routing/v1/queues", headers=headers)).json()
    email_fr = next(q for q in queues if q["name"] == "Courriel — français")
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="away")
    await create_agent(app, headers, name="John", languages={"en": 5})
    await app.client.patch(
        f"/routing/v1/agents/{marie['id']}", json={"capacity": {"email": 1}}, headers=headers
    )
    for _ in range(3):
        await open_task(app, language="fr")
    await run_engine(app)
    [offer] = await offers_of(app, marie["id"], headers)
    await app.client.post(
        f"/routing/v1/offers/{offer['id']}/accept", headers=await agent_headers(app, marie["id"])
    )

    stats = await app.client.get(f"/routing/v1/queues/{email_fr['id']}/stats", headers=headers)

    figures = stats.json()
    assert figures["waiting"] == 2
    assert figures["assigned"] == 1
    assert figures["agents"] == {
        "available": 0,
        "busy": 1,
        "wrap_up": 0,
        "away": 1,
        "offerable": 0,
        "offerable_by_channel": {"email": 0},
        "available_by_language": {"fr": 0},
        "offerable_by_language": {"fr": 0},
    }
    assert (figures["offers_today"], figures["accepted_today"]) == (1, 1)
    assert figures["answered_today"] == 1
    assert figures["service_level_percent_today"] == 100.0
    assert figures["longest_wait_seconds"] >= 0


async def test_a_queue_holding_tasks_cannot_be_deleted(app: Running) -> None:
    headers = await admin(app)
    queues = (await app.client.get("/routing/v1/queues", headers=headers)).json()
    email_fr = next(q for q in queues if q["name"] == "Courriel — français")
    fax_fr = next(q for q in queues if q["name"] == "Télécopie — français")
    french = {**headers, "Accept-Language": "fr"}
    await open_task(app, language="fr")

    one = await app.client.delete(f"/routing/v1/queues/{email_fr['id']}", headers=headers)
    one_fr = await app.client.delete(f"/routing/v1/queues/{email_fr['id']}", headers=french)
    await open_task(app, language="fr")
    two = await app.client.delete(f"/routing/v1/queues/{email_fr['id']}", headers=headers)
    two_fr = await app.client.delete(f"/routing/v1/queues/{email_fr['id']}", headers=french)
    empty = await app.client.delete(f"/routing/v1/queues/{fax_fr['id']}", headers=headers)
    after = await app.client.get(f"/routing/v1/queues/{fax_fr['id']}", headers=headers)
    kept = await app.client.get(f"/routing/v1/queues/{email_fr['id']}", headers=headers)

    assert [a.status_code for a in (one, one_fr, two, two_fr)] == [409] * 4
    assert one.json()["code"] == "queue.in_use"
    assert one.json()["detail"] == "The queue still holds 1 open task; move or finish it first."
    assert two.json()["detail"] == (
        "The queue still holds 2 open tasks; move or finish them first."
    )
    assert one_fr.json()["detail"] == (
        "La file contient encore 1\u00a0tâche ouverte\u202f; déplacez-la ou terminez-la d’abord."
    )
    assert two_fr.json()["detail"] == (
        "La file contient encore 2\u00a0tâches ouvertes\u202f; "
        "déplacez-les ou terminez-les d’abord."
    )
    assert kept.status_code == 200
    assert empty.status_code == 204
    assert after.status_code == 404


async def test_a_widening_step_added_later_applies_to_tasks_already_waiting(app: Running) -> None:
    headers = await admin(app)
    queues = (await app.client.get("/routing/v1/queues", headers=headers)).json()
    email_fr = next(q for q in queues if q["name"] == "Courriel — français")
    learner = await create_agent(app, headers, name="Learner", languages={"en": 5, "fr": 2})
    now = utc_now()
    await open_task(app, language="fr")
    await run_engine(app, now + timedelta(minutes=5))
    assert await offers_of(app, learner["id"], headers) == []

    await app.client.patch(
        f"/routing/v1/queues/{email_fr['id']}",
        json={"widening": [{"after_seconds": 120, "kind": "bilingual", "min_level": 2}]},
        headers=headers,
    )
    await run_engine(app, now + timedelta(minutes=5))

    assert len(await offers_of(app, learner["id"], headers)) == 1
