"""The agents' workspace over HTTP: each action recorded, conflicts refused, roles enforced."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.inbox.models import Conversation, Message, Note, OutboxEvent, TimelineEntry
from services.inbox.workspace.service import wake_snoozed
from shared.auth import Role
from shared.db import session_scope, utc_now
from tests.inbox.builders import email, raw_headers
from tests.routing.scenario import admin, create_agent
from tests.support.apps import Running, routing_unreachable

AGENT = uuid.uuid4()
NNBSP = "\u202f"


@pytest.fixture
async def conversation_id(app: Running) -> str:
    gateway = await app.token(Role.GATEWAY)
    answer = await app.client.post(
        "/inbox/v1/inbound/email", content=email(), headers=raw_headers(gateway)
    )
    conversation_id: str = answer.json()["conversation_id"]
    async with session_scope(app.context("inbox").require_sessions()) as session:
        row = await session.get(Conversation, uuid.UUID(conversation_id))
        assert row is not None
        row.assignee_agent_id = AGENT
        row.routing_status = "assigned"
    return conversation_id


@pytest.fixture
async def agent(app: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(Role.AGENT, agent_id=AGENT, name='Chloé')}"}


async def events(app: Running) -> list[tuple[str, dict[str, Any]]]:
    async with app.context("inbox").require_sessions()() as session:
        rows = (await session.scalars(select(OutboxEvent).order_by(OutboxEvent.occurred_at))).all()
    return [(row.type, row.payload) for row in rows if row.type != "conversation.needs_agent"]


async def state(app: Running, conversation_id: str) -> Conversation:
    async with app.context("inbox").require_sessions()() as session:
        row = await session.get(Conversation, uuid.UUID(conversation_id))
    assert row is not None
    return row


async def test_a_note_is_recorded_with_its_author_and_never_sent(
    app: Running, conversation_id: str, agent: dict[str, str]
) -> None:
    url = f"/inbox/v1/conversations/{conversation_id}"

    created = await app.client.post(
        f"{url}/notes", json={"body": "Client très mécontent."}, headers=agent
    )
    notes = await app.client.get(f"{url}/notes", headers=agent)
    timeline = await app.client.get(f"{url}/timeline", headers=agent)

    assert created.status_code == 201
    assert created.json()["author_name"] == "Chloé"
    assert [n["body"] for n in notes.json()] == ["Client très mécontent."]
    [entry] = timeline.json()
    assert entry["kind"] == "note_added"
    assert entry["actor_agent_id"] == str(AGENT)
    assert await events(app) == []
    async with app.context("inbox").require_sessions()() as session:
        outbound = await session.scalar(select(Message).where(Message.direction == "outbound"))
    assert outbound is None


@pytest.mark.parametrize(
    "body", ["   ", "\n\t", "\u200b\ufeff"], ids=["spaces", "breaks", "invisible"]
)
async def test_a_note_that_says_nothing_is_refused_and_nothing_is_recorded(
    app: Running, conversation_id: str, agent: dict[str, str], body: str
) -> None:
    url = f"/inbox/v1/conversations/{conversation_id}"

    refused = await app.client.post(
        f"{url}/notes", json={"body": body}, headers=agent | {"Accept-Language": "fr-CA"}
    )

    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert (error["field"], error["code"]) == ("body", "blank")
    assert error["reason"] == (
        "Doit dire quelque chose\u202f: pas seulement des espaces ou des sauts de ligne."
    )
    assert (await app.client.get(f"{url}/notes", headers=agent)).json() == []
    assert (await app.client.get(f"{url}/timeline", headers=agent)).json() == []


async def test_tags_are_added_once_removed_and_bad_ones_refused(
    app: Running, conversation_id: str, agent: dict[str, str]
) -> None:
    url = f"/inbox/v1/conversations/{conversation_id}/tags"

    first = await app.client.post(url, json={"tags": ["Facturation", "urgent"]}, headers=agent)
    again = await app.client.post(url, json={"tags": ["urgent"]}, headers=agent)
    bad = await app.client.post(url, json={"tags": ["deux mots"]}, headers=agent)
    removed = await app.client.delete(f"{url}/urgent", headers=agent)

    assert first.json() == {"tags": ["facturation", "urgent"]}
    assert again.json() == {"tags": ["facturation", "urgent"]}
    assert bad.status_code == 422
    assert removed.json() == {"tags": ["facturation"]}


async def test_dispositions_are_bilingual_and_unknown_codes_refused(
    app: Running, conversation_id: str, agent: dict[str, str]
) -> None:
    url = f"/inbox/v1/conversations/{conversation_id}/disposition"

    french = await app.client.get(
        "/inbox/v1/dispositions", headers={**agent, "Accept-Language": "fr"}
    )
    unknown = await app.client.put(url, json={"code": "made_up"}, headers=agent)
    after_unknown = await state(app, conversation_id)
    chosen = await app.client.put(url, json={"code": "billing_adjusted"}, headers=agent)

    labels = {d["code"]: d["label"] for d in french.json()}
    assert labels["billing_adjusted"] == "Facturation corrigée"
    assert labels["spam"] == "Pourriel"
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "disposition.unknown"
    assert unknown.json()["title"] == "Unknown wrap-up code"
    assert unknown.json()["detail"] == "made_up is not an active wrap-up code."
    assert after_unknown.disposition_code is None
    assert chosen.status_code == 200
    assert (await state(app, conversation_id)).disposition_code == "billing_adjusted"


async def test_resolving_completes_the_routing_task_and_closing_is_final(
    app: Running, conversation_id: str, agent: dict[str, str]
) -> None:
    url = f"/inbox/v1/conversations/{conversation_id}"

    resolved = await app.client.post(
        f"{url}/resolve",
        json={"disposition": "resolved_first_contact", "note": "Réglé."},
        headers=agent,
    )
    closed = await app.client.post(f"{url}/status", json={"status": "closed"}, headers=agent)
    version = (await state(app, conversation_id)).version
    refused = await app.client.post(
        f"{url}/notes", json={"body": "Encore?"}, headers={**agent, "Accept-Language": "fr"}
    )
    administrator = {"Authorization": f"Bearer {await app.token(Role.ADMIN)}"}
    reopen = await app.client.post(f"{url}/status", json={"status": "open"}, headers=administrator)

    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved"
    assert closed.json()["status"] == "closed"
    assert refused.status_code == 409
    assert refused.json()["code"] == "conversation.closed"
    assert refused.json()["title"] == "Conversation fermée"
    assert refused.json()["detail"] == (
        f"La conversation {conversation_id} est fermée définitivement{NNBSP}: elle ne peut "
        "être ni rouverte ni modifiée. Le prochain courriel du client ouvrira une nouvelle "
        "conversation, liée à celle-ci."
    )
    # Final even for an admin, and the answer says so instead of "reopen it first".
    assert reopen.status_code == 409
    assert reopen.json()["detail"] == (
        f"Conversation {conversation_id} is closed for good: it cannot be reopened or changed. "
        "The customer's next email opens a new conversation, linked to this one."
    )
    after = await state(app, conversation_id)
    assert (after.status, after.version) == ("closed", version)
    [(kind, payload)] = await events(app)
    assert kind == "conversation.resolved"
    assert payload["resolved_by_agent_id"] == str(AGENT)


async def test_snoozing_needs_a_future_time_and_wakes_up(
    app: Running, conversation_id: str, agent: dict[str, str]
) -> None:
    url = f"/inbox/v1/conversations/{conversation_id}/status"
    until = utc_now() + timedelta(hours=2)
    version = (await state(app, conversation_id)).version

    past = await app.client.post(
        url,
        json={"status": "snoozed", "snoozed_until": "2020-01-01T00:00:00Z"},
        headers={**agent, "Accept-Language": "fr"},
    )
    missing = await app.client.post(url, json={"status": "snoozed"}, headers=agent)
    refused = await state(app, conversation_id)
    snoozed = await app.client.post(
        url, json={"status": "snoozed", "snoozed_until": until.isoformat()}, headers=agent
    )
    async with session_scope(app.context("inbox").require_sessions()) as session:
        early = await wake_snoozed(session, now=until - timedelta(minutes=1))
        woken = await wake_snoozed(session, now=until + timedelta(seconds=1))

    assert (past.status_code, missing.status_code) == (422, 422)
    # Nothing is wrong with the conversation's status: the date is.
    assert past.json()["code"] == missing.json()["code"] == "request.invalid"
    assert past.json()["errors"] == [
        {"field": "snoozed_until", "code": "datetime_future", "reason": "Doit être dans le futur."}
    ]
    assert missing.json()["errors"] == [
        {
            "field": "snoozed_until",
            "code": "missing",
            "reason": "Required to snooze the conversation.",
        }
    ]
    assert (refused.status, refused.version, refused.snoozed_until) == ("open", version, None)
    assert snoozed.json()["status"] == "snoozed"
    assert (early, woken) == (0, 1)
    assert (await state(app, conversation_id)).status == "open"


async def test_a_stale_if_match_is_409_with_the_current_state(
    app: Running, conversation_id: str, agent: dict[str, str]
) -> None:
    url = f"/inbox/v1/conversations/{conversation_id}"
    read = await app.client.get(url, headers=agent)
    etag = read.headers["etag"]

    first = await app.client.post(
        f"{url}/notes", json={"body": "A"}, headers={**agent, "If-Match": etag}
    )
    stale = await app.client.post(
        f"{url}/notes", json={"body": "B"}, headers={**agent, "If-Match": etag}
    )
    fresh = await app.client.post(
        f"{url}/status",
        json={"status": "pending"},
        headers={**agent, "If-Match": f'"{int(etag.strip(chr(34))) + 1}"'},
    )

    assert first.status_code == 201
    assert stale.status_code == 409
    assert stale.json()["code"] == "conversation.changed"
    assert stale.json()["current"]["version"] == int(etag.strip('"')) + 1
    assert fresh.status_code == 200
    assert fresh.headers["etag"] == f'"{int(etag.strip(chr(34))) + 2}"'
    notes = await app.client.get(f"{url}/notes", headers=agent)
    assert [n["body"] for n in notes.json()] == ["A"]


async def a_queue(app: Running) -> str:
    """The id of one of routing's queues."""
    queues = await app.client.get("/routing/v1/queues", headers=await admin(app))
    return str(queues.json()[0]["id"])


