"""Requests racing for one unique name answer 409 (or, for an upsert, 200), never 500.

The races are real: many requests at once through the app, each in its own transaction, so that
on PostgreSQL several pass the name check before any commits and the database's unique
constraint decides. SQLite lets one writer in at a time, so there the check decides; the answers
must be the same.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.routing.scenario import admin
from tests.support.apps import Running

RACERS = 20
NAME = "Course — facturation"
QUEUE = {"name": NAME, "language": "fr", "channels": ["email"]}


async def _warm_up(app: Running, headers: dict[str, str]) -> None:
    """Open the connections first: otherwise the first racer finishes while the others connect."""
    await asyncio.gather(
        *(app.client.get("/routing/v1/queues", headers=headers) for _ in range(RACERS)),
        *(app.client.get("/inbox/v1/dispositions", headers=headers) for _ in range(RACERS)),
    )


async def _queue_names(app: Running, headers: dict[str, str]) -> list[str]:
    answer = await app.client.get("/routing/v1/queues", headers=headers)
    return [queue["name"] for queue in answer.json()]


async def test_queues_created_at_once_with_one_name_are_one_queue(app: Running) -> None:
    headers = await admin(app)
    before = await _queue_names(app, headers)
    await _warm_up(app, headers)

    answers = await asyncio.gather(
        *(app.client.post("/routing/v1/queues", json=QUEUE, headers=headers) for _ in range(RACERS))
    )
    after = await _queue_names(app, headers)

    assert Counter(answer.status_code for answer in answers) == {201: 1, 409: RACERS - 1}
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"queue.name_taken"}
    assert sorted(after) == sorted([*before, NAME])


async def test_two_queues_renamed_at_once_to_one_name_keep_their_names_but_one(
    app: Running,
) -> None:
    headers = await admin(app)
    french = {**headers, "Accept-Language": "fr"}
    ids = []
    for number in range(RACERS):
        created = await app.client.post(
            "/routing/v1/queues", json={**QUEUE, "name": f"File {number}"}, headers=headers
        )
        ids.append(created.json()["id"])
    await _warm_up(app, headers)

    answers = await asyncio.gather(
        *(
            app.client.patch(
                f"/routing/v1/queues/{queue_id}", json={"name": "File unique"}, headers=french
            )
            for queue_id in ids
        )
    )
    names = await _queue_names(app, headers)

    assert Counter(answer.status_code for answer in answers) == {200: 1, 409: RACERS - 1}
    refused = [answer.json() for answer in answers if answer.status_code == 409]
    assert {problem["code"] for problem in refused} == {"queue.name_taken"}
    assert refused[0]["detail"] == "Une autre file s’appelle déjà «\u202fFile unique\u202f»."
    renamed = next(i for i, answer in zip(ids, answers, strict=True) if answer.status_code == 200)
    kept = {f"File {n}" for n, i in enumerate(ids) if i != renamed}
    assert names.count("File unique") == 1
    assert kept <= set(names)


async def test_a_new_disposition_put_at_once_is_created_once(app: Running) -> None:
    headers = await admin(app)
    bodies = [{"label_en": f"Race {n}", "label_fr": f"Course {n}"} for n in range(RACERS)]
    await _warm_up(app, headers)

    answers = await asyncio.gather(
        *(
            app.client.put("/inbox/v1/dispositions/race_code", json=body, headers=headers)
            for body in bodies
        )
    )
    listed = await app.client.get(
        "/inbox/v1/dispositions", params={"include_inactive": "true"}, headers=headers
    )

    assert [answer.status_code for answer in answers] == [200] * RACERS
    assert all(answer.json()["code"] == "race_code" for answer in answers)
    stored = [row for row in listed.json() if row["code"] == "race_code"]
    assert len(stored) == 1
    # The last write wins, whole: never one request's English with another's French.
    assert {"label_en": stored[0]["label_en"], "label_fr": stored[0]["label_fr"]} in bodies


async def test_a_disposition_put_again_is_changed_in_place(app: Running) -> None:
    headers = await admin(app)
    url = "/inbox/v1/dispositions/suivi_requis"
    first = await app.client.put(
        url, json={"label_en": "Follow-up", "label_fr": "Suivi"}, headers=headers
    )
    again = await app.client.put(
        url,
        json={"label_en": "Follow-up needed", "label_fr": "Suivi requis", "active": False},
        headers={**headers, "Accept-Language": "fr"},
    )
    listed = await app.client.get(
        "/inbox/v1/dispositions", params={"include_inactive": "true"}, headers=headers
    )

    assert first.status_code == again.status_code == 200
    assert first.json()["active"] is True
    assert again.json()["label"] == "Suivi requis"
    assert again.json()["active"] is False
    stored = [row for row in listed.json() if row["code"] == "suivi_requis"]
    assert stored == [
        {
            "code": "suivi_requis",
            "label": "Follow-up needed",
            "label_en": "Follow-up needed",
            "label_fr": "Suivi requis",
            "active": False,
        }
    ]


async def test_one_language_added_at_once_by_many_edits_is_one_version(app: Running) -> None:
    headers = await admin(app)
    base = "/translation/v1/templates"
    pair = [
        {"locale": locale, "subject": "Facture", "body": body, "variables": [{"name": "name"}]}
        for locale, body in (("en", "Hello {name}!"), ("fr", "Bonjour {name} !"))
    ]
    canadian = {
        "locale": "fr-CA",
        "subject": "Facture",
        "body": "Bonjour {name}, merci d’avoir écrit !",
        "variables": [{"name": "name"}],
        "single_language": True,
    }
    created = await app.client.post(
        base, json={"key": "race.notice", "versions": pair}, headers=headers
    )
    await _warm_up(app, headers)

    answers = await asyncio.gather(
        *(
            app.client.patch(f"{base}/race.notice", json={"versions": [canadian]}, headers=headers)
            for _ in range(RACERS)
        )
    )
    stored = await app.client.get(f"{base}/race.notice", headers=headers)

    assert created.status_code == 201, created.text
    # Each edit waits for the one before and then finds the version it wrote: the same text.
    assert Counter(answer.status_code for answer in answers) == {200: RACERS}
    locales = [version["locale"] for version in stored.json()["versions"]]
    assert sorted(locales) == ["en", "fr", "fr-CA"]
