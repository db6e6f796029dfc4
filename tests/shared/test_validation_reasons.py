"""A refused field says why, in English and in French, at the field concerned; nothing changes."""

from __future__ import annotations

import uuid
from typing import Any

from shared.auth import Role
from tests.inbox.builders import email, raw_headers
from tests.routing.scenario import bearer
from tests.support.apps import Running

NNBSP = "\u202f"
QUEUE: dict[str, Any] = {
    "name": "Courriel — recouvrement",
    "language": "fr",
    "channels": ["email"],
    "hours": {"time_zone": "America/Toronto"},
}


def errors_of(answer: Any) -> list[dict[str, str]]:
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "request.invalid"
    errors: list[dict[str, str]] = answer.json()["errors"]
    return errors


async def queue_names(app: Running, headers: dict[str, str]) -> list[str]:
    queues = await app.client.get("/routing/v1/queues", headers=headers)
    return [queue["name"] for queue in queues.json()]


async def test_an_unknown_time_zone_is_named_as_such_and_no_queue_is_created(
    app: Running,
) -> None:
    token = await app.token(Role.ADMIN)
    before = await queue_names(app, bearer(token))
    body = {**QUEUE, "hours": {"time_zone": "Mars/Olympus"}}

    english = await app.client.post("/routing/v1/queues", json=body, headers=bearer(token))
    french = await app.client.post("/routing/v1/queues", json=body, headers=bearer(token, "fr"))

    assert errors_of(english) == [
        {
            "field": "hours.time_zone",
            "code": "time_zone_unknown",
            "reason": "Unknown time zone; use an IANA name such as America/Toronto.",
        }
    ]
    assert errors_of(french)[0]["reason"] == (
        f"Fuseau horaire inconnu{NNBSP}; indiquez un nom IANA, par exemple America/Toronto."
    )
    assert await queue_names(app, bearer(token)) == before


async def test_inconsistent_hours_and_widening_point_at_the_field_to_fix(app: Running) -> None:
    headers = bearer(await app.token(Role.ADMIN), "fr")
    before = await queue_names(app, headers)
    body = {
        **QUEUE,
        "hours": {
            "weekly": {"mon": [{"start": "23:00", "end": "02:00"}]},
            "closures": [{"day": "2027-01-04", "start": "13:00", "end": "12:00"}],
        },
        "widening": [
            {"after_seconds": 60, "kind": "other_language", "channels": ["phone"]},
            {"after_seconds": 60, "kind": "bilingual"},
            {"after_seconds": 60, "kind": "drop_skill"},
            {"after_seconds": 60, "kind": "bilingual", "min_level": 3, "skill": "billing"},
        ],
    }

    answer = await app.client.post("/routing/v1/queues", json=body, headers=headers)

    assert {(e["field"], e["code"], e["reason"]) for e in errors_of(answer)} == {
        (
            "hours.weekly.mon.0.end",
            "interval_order",
            f"Se termine avant son début{NNBSP}; pour un intervalle qui dépasse minuit, "
            "réglez overnight à true.",
        ),
        ("hours.closures.0.end", "closure_order", "La fermeture se termine avant son début."),
        (
            "widening.0.channels",
            "widening_phone_translation",
            f"Les appels ne passent jamais par la traduction automatique{NNBSP}; retirez phone.",
        ),
        (
            "widening.1.min_level",
            "widening_min_level_missing",
            "Obligatoire pour les étapes bilingual et lower_skill_level.",
        ),
        (
            "widening.2.skill",
            "widening_skill_missing",
            "Une étape drop_skill doit nommer sa compétence.",
        ),
        (
            "widening.3.skill",
            "widening_skill_refused",
            "Ce type d’étape ne prend pas de compétence.",
        ),
    }
    assert await queue_names(app, headers) == before


async def test_a_bad_skill_name_is_reported_at_its_key(app: Running) -> None:
    headers = bearer(await app.token(Role.ADMIN))

    answer = await app.client.post(
        "/routing/v1/queues", json={**QUEUE, "required_skills": {"Billing": 2}}, headers=headers
    )

    [error] = errors_of(answer)
    assert (error["field"], error["code"]) == ("required_skills.Billing", "string_pattern_mismatch")
    assert "Billing" not in await queue_names(app, headers)