async def tier_two(app: Running) -> None:
    """A queue of tier 2 that takes French email: escalations have somewhere to go."""
    created = await app.client.post(
        "/routing/v1/queues",
        json={"name": "Niveau 2", "language": "fr", "channels": ["email"], "tiers": [2]},
        headers=await admin(app),
    )
    assert created.status_code == 201, created.text


async def test_transfer_and_escalation_requeue_with_their_notes(
    app: Running, conversation_id: str, agent: dict[str, str]
) -> None:
    url = f"/inbox/v1/conversations/{conversation_id}"
    queue = await a_queue(app)
    await tier_two(app)

    no_target = await app.client.post(f"{url}/transfer", json={"note": "?"}, headers=agent)
    moved = await app.client.post(
        f"{url}/transfer",
        json={"to_queue_id": str(queue), "note": "Pour la facturation"},
        headers=agent,
    )
    supervisor = {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}
    escalated = await app.client.post(
        f"{url}/escalate", json={"reason": "Litige complexe"}, headers=supervisor
    )

    assert no_target.status_code == 422
    assert moved.json()["routing_status"] == "needs_agent"
    assert moved.json()["assignee_agent_id"] is None
    assert escalated.status_code == 200
    kinds = [
        (kind, payload.get("to_queue_id"), payload.get("tier"))
        for kind, payload in await events(app)
    ]
    assert kinds == [
        ("conversation.transferred", str(queue), None),
        ("conversation.escalated", None, 2),
    ]
    notes = await app.client.get(f"{url}/notes", headers=supervisor)
    assert [n["body"] for n in notes.json()] == ["Pour la facturation", "Litige complexe"]


