"""Who sees what: an agent its own conversations and those waiting in the queues it serves."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from services.inbox.models import Conversation, Note
from shared.auth import Role
from shared.db import session_scope
from tests.inbox.builders import email, raw_headers
from tests.routing.scenario import admin, create_agent, offers_of, run_engine
from tests.support.apps import Running, routing_unreachable, running_all_in_one

ENGLISH = "Hello, my invoice for November is wrong, I was charged twice. Please fix it."
FRENCH = "Bonjour, ma facture de novembre est erronée, on me facture deux fois. Merci."


@dataclass
class Desk:
    """Two agents speaking English only, and an English and a French email waiting."""

    john: str
    emma: str
    english: str
    french: str


async def bearer(app: Running, role: Role, agent_id: str | None = None) -> dict[str, str]:
    token = await app.token(role, agent_id=uuid.UUID(agent_id) if agent_id else None)
    return {"Authorization": f"Bearer {token}", "Accept-Language": "fr"}


async def receive(app: Running, sender: str, body: str, subject: str) -> str:
    answer = await app.client.post(
        "/inbox/v1/inbound/email",
        content=email(sender=sender, subject=subject, body=body),
        headers=raw_headers(await app.token(Role.GATEWAY)),
    )
    assert answer.status_code in (200, 201, 202), answer.text
    conversation_id: str = answer.json()["conversation_id"]
    return conversation_id


async def deliver(app: Running) -> None:
    """Inbox events to routing, then routing's answers (queued, assigned) back to the inbox."""
    await app.relay("inbox").run_once()
    await app.relay("routing").run_once()


async def set_up(app: Running) -> Desk:
    headers = await admin(app)
    # Offline: what an agent sees does not depend on its presence.
    john = await create_agent(app, headers, name="John", languages={"en": 5}, status="offline")
    emma = await create_agent(app, headers, name="Emma", languages={"en": 5}, status="offline")
    english = await receive(app, "c@example.com", ENGLISH, "Invoice")
    french = await receive(app, "d@exemple.ca", FRENCH, "Facture")
    await deliver(app)
    return Desk(john=john["id"], emma=emma["id"], english=english, french=french)


@pytest.fixture
async def desk(app: Running) -> Desk:
    return await set_up(app)