async def test_an_agent_token_without_its_agent_says_so_and_no_token_is_made(app: Running) -> None:
    token = await app.token(Role.ADMIN)
    before = (await app.client.get("/inbox/v1/tokens", headers=bearer(token))).json()

    english = await app.client.post(
        "/inbox/v1/tokens", json={"role": "agent", "name": "Chloé"}, headers=bearer(token)
    )
    french = await app.client.post(
        "/inbox/v1/tokens",
        json={"role": "gateway", "name": "Postfix", "agent_id": str(uuid.uuid4())},
        headers=bearer(token, "fr"),
    )
    after = (await app.client.get("/inbox/v1/tokens", headers=bearer(token))).json()

    assert errors_of(english) == [
        {
            "field": "agent_id",
            "code": "agent_id_required",
            "reason": "Required for a token with the agent role.",
        }
    ]
    assert errors_of(french) == [
        {
            "field": "agent_id",
            "code": "agent_id_refused",
            "reason": "Seul un jeton au rôle agent est lié à un agent.",
        }
    ]
    assert after == before


async def test_allowed_values_are_listed_in_the_clients_language(app: Running) -> None:
    token = await app.token(Role.ADMIN)
    body = {"role": "boss", "name": "x"}

    english = await app.client.post("/inbox/v1/tokens", json=body, headers=bearer(token))
    french = await app.client.post("/inbox/v1/tokens", json=body, headers=bearer(token, "fr"))

    assert errors_of(english)[0]["reason"] == (
        "Must be one of: 'admin', 'supervisor', 'agent', or 'gateway'."
    )
    assert errors_of(french)[0]["reason"] == (
        f"Doit être l’une des valeurs suivantes{NNBSP}: «{NNBSP}admin{NNBSP}», "
        f"«{NNBSP}supervisor{NNBSP}», «{NNBSP}agent{NNBSP}» ou «{NNBSP}gateway{NNBSP}»."
    )


async def test_a_body_that_is_not_json_is_reported_on_the_body(app: Running) -> None:
    token = await app.token(Role.ADMIN)

    answer = await app.client.post(
        "/inbox/v1/tokens",
        content=b"not json",
        headers={**bearer(token), "Content-Type": "application/json"},
    )

    [error] = errors_of(answer)
    assert (error["field"], error["code"]) == ("body", "json_invalid")
    assert error["reason"] == "The body is not valid JSON."


async def test_a_transfer_names_its_one_target_and_bad_tags_are_pointed_at(app: Running) -> None:
    gateway = await app.token(Role.GATEWAY)
    received = await app.client.post(
        "/inbox/v1/inbound/email", content=email(), headers=raw_headers(gateway)
    )
    url = f"/inbox/v1/conversations/{received.json()['conversation_id']}"
    supervisor = await app.token(Role.SUPERVISOR)
    before = (await app.client.get(url, headers=bearer(supervisor))).json()
    both = {"to_queue_id": str(uuid.uuid4()), "to_agent_id": str(uuid.uuid4())}

    twice = await app.client.post(f"{url}/transfer", json=both, headers=bearer(supervisor, "fr"))
    neither = await app.client.post(f"{url}/transfer", json={}, headers=bearer(supervisor))
    tags = await app.client.post(
        f"{url}/tags", json={"tags": ["facturation", "hausse de prix"]}, headers=bearer(supervisor)
    )
    after = (await app.client.get(url, headers=bearer(supervisor))).json()
    tagged = await app.client.get(
        "/inbox/v1/conversations", params={"tag": "facturation"}, headers=bearer(supervisor)
    )

    assert errors_of(twice) == [
        {
            "field": "to_agent_id",
            "code": "transfer_target_twice",
            "reason": "Indiquez to_queue_id ou to_agent_id, pas les deux.",
        }
    ]
    assert errors_of(neither) == [
        {
            "field": "to_queue_id",
            "code": "transfer_target_missing",
            "reason": "Give to_queue_id or to_agent_id.",
        }
    ]
    assert errors_of(tags) == [
        {
            "field": "tags.1",
            "code": "tag_format",
            "reason": "Each tag is 1 to 64 characters long, without spaces.",
        }
    ]
    assert after == before
    assert tagged.status_code == 200
    assert tagged.json()["items"] == []