async def test_callbacks_need_a_future_time_and_a_number(
    app: Running, conversation_id: str, agent: dict[str, str]
) -> None:
    url = f"/inbox/v1/conversations/{conversation_id}/callbacks"
    later = (utc_now() + timedelta(days=1)).isoformat()
    version = (await state(app, conversation_id)).version

    no_number = await app.client.post(url, json={"due_at": later}, headers=agent)
    past = await app.client.post(
        url,
        json={"due_at": "2020-01-01T10:00:00-05:00", "phone": "514-555-0123", "note": "x"},
        headers={**agent, "Accept-Language": "fr"},
    )
    past_english = await app.client.post(
        url, json={"due_at": "2020-01-01T10:00:00-05:00", "phone": "514-555-0123"}, headers=agent
    )
    after_past = await state(app, conversation_id)
    bad_number = await app.client.post(url, json={"due_at": later, "phone": "abc"}, headers=agent)
    bad_number_french = await app.client.post(
        url, json={"due_at": later, "phone": "555"}, headers={**agent, "Accept-Language": "fr"}
    )
    scheduled = await app.client.post(
        url, json={"due_at": later, "phone": "514-555-0123"}, headers=agent
    )

    assert no_number.status_code == 409
    assert no_number.json()["code"] == "callback.no_phone"
    assert (past.status_code, bad_number.status_code) == (422, 422)
    assert past.json()["code"] == "request.invalid"
    assert past.json()["errors"] == [
        {"field": "due_at", "code": "datetime_future", "reason": "Doit être dans le futur."}
    ]
    assert past_english.json()["errors"][0]["reason"] == "Must be in the future."
    assert [bad_number.json()["errors"], bad_number_french.json()["errors"]] == [
        [{"field": "phone", "code": "phone_number", "reason": "Not a phone number."}],
        [
            {
                "field": "phone",
                "code": "phone_number",
                "reason": "Ce n’est pas un numéro de téléphone valide.",
            }
        ],
    ]
    assert after_past.version == version
    assert scheduled.status_code == 202
    assert scheduled.json()["phone"] == "+15145550123"
    [(kind, payload)] = await events(app)
    assert kind == "callback.requested"
    assert payload["phone"] == "+15145550123"


