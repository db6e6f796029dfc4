"""Listing conversations: filters, cursor pages, and what an agent may see."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from services.inbox.models import Conversation
from shared.auth import Role
from shared.db import session_scope, utc_now
from tests.inbox.builders import email, raw_headers
from tests.support.apps import Running

AGENT = uuid.uuid4()
QUEUE = uuid.uuid4()


@pytest.fixture
async def five(app: Running) -> list[str]:
    """Five conversations: three French, two English; the second assigned to AGENT."""
    gateway = await app.token(Role.GATEWAY)
    ids = []
    for n, (sender, body) in enumerate(
        [
            ("a@exemple.ca", "Bonjour, ma facture de novembre est erronée, merci de corriger."),
            (
                "b@exemple.ca",
                "Bonjour, je voudrais changer mon adresse de livraison s'il vous plaît.",
            ),
            ("c@example.com", "Hello, my invoice for November is wrong, please fix it for me."),
            ("d@exemple.ca", "Bonjour, mon colis n'est jamais arrivé, pouvez-vous vérifier?"),
            ("e@example.com", "Hello, I would like to close my account at the end of the month."),
        ]
    ):
        answer = await app.client.post(
            "/inbox/v1/inbound/email",
            content=email(sender=sender, subject=f"Sujet {n}", body=body),
            headers=raw_headers(gateway),
        )
        ids.append(answer.json()["conversation_id"])
    async with session_scope(app.context("inbox").require_sessions()) as session:
        assigned = await session.get(Conversation, uuid.UUID(ids[1]))
        assert assigned is not None
        assigned.assignee_agent_id, assigned.routing_status, assigned.queue_id = (
            AGENT,
            "assigned",
            QUEUE,
        )
    return ids


@pytest.fixture
async def supervisor(app: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}


async def listed(app: Running, headers: dict[str, str], **params: str) -> list[str]:
    answer = await app.client.get("/inbox/v1/conversations", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


async def test_cursor_pages_walk_every_conversation_once_newest_first(
    app: Running, five: list[str], supervisor: dict[str, str]
) -> None:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (
            await app.client.get("/inbox/v1/conversations", params=params, headers=supervisor)
        ).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert seen == list(reversed(five))


async def test_filters_narrow_the_list(
    app: Running, five: list[str], supervisor: dict[str, str]
) -> None:
    french = await listed(app, supervisor, language="fr")
    english = await listed(app, supervisor, language="en")
    in_queue = await listed(app, supervisor, queue_id=str(QUEUE))
    of_agent = await listed(app, supervisor, assignee=str(AGENT))
    future = await listed(
        app, supervisor, created_after=(utc_now() + timedelta(hours=1)).isoformat()
    )
    await app.client.post(
        f"/inbox/v1/conversations/{five[3]}/tags", json={"tags": ["colis"]}, headers=supervisor
    )
    tagged = await listed(app, supervisor, tag="COLIS")

    assert set(french) == {five[0], five[1], five[3]}
    assert set(english) == {five[2], five[4]}
    assert in_queue == of_agent == [five[1]]
    assert future == []
    assert tagged == [five[3]]


async def test_an_agent_sees_only_its_own_conversations(app: Running, five: list[str]) -> None:
    agent = {"Authorization": f"Bearer {await app.token(Role.AGENT, agent_id=AGENT)}"}

    mine = await listed(app, agent)
    me = await listed(app, agent, assignee="me")
    own = await app.client.get(f"/inbox/v1/conversations/{five[1]}", headers=agent)
    other = await app.client.get(f"/inbox/v1/conversations/{five[0]}", headers=agent)

    assert mine == me == [five[1]]
    assert own.status_code == 200
    assert other.status_code == 404
    assert other.json()["code"] == "conversation.not_found"


async def test_bad_list_parameters_are_422(
    app: Running, five: list[str], supervisor: dict[str, str]
) -> None:
    bad = [
        {"cursor": "not-a-cursor"},
        {"status": "lost"},
        {"limit": "0"},
        {"assignee": "someone"},
        {"assignee": "me"},
        # Matches the documented pattern without being a UUID.
        {"assignee": "aDE0804f11ED983fDd31B508A0c7C21B644f"},
        {"created_after": "2026-01-01T00:00:00"},
    ]
    reasons = {}
    for params in bad:
        answer = await app.client.get("/inbox/v1/conversations", params=params, headers=supervisor)
        assert answer.status_code == 422, params
        reasons[str(params)] = [error["reason"] for error in answer.json().get("errors", [])]
    french = await app.client.get(
        "/inbox/v1/conversations",
        params={"assignee": "me"},
        headers={**supervisor, "Accept-Language": "fr"},
    )

    # A supervisor is no agent: "me" names no one, and the reason says why.
    assert reasons[str({"assignee": "me"})] == [
        "Only an agent's token stands for 'me': give an agent's id."
    ]
    for value in ("someone", "aDE0804f11ED983fDd31B508A0c7C21B644f"):
        assert reasons[str({"assignee": value})] == ["Must be 'me' or an agent's id."]
    assert french.json()["errors"][0]["reason"] == (
        "Seul le jeton d’un agent désigne «\u202fme\u202f»\u202f: donnez l’identifiant d’un agent."
    )
