"""Threading over HTTP: replies, subjects, the reopen window, forwards and auto-replies."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.inbox.models import Conversation, OutboxEvent
from shared.auth import Role
from shared.db import session_scope, utc_now
from tests.inbox.builders import email, raw_headers
from tests.support.apps import Running


@pytest.fixture
async def gateway(app: Running) -> str:
    return await app.token(Role.GATEWAY)


async def post(app: Running, token: str, raw: bytes) -> dict[str, str]:
    answer = await app.client.post(
        "/inbox/v1/inbound/email", content=raw, headers=raw_headers(token)
    )
    assert answer.status_code == 202, answer.text
    body: dict[str, str] = answer.json()
    return body


async def conversation(app: Running, conversation_id: str) -> Conversation:
    async with app.context("inbox").require_sessions()() as session:
        row = await session.get(Conversation, uuid.UUID(conversation_id))
    assert row is not None
    return row


async def needs_agent_events(app: Running) -> list[dict[str, object]]:
    async with app.context("inbox").require_sessions()() as session:
        rows = (await session.scalars(select(OutboxEvent).order_by(OutboxEvent.occurred_at))).all()
    return [row.payload for row in rows if row.type == "conversation.needs_agent"]


async def resolve(app: Running, conversation_id: str, *, days_ago: float, agent: uuid.UUID) -> None:
    """Arrange a conversation resolved some days ago by an agent (the workspace API does this)."""
    async with session_scope(app.context("inbox").require_sessions()) as session:
        row = await session.get(Conversation, uuid.UUID(conversation_id))
        assert row is not None
        row.status = "resolved"
        row.resolved_at = utc_now() - timedelta(days=days_ago)
        row.assignee_agent_id = agent
        row.routing_status = "assigned"


async def test_a_reply_with_in_reply_to_joins_the_conversation(app: Running, gateway: str) -> None:
    first = await post(app, gateway, email(message_id="<q1@exemple.ca>"))

    reply = await post(
        app,
        gateway,
        email(subject="Autre chose", in_reply_to="<q1@exemple.ca>", message_id="<q2@exemple.ca>"),
    )

    assert reply["conversation_id"] == first["conversation_id"]
    assert len(await needs_agent_events(app)) == 1


async def test_french_reply_prefixes_thread_by_subject(app: Running, gateway: str) -> None:
    first = await post(app, gateway, email(subject="Facture erronée"))

    replies = [
        await post(app, gateway, email(subject=subject))
        for subject in (
            "RE : Facture erronée",
            "Réf. : facture  erronée",
            "TR\u00a0: RE: [Ticket #4] Facture erronée",
        )
    ]
    other = await post(app, gateway, email(subject="Changement d’adresse"))

    assert {r["conversation_id"] for r in replies} == {first["conversation_id"]}
    assert other["conversation_id"] != first["conversation_id"]


async def test_a_reply_within_the_window_reopens_for_the_same_agent(
    app: Running, gateway: str
) -> None:
    agent = uuid.uuid4()
    first = await post(app, gateway, email(message_id="<r1@exemple.ca>"))
    await resolve(app, first["conversation_id"], days_ago=3, agent=agent)

    reply = await post(
        app, gateway, email(subject="RE : Facture erronée", in_reply_to="<r1@exemple.ca>")
    )

    reopened = await conversation(app, first["conversation_id"])
    events = await needs_agent_events(app)
    assert reply["conversation_id"] == first["conversation_id"]
    assert reopened.status == "open"
    assert reopened.resolved_at is None
    assert reopened.routing_status == "needs_agent"
    assert len(events) == 2
    assert events[-1]["preferred_agent_id"] == str(agent)


async def test_past_the_window_a_new_conversation_links_to_the_old(
    app: Running, gateway: str
) -> None:
    first = await post(app, gateway, email(subject="Facture erronée"))
    await resolve(app, first["conversation_id"], days_ago=10, agent=uuid.uuid4())

    later = await post(app, gateway, email(subject="RE : Facture erronée"))

    new = await conversation(app, later["conversation_id"])
    old = await conversation(app, first["conversation_id"])
    assert later["conversation_id"] != first["conversation_id"]
    assert new.previous_conversation_id == old.id
    assert old.status == "resolved"


async def test_a_forward_from_another_sender_starts_a_new_conversation(
    app: Running, gateway: str
) -> None:
    first = await post(app, gateway, email(message_id="<f1@exemple.ca>"))

    forward = await post(
        app,
        gateway,
        email(
            sender="Luc Gagnon <luc@comptable.ca>",
            subject="TR : Facture erronée",
            references="<f1@exemple.ca>",
        ),
    )

    assert forward["conversation_id"] != first["conversation_id"]
    assert forward["contact_id"] != first["contact_id"]


async def test_an_auto_reply_joins_its_thread_and_is_never_routed(
    app: Running, gateway: str
) -> None:
    first = await post(app, gateway, email(message_id="<a1@exemple.ca>"))
    out_of_office = email(
        subject="Réponse automatique : Facture erronée",
        body="Je suis absente du bureau jusqu’au 2 décembre.",
        in_reply_to="<a1@exemple.ca>",
        headers={"Auto-Submitted": "auto-replied"},
    )

    receipt = await post(app, gateway, out_of_office)

    assert receipt["status"] == "auto_reply"
    assert receipt["conversation_id"] == first["conversation_id"]
    assert len(await needs_agent_events(app)) == 1


async def test_an_auto_reply_leaves_a_resolved_conversation_resolved(
    app: Running, gateway: str
) -> None:
    """An out-of-office answering the conversation after it was resolved joins it, and changes
    nothing else: not reopened with no one to take it, still its agent's, not routed."""
    first = await post(app, gateway, email(message_id="<r1@exemple.ca>"))
    agent = uuid.uuid4()
    await resolve(app, first["conversation_id"], days_ago=1, agent=agent)
    before = await conversation(app, first["conversation_id"])
    out_of_office = email(
        subject="Absence du bureau : Facture erronée",
        body="Je suis absente du bureau jusqu’au 2 décembre.",
        in_reply_to="<r1@exemple.ca>",
        headers={"Auto-Submitted": "auto-replied"},
    )

    receipt = await post(app, gateway, out_of_office)

    after = await conversation(app, first["conversation_id"])
    assert (receipt["status"], receipt["conversation_id"]) == (
        "auto_reply",
        first["conversation_id"],
    )
    assert (after.status, after.resolved_at, after.assignee_agent_id, after.routing_status) == (
        "resolved",
        before.resolved_at,
        agent,
        "assigned",
    )
    assert len(await needs_agent_events(app)) == 1


async def test_an_auto_reply_without_a_thread_is_stored_but_not_routed(
    app: Running, gateway: str
) -> None:
    bounce = email(
        sender="MAILER-DAEMON@centre.example",
        subject="Undelivered Mail Returned to Sender",
        body="This is the mail system. I'm sorry to have to inform you...",
        headers={"Auto-Submitted": "auto-generated"},
    )

    receipt = await post(app, gateway, bounce)

    stored = await conversation(app, receipt["conversation_id"])
    assert receipt["status"] == "auto_reply"
    assert stored.routing_status == "not_routed"
    assert stored.status == "resolved"
    assert await needs_agent_events(app) == []
    async with app.context("inbox").require_sessions()() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