async def timeline_and_notes(app: Running, conversation_id: str) -> tuple[int, int]:
    async with app.context("inbox").require_sessions()() as session:
        entries = await session.scalars(
            select(TimelineEntry).where(TimelineEntry.conversation_id == uuid.UUID(conversation_id))
        )
        notes = await session.scalars(
            select(Note).where(Note.conversation_id == uuid.UUID(conversation_id))
        )
        return len(entries.all()), len(notes.all())


async def test_a_transfer_to_an_agent_routing_does_not_know_is_refused_and_changes_nothing(
    app: Running, conversation_id: str, agent: dict[str, str]
) -> None:
    url = f"/inbox/v1/conversations/{conversation_id}/transfer"
    before = await state(app, conversation_id)
    nobody = uuid.uuid4()

    refused = await app.client.post(
        url,
        json={"to_agent_id": str(nobody), "note": "Pour Paul"},
        headers={**agent, "Accept-Language": "fr"},
    )
    after = await state(app, conversation_id)
    recorded = await timeline_and_notes(app, conversation_id)
    paul = await create_agent(app, await admin(app), name="Paul", languages={"fr": 5})
    moved = await app.client.post(url, json={"to_agent_id": paul["id"]}, headers=agent)

    assert refused.status_code == 422
    assert refused.json()["code"] == "transfer.agent_not_found"
    assert refused.json()["title"] == "Agent introuvable"
    assert refused.json()["detail"] == (
        f"Il n’existe aucun agent {nobody} à qui transférer{NNBSP}; rien n’a été modifié."
    )
    assert refused.json()["errors"] == [
        {
            "field": "to_agent_id",
            "code": "agent_not_found",
            "reason": "Aucun agent n’a cet identifiant.",
        }
    ]
    assert (after.assignee_agent_id, after.routing_status, after.version) == (
        AGENT,
        "assigned",
        before.version,
    )
    assert recorded == (0, 0)
    assert moved.status_code == 200
    assert moved.json()["routing_status"] == "needs_agent"
    [(kind, payload)] = await events(app)
    assert (kind, payload["to_agent_id"]) == ("conversation.transferred", paul["id"])


