"""An agent cannot probe which ids exist: another agent's callback, task or offer answers as an
unknown id does (404, the same problem but for the id), and the refusal changes nothing.
Supervisors still tell the two apart."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx

from shared.auth import Role
from shared.db import utc_now
from tests.routing.scenario import (
    admin,
    agent_headers,
    bearer,
    create_agent,
    emitted,
    offers_of,
    open_task,
    run_engine,
)
from tests.routing.test_callback_access import read, schedule
from tests.support.apps import Running


def without(answer: httpx.Response, ident: str) -> dict[str, Any]:
    """The problem document with the id it names blanked out."""
    body: dict[str, Any] = answer.json()
    body.pop("request_id", None)
    return {key: str(value).replace(ident, "<id>") for key, value in body.items()}


def same_as_unknown(
    existing: httpx.Response, existing_id: str, unknown: httpx.Response, unknown_id: str
) -> bool:
    return (existing.status_code, without(existing, existing_id)) == (
        unknown.status_code,
        without(unknown, unknown_id),
    )


async def test_another_agents_callback_answers_as_an_unknown_one(app: Running) -> None:
    headers = await admin(app)
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="offline")
    paul = await create_agent(app, headers, name="Paul", languages={"en": 5}, status="offline")
    supervisor = bearer(await app.token(Role.SUPERVISOR), "fr")
    lucs = await schedule(app, supervisor, agent_id=luc["id"])
    missing = str(uuid.uuid4())

    for language in ("en", "fr"):
        paul_headers = await agent_headers(app, paul["id"], language)
        other = await read(app, lucs, paul_headers)
        unknown = await read(app, missing, paul_headers)

        assert other.status_code == 404
        assert other.json()["code"] == "callback.not_found"
        assert same_as_unknown(other, lucs, unknown, missing)
        assert "5550123" not in other.text
        assert "Rappeler" not in other.text
    assert other.json()["detail"] == f"Aucun rappel n’a l’identifiant {lucs}."
    # Supervisors read it, and still get 404 for an id that does not exist.
    assert (await read(app, lucs, supervisor)).status_code == 200
    assert (await read(app, missing, supervisor)).status_code == 404
    assert (await read(app, lucs, await agent_headers(app, luc["id"]))).status_code == 200


async def test_another_agents_task_and_offer_answer_as_unknown_ones_and_stay_as_they_were(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    paul = await create_agent(app, headers, name="Paul", languages={"en": 5}, status="offline")
    await open_task(app, language="fr")
    await run_engine(app)
    [offer] = await offers_of(app, marie["id"], headers)
    task_id, offer_id = offer["task_id"], offer["id"]
    missing = str(uuid.uuid4())
    paul_headers = await agent_headers(app, paul["id"], "fr")

    def calls(task: str, offer: str) -> list[tuple[str, str]]:
        return [
            ("GET", f"/routing/v1/tasks/{task}"),
            ("POST", f"/routing/v1/tasks/{task}/complete"),
            ("POST", f"/routing/v1/offers/{offer}/accept"),
            ("POST", f"/routing/v1/offers/{offer}/reject"),
        ]

    for (method, url), (_, unknown_url) in zip(
        calls(task_id, offer_id), calls(missing, missing), strict=True
    ):
        other = await app.client.request(method, url, headers=paul_headers)
        unknown = await app.client.request(method, unknown_url, headers=paul_headers)
        ident = task_id if "/tasks/" in url else offer_id
        assert other.status_code == 404, (url, other.text)
        assert same_as_unknown(other, ident, unknown, missing), (url, other.text, unknown.text)
        assert other.json()["title"] in ("Tâche introuvable", "Offre introuvable")

    # Nothing changed: the offer still waits for Marie, who may still take it.
    [still] = await offers_of(app, marie["id"], headers)
    assert still["state"] == "pending"
    assert await emitted(app, "conversation.assigned") == []
    accepted = await app.client.post(
        f"/routing/v1/offers/{offer_id}/accept", headers=await agent_headers(app, marie["id"])
    )
    assert accepted.status_code == 200
    # A supervisor still tells an unknown task from a known one.
    assert (await app.client.get(f"/routing/v1/tasks/{task_id}", headers=headers)).is_success
    unknown_task = await app.client.get(f"/routing/v1/tasks/{missing}", headers=headers)
    assert unknown_task.status_code == 404


async def test_an_agent_who_was_offered_a_task_sees_it_and_is_told_another_holds_it(
    app: Running,
) -> None:
    headers = await admin(app)
    anne = await create_agent(app, headers, name="Anne", languages={"fr": 5})
    await open_task(app, language="fr")
    await run_engine(app)
    [first] = await offers_of(app, anne["id"], headers)
    anne_headers = await agent_headers(app, anne["id"], "fr")
    rejected = await app.client.post(
        f"/routing/v1/offers/{first['id']}/reject", headers=anne_headers
    )
    assert rejected.status_code == 200
    benoit = await create_agent(app, headers, name="Benoit", languages={"fr": 5})
    await run_engine(app, utc_now() + timedelta(seconds=1))
    [second] = await offers_of(app, benoit["id"], headers)
    benoit_headers = await agent_headers(app, benoit["id"])
    assert (
        await app.client.post(f"/routing/v1/offers/{second['id']}/accept", headers=benoit_headers)
    ).status_code == 200
    task_url = f"/routing/v1/tasks/{first['task_id']}"

    seen = await app.client.get(task_url, headers=anne_headers)
    completed = await app.client.post(f"{task_url}/complete", headers=anne_headers)

    # Anne was offered the task: she reads it, so she is told why she may not complete it.
    assert seen.status_code == 200
    assert completed.status_code == 403
    assert completed.json()["code"] == "agent.not_own"
    assert completed.json()["title"] == "Tâche d’un autre"
    assert completed.json()["detail"] == (
        "Seul l’agent à qui la tâche est attribuée peut la terminer."
    )
    after = await app.client.get(task_url, headers=headers)
    assert (after.json()["state"], after.json()["agent_id"]) == ("assigned", benoit["id"])