async def listed(app: Running, headers: dict[str, str], **params: str) -> list[str]:
    answer = await app.client.get("/inbox/v1/conversations", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


async def read(app: Running, conversation_id: str, headers: dict[str, str]) -> Any:
    return await app.client.get(f"/inbox/v1/conversations/{conversation_id}", headers=headers)


async def assign(app: Running, conversation_id: str, agent_id: str) -> None:
    async with session_scope(app.context("inbox").require_sessions()) as session:
        row = await session.get(Conversation, uuid.UUID(conversation_id))
        assert row is not None
        row.assignee_agent_id, row.routing_status = uuid.UUID(agent_id), "assigned"


async def test_the_emails_wait_in_the_english_and_french_email_queues(
    app: Running, desk: Desk
) -> None:
    supervisor = await bearer(app, Role.SUPERVISOR)

    english = (await read(app, desk.english, supervisor)).json()
    french = (await read(app, desk.french, supervisor)).json()

    assert (english["language"], english["routing_status"]) == ("en", "queued")
    assert english["queue_name"] == "Email — English"
    assert (french["language"], french["routing_status"]) == ("fr", "queued")
    assert french["queue_name"] == "Courriel — français"
    assert english["assignee_agent_id"] is french["assignee_agent_id"] is None


async def test_an_english_agent_sees_the_english_email_waiting_but_not_the_french_one(
    app: Running, desk: Desk
) -> None:
    john = await bearer(app, Role.AGENT, desk.john)
    url = f"/inbox/v1/conversations/{desk.french}"
    version = (await read(app, desk.french, await bearer(app, Role.SUPERVISOR))).json()["version"]

    mine = await listed(app, john)
    english = await read(app, desk.english, john)
    french = await read(app, desk.french, john)
    nowhere = await read(app, str(uuid.uuid4()), john)
    note = await app.client.post(
        f"/inbox/v1/conversations/{desk.english}/notes",
        json={"body": "Je m’en occupe."},
        headers=john,
    )
    hidden_note = await app.client.post(f"{url}/notes", json={"body": "Vu."}, headers=john)
    hidden_tags = await app.client.post(f"{url}/tags", json={"tags": ["vu"]}, headers=john)
    hidden_notes = await app.client.get(f"{url}/notes", headers=john)
    hidden_timeline = await app.client.get(f"{url}/timeline", headers=john)
    hidden_stale = await app.client.post(
        f"{url}/status", json={"status": "pending"}, headers={**john, "If-Match": '"99"'}
    )

    assert mine == [desk.english]
    assert english.status_code == 200
    assert english.json()["id"] == desk.english
    assert note.status_code == 201
    # The French email answers exactly like one that does not exist: nothing leaks.
    for hidden in (french, hidden_note, hidden_tags, hidden_notes, hidden_timeline, hidden_stale):
        assert hidden.status_code == 404
        assert hidden.json()["code"] == nowhere.json()["code"] == "conversation.not_found"
        assert hidden.json()["title"] == nowhere.json()["title"] == "Conversation introuvable"
        assert "version" not in hidden.text
    async with app.context("inbox").require_sessions()() as session:
        row = await session.get(Conversation, uuid.UUID(desk.french))
        notes = (await session.scalars(select(Note))).all()
    assert row is not None
    assert (row.version, row.status) == (version, "open")
    assert len(notes) == 1


async def test_once_another_agent_accepts_it_the_email_is_no_longer_seen(
    app: Running, desk: Desk
) -> None:
    john = await bearer(app, Role.AGENT, desk.john)
    emma = await bearer(app, Role.AGENT, desk.emma)
    before = await listed(app, john)
    await app.client.put(
        f"/routing/v1/agents/{desk.emma}/status", json={"status": "available"}, headers=emma
    )
    await run_engine(app)
    [offer] = await offers_of(app, desk.emma, emma)
    accepted = await app.client.post(f"/routing/v1/offers/{offer['id']}/accept", headers=emma)
    await deliver(app)

    after = await listed(app, john)
    johns_own = await listed(app, john, assignee="me")
    read_by_john = await read(app, desk.english, john)
    emmas = await listed(app, emma)
    emmas_own = await listed(app, emma, assignee="me")
    read_by_emma = await read(app, desk.english, emma)

    assert before == [desk.english]
    assert accepted.status_code == 200, accepted.text
    assert after == johns_own == []
    assert read_by_john.status_code == 404
    assert emmas == emmas_own == [desk.english]
    assert read_by_emma.status_code == 200
    assert read_by_emma.json()["assignee_agent_id"] == desk.emma


async def test_supervisors_and_admins_see_every_conversation(app: Running, desk: Desk) -> None:
    unrouted = await receive(app, "e@example.com", ENGLISH, "Not yet routed")
    john = await bearer(app, Role.AGENT, desk.john)

    for role in (Role.SUPERVISOR, Role.ADMIN):
        headers = await bearer(app, role)
        assert set(await listed(app, headers)) == {desk.english, desk.french, unrouted}
        assert (await read(app, desk.french, headers)).status_code == 200
    # Not yet in a queue: no agent sees it until routing says where it waits.
    assert unrouted not in await listed(app, john)
    assert (await read(app, unrouted, john)).status_code == 404


@pytest.fixture
async def uncached(db_url: str, tmp_path: Path) -> AsyncIterator[Running]:
    """The app with routing's answers never reused while fresh, as if each were the first."""
    async with running_all_in_one(
        db_url, tmp_path / "data", agent_queues_cache_seconds=0
    ) as running:
        yield running


async def test_while_routing_is_down_agents_keep_their_own_conversations(
    uncached: Running,
) -> None:
    app = uncached
    desk = await set_up(app)
    own = await receive(app, "f@example.com", ENGLISH, "Account")
    await assign(app, own, desk.emma)
    await assign(app, desk.french, desk.john)
    john, emma = await bearer(app, Role.AGENT, desk.john), await bearer(app, Role.AGENT, desk.emma)
    assert set(await listed(app, john)) == {desk.english, desk.french}
    async with routing_unreachable(app):
        emmas = await listed(app, emma)
        johns = await listed(app, john)
        waiting = await read(app, desk.english, emma)
        note = await app.client.post(
            f"/inbox/v1/conversations/{desk.english}/notes", json={"body": "x"}, headers=emma
        )
        assigned = await read(app, own, emma)
        johns_conversation = await read(app, desk.french, emma)
    emmas_after = await listed(app, emma)

    # Emma never had an answer: her own conversation only, and the list does not fail.
    assert emmas == [own]
    # John's last answer stands in for a while.
    assert set(johns) == {desk.english, desk.french}
    # Waiting in a queue she may serve: unknown until routing answers, so 503, not 404.
    for unknown in (waiting, note):
        assert unknown.status_code == 503
        assert unknown.json()["code"] == "peer.unavailable"
        assert "injoignable" in unknown.json()["detail"]
        assert int(unknown.headers["Retry-After"]) > 0
    assert assigned.status_code == 200
    # Another agent's conversation is not hers whatever routing says: 404 without asking.
    assert johns_conversation.status_code == 404
    assert set(emmas_after) == {own, desk.english}
    async with app.context("inbox").require_sessions()() as session:
        assert (await session.scalars(select(Note))).all() == []


async def contact_of(app: Running, conversation_id: str) -> str:
    conversation = await read(app, conversation_id, await bearer(app, Role.SUPERVISOR))
    contact_id: str = conversation.json()["contact"]["id"]
    return contact_id


async def read_contact(app: Running, contact_id: str, headers: dict[str, str]) -> Any:
    return await app.client.get(f"/inbox/v1/contacts/{contact_id}", headers=headers)


async def test_an_agent_reads_only_the_contacts_of_conversations_it_sees(
    app: Running, desk: Desk
) -> None:
    marie = await create_agent(
        app, await admin(app), name="Marie", languages={"fr": 5}, status="offline"
    )
    english, french = await contact_of(app, desk.english), await contact_of(app, desk.french)
    await assign(app, desk.french, desk.emma)
    emma, marie_headers = (
        await bearer(app, Role.AGENT, desk.emma),
        await bearer(app, Role.AGENT, marie["id"]),
    )
    unbound = await bearer(app, Role.AGENT)

    # Marie serves the French queue; the French email is now Emma's, the English one waits.
    marie_english = await read_contact(app, english, marie_headers)
    marie_french = await read_contact(app, french, marie_headers)
    marie_filtered = await listed(app, marie_headers, contact_id=english)
    # Emma serves the English queue and holds the French email.
    emma_english = await read_contact(app, english, emma)
    emma_french = await read_contact(app, french, emma)
    unbound_english = await read_contact(app, english, unbound)
    nowhere = await read_contact(app, str(uuid.uuid4()), marie_headers)

    assert emma_english.status_code == emma_french.status_code == 200
    assert emma_english.json()["identities"] == [{"kind": "email", "value": "c@example.com"}]
    assert emma_french.json()["identities"] == [{"kind": "email", "value": "d@exemple.ca"}]
    # What an agent may not see answers exactly like a contact that does not exist.
    for hidden, contact_id in (
        (marie_english, english),
        (marie_french, french),
        (unbound_english, english),
    ):
        assert hidden.status_code == nowhere.status_code == 404
        assert hidden.json()["code"] == nowhere.json()["code"] == "contact.not_found"
        assert hidden.json()["title"] == nowhere.json()["title"] == "Contact introuvable"
        assert hidden.json()["detail"] == f"Il n’existe aucun contact {contact_id}."
        assert "example" not in hidden.text
        assert "exemple" not in hidden.text
    assert marie_filtered == []
    for role in (Role.SUPERVISOR, Role.ADMIN):
        headers = await bearer(app, role)
        assert (await read_contact(app, english, headers)).status_code == 200
        assert (await read_contact(app, french, headers)).status_code == 200


async def test_a_french_agent_reads_the_contact_waiting_in_its_queue(
    app: Running, desk: Desk
) -> None:
    marie = await create_agent(
        app, await admin(app), name="Marie", languages={"fr": 5}, status="offline"
    )
    french = await contact_of(app, desk.french)
    english = await contact_of(app, desk.english)
    headers = await bearer(app, Role.AGENT, marie["id"])

    waiting = await read_contact(app, french, headers)
    other_queue = await read_contact(app, english, headers)

    assert waiting.status_code == 200
    assert waiting.json()["id"] == french
    assert other_queue.status_code == 404
    assert await listed(app, headers, contact_id=french) == [desk.french]


async def test_while_routing_is_down_an_agent_reads_the_contacts_of_its_own_conversations(
    uncached: Running,
) -> None:
    app = uncached
    desk = await set_up(app)
    await assign(app, desk.french, desk.john)
    english, french = await contact_of(app, desk.english), await contact_of(app, desk.french)
    john, emma = await bearer(app, Role.AGENT, desk.john), await bearer(app, Role.AGENT, desk.emma)
    async with routing_unreachable(app):
        own = await read_contact(app, french, john)
        johns_for_emma = await read_contact(app, french, emma)
        waiting = await read_contact(app, english, emma)

    assert own.status_code == 200
    # Another agent's conversation is not hers whatever routing says: 404 without asking.
    assert johns_for_emma.status_code == 404
    # Waiting in a queue she may serve: unknown until routing answers, so 503, not 404.
    assert waiting.status_code == 503
    assert waiting.json()["code"] == "peer.unavailable"