@pytest.mark.parametrize("action", ["transfer", "escalate"])
async def test_a_queue_routing_does_not_know_is_refused_and_changes_nothing(
    app: Running, conversation_id: str, agent: dict[str, str], action: str
) -> None:
    url = f"/inbox/v1/conversations/{conversation_id}/{action}"
    body = {"note": "Pour la facturation"} if action == "transfer" else {"reason": "Litige"}
    before = await state(app, conversation_id)
    nowhere = uuid.uuid4()

    refused = await app.client.post(
        url, json={**body, "to_queue_id": str(nowhere)}, headers={**agent, "Accept-Language": "fr"}
    )
    refused_english = await app.client.post(
        url, json={**body, "to_queue_id": str(nowhere)}, headers=agent
    )
    after = await state(app, conversation_id)
    recorded = await timeline_and_notes(app, conversation_id)
    queues = await app.client.get("/routing/v1/queues", headers=await admin(app))
    billing = next(queue["id"] for queue in queues.json() if queue["language"] == "fr")
    moved = await app.client.post(url, json={**body, "to_queue_id": billing}, headers=agent)

    assert (refused.status_code, refused_english.status_code) == (422, 422)
    assert refused.json()["code"] == "transfer.queue_not_found"
    assert refused.json()["title"] == "File d’attente introuvable"
    assert refused.json()["detail"] == (
        f"Il n’existe aucune file d’attente {nowhere} où envoyer cette conversation{NNBSP}; "
        "rien n’a été modifié."
    )
    assert refused.json()["errors"] == [
        {
            "field": "to_queue_id",
            "code": "queue_not_found",
            "reason": "Aucune file d’attente n’a cet identifiant.",
        }
    ]
    assert refused_english.json()["errors"][0]["reason"] == "No queue has this id."
    assert (after.assignee_agent_id, after.routing_status, after.version) == (
        AGENT,
        "assigned",
        before.version,
    )
    assert recorded == (0, 0)
    assert moved.status_code == 200, moved.text
    assert moved.json()["routing_status"] == "needs_agent"
    [(kind, payload)] = await events(app)
    assert kind == f"conversation.{'transferred' if action == 'transfer' else 'escalated'}"
    assert payload["to_queue_id"] == billing


async def test_while_routing_is_down_a_transfer_to_an_agent_is_503_and_changes_nothing(
    app: Running, conversation_id: str, agent: dict[str, str]
) -> None:
    paul = await create_agent(app, await admin(app), name="Paul", languages={"fr": 5})
    before = await state(app, conversation_id)
    async with routing_unreachable(app):
        refused = await app.client.post(
            f"/inbox/v1/conversations/{conversation_id}/transfer",
            json={"to_agent_id": paul["id"], "note": "Pour Paul"},
            headers=agent,
        )

    assert refused.status_code == 503
    assert refused.json()["code"] == "peer.unavailable"
    assert int(refused.headers["Retry-After"]) > 0
    after = await state(app, conversation_id)
    assert (after.assignee_agent_id, after.version) == (AGENT, before.version)
    assert await timeline_and_notes(app, conversation_id) == (0, 0)
    assert await events(app) == []


async def test_escalating_a_snoozed_conversation_wakes_it(
    app: Running, conversation_id: str, agent: dict[str, str]
) -> None:
    url = f"/inbox/v1/conversations/{conversation_id}"
    until = utc_now() + timedelta(hours=2)
    await tier_two(app)
    snoozed = await app.client.post(
        f"{url}/status",
        json={"status": "snoozed", "snoozed_until": until.isoformat()},
        headers=agent,
    )

    escalated = await app.client.post(
        f"{url}/escalate", json={"reason": "Litige complexe"}, headers=agent
    )
    async with session_scope(app.context("inbox").require_sessions()) as session:
        woken_later = await wake_snoozed(session, now=until + timedelta(seconds=1))
    supervisor = {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}
    timeline = await app.client.get(f"{url}/timeline", headers=supervisor)

    assert snoozed.json()["status"] == "snoozed"
    assert escalated.status_code == 200
    assert (escalated.json()["status"], escalated.json()["routing_status"]) == (
        "open",
        "needs_agent",
    )
    assert (await state(app, conversation_id)).snoozed_until is None
    assert woken_later == 0
    [entry] = [e for e in timeline.json() if e["kind"] == "escalated"]
    assert entry["data"]["status"] == {"from": "snoozed", "to": "open"}


async def test_transferring_a_resolved_conversation_reopens_it(
    app: Running, conversation_id: str, agent: dict[str, str]
) -> None:
    url = f"/inbox/v1/conversations/{conversation_id}"
    resolved = await app.client.post(f"{url}/resolve", json={}, headers=agent)

    moved = await app.client.post(
        f"{url}/transfer", json={"to_queue_id": await a_queue(app)}, headers=agent
    )

    assert resolved.json()["status"] == "resolved"
    assert moved.status_code == 200
    assert (moved.json()["status"], moved.json()["routing_status"]) == ("open", "needs_agent")
    assert moved.json()["resolved_at"] is None


ACTIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("post", "notes", {"body": "x"}),
    ("post", "tags", {"tags": ["a"]}),
    ("delete", "tags/a", {}),
    ("put", "disposition", {"code": "spam"}),
    ("post", "status", {"status": "pending"}),
    ("post", "resolve", {}),
    ("post", "transfer", {"to_queue_id": "a queue"}),
    ("post", "escalate", {"reason": "x", "to_queue_id": "a queue"}),
    ("post", "callbacks", {"due_at": "2099-01-01T00:00:00Z", "phone": "+15145550123"}),
    ("post", "replies", {"text": "Bonjour."}),
]


@pytest.mark.parametrize(("method", "path", "body"), ACTIONS, ids=[a[1] for a in ACTIONS])
async def test_only_the_assigned_agent_a_supervisor_or_an_admin_may_act(
    app: Running, conversation_id: str, method: str, path: str, body: dict[str, Any]
) -> None:
    url = f"/inbox/v1/conversations/{conversation_id}/{path}"
    if body.get("to_queue_id") == "a queue":
        body = {**body, "to_queue_id": await a_queue(app)}

    async def call(headers: dict[str, str]) -> int:
        kwargs: dict[str, Any] = {"headers": headers}
        if method != "delete":
            kwargs["json"] = body
        response = await getattr(app.client, method)(url, **kwargs)
        return int(response.status_code)

    if path == "tags/a":
        supervisor = {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}
        added = await app.client.post(
            f"/inbox/v1/conversations/{conversation_id}/tags",
            json={"tags": ["a"]},
            headers=supervisor,
        )
        assert added.status_code == 200
    anonymous = await call({})
    gateway = await call({"Authorization": f"Bearer {await app.token(Role.GATEWAY)}"})
    other = await call(
        {"Authorization": f"Bearer {await app.token(Role.AGENT, agent_id=uuid.uuid4())}"}
    )
    version_before = (await state(app, conversation_id)).version
    owner = await call({"Authorization": f"Bearer {await app.token(Role.AGENT, agent_id=AGENT)}"})

    assert (anonymous, gateway) == (401, 403)
    # Hidden from other agents as if it did not exist.
    assert other == 404
    assert owner in (200, 201, 202)
    assert (await state(app, conversation_id)).version > version_before
