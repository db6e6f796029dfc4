"""Transfers and escalations routing could not carry out as asked are refused up front (a
queue that does not take the conversation, an agent who may never take it, no queue of the
tier) and change nothing: the inbox asks routing before it accepts one."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from services.inbox.models import OutboxEvent as InboxOutboxEvent
from shared.auth import Role
from tests.inbox.builders import email, raw_headers
from tests.routing.scenario import admin, agent_headers, create_agent, offers_of, run_engine
from tests.routing.test_requeue import (
    conversation,
    create_queue,
    deliver,
    inbox_agent,
    tasks_of,
)
from tests.support.apps import Running

NNBSP = "\u202f"
ENGLISH = (
    "Hello,\n\nMy November invoice is wrong: I was billed twice for the same plan. "
    "Could you please correct it?\n\nThank you very much,\nMary"
)


async def english_conversation(app: Running, headers: dict[str, str], john: dict[str, Any]) -> str:
    """An English email conversation, routed to and accepted by John, the inbox told."""
    gateway = await app.token(Role.GATEWAY)
    received = await app.client.post(
        "/inbox/v1/inbound/email",
        content=email(subject="Wrong invoice", body=ENGLISH),
        headers=raw_headers(gateway),
    )
    assert received.status_code == 202, received.text
    conversation_id: str = received.json()["conversation_id"]
    await app.deliver_all()
    await run_engine(app)
    [offer] = await offers_of(app, john["id"], headers)
    accepted = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/accept", headers=await agent_headers(app, john["id"])
    )
    assert accepted.status_code == 200, accepted.text
    await app.deliver_all()
    seen = await conversation(app, conversation_id)
    assert (seen["language"], seen["routing_status"]) == ("en", "assigned")
    return conversation_id


async def queue_named(app: Running, name: str) -> str:
    queues = await app.client.get("/routing/v1/queues", headers=await admin(app))
    queue_id: str = next(q["id"] for q in queues.json() if q["name"] == name)
    return queue_id


async def unchanged(app: Running, conversation_id: str, john: dict[str, Any]) -> dict[str, Any]:
    """What a refused action must leave as it was: the conversation, its timeline and notes,
    the events for routing, and John's task."""
    supervisor = {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}
    url = f"/inbox/v1/conversations/{conversation_id}"
    seen = await conversation(app, conversation_id)
    timeline = (await app.client.get(f"{url}/timeline", headers=supervisor)).json()
    notes = (await app.client.get(f"{url}/notes", headers=supervisor)).json()
    async with app.context("inbox").require_sessions()() as session:
        kinds = list(
            await session.scalars(
                select(InboxOutboxEvent.type).where(
                    InboxOutboxEvent.type.in_(
                        ("conversation.transferred", "conversation.escalated")
                    )
                )
            )
        )
    [task] = await tasks_of(app, conversation_id)
    return {
        "conversation": (seen["routing_status"], seen["assignee_agent_id"], seen["version"]),
        "timeline": len(timeline),
        "notes": len(notes),
        "events": kinds,
        "task": (task.state, str(task.agent_id)),
        "john": john["id"],
    }


async def test_an_escalation_with_no_queue_of_its_tier_is_refused_and_changes_nothing(
    app: Running,
) -> None:
    headers = await admin(app)
    john = await create_agent(app, headers, name="John", languages={"en": 5})
    conversation_id = await english_conversation(app, headers, john)
    url = f"/inbox/v1/conversations/{conversation_id}/escalate"
    as_john = await inbox_agent(app, john["id"])
    before = await unchanged(app, conversation_id, john)

    french = await app.client.post(url, json={"reason": "Complex dispute"}, headers=as_john)
    english = await app.client.post(
        url, json={"reason": "Complex dispute"}, headers={**as_john, "Accept-Language": "en"}
    )
    after = await unchanged(app, conversation_id, john)
    await create_queue(
        app,
        headers,
        {"name": "Email — tier 2", "language": "en", "channels": ["email"], "tiers": [2]},
    )
    escalated = await app.client.post(url, json={"reason": "Complex dispute"}, headers=as_john)

    assert (french.status_code, english.status_code) == (409, 409)
    assert french.json()["code"] == "escalation.no_tier_queue"
    assert french.json()["title"] == "Aucune file d’attente pour ce niveau"
    assert french.json()["detail"] == (
        "Aucune file d’attente ne prend le niveau 2 pour le canal et la langue de cette "
        f"conversation{NNBSP}: indiquez une file (to_queue_id) ou faites-en configurer une. "
        "Rien n’a été modifié."
    )
    assert english.json()["title"] == "No queue for this tier"
    assert english.json()["detail"] == (
        "No queue takes tier 2 for this conversation's channel and language: name a queue "
        "(to_queue_id) or have one set up. Nothing was changed."
    )
    assert after == before
    assert escalated.status_code == 200, escalated.text
    await deliver(app, "inbox")
    assert (await tasks_of(app, conversation_id))[-1].route["queue"]["name"] == "Email — tier 2"


async def test_a_transfer_to_a_queue_that_does_not_take_the_conversation_is_refused(
    app: Running,
) -> None:
    headers = await admin(app)
    john = await create_agent(app, headers, name="John", languages={"en": 5})
    conversation_id = await english_conversation(app, headers, john)
    url = f"/inbox/v1/conversations/{conversation_id}/transfer"
    as_john = await inbox_agent(app, john["id"])
    french_email = await queue_named(app, "Courriel — français")
    english_phone = await queue_named(app, "Phone — English")
    before = await unchanged(app, conversation_id, john)

    french = await app.client.post(
        url, json={"to_queue_id": french_email, "note": "Pour Marie"}, headers=as_john
    )
    english = await app.client.post(
        url,
        json={"to_queue_id": english_phone, "note": "For the phone team"},
        headers={**as_john, "Accept-Language": "en"},
    )
    after = await unchanged(app, conversation_id, john)
    moved = await app.client.post(
        url, json={"to_queue_id": await queue_named(app, "Bilingual — bilingue")}, headers=as_john
    )

    assert (french.status_code, english.status_code) == (422, 422)
    assert french.json()["code"] == "transfer.queue_not_suitable"
    assert french.json()["title"] == "File d’attente inadaptée"
    assert french.json()["detail"] == (
        f"La file d’attente «{NNBSP}Courriel — français{NNBSP}» ne prend pas le canal ou la "
        f"langue de cette conversation{NNBSP}; rien n’a été modifié."
    )
    assert french.json()["errors"] == [
        {
            "field": "to_queue_id",
            "code": "queue_not_suitable",
            "reason": "Cette file ne prend pas le canal ou la langue de la conversation.",
        }
    ]
    assert english.json()["detail"] == (
        "Queue Phone — English does not take this conversation's channel or language; "
        "nothing was changed."
    )
    assert english.json()["errors"][0]["reason"] == (
        "This queue does not take the conversation's channel or language."
    )
    assert after == before
    assert moved.status_code == 200, moved.text


async def test_a_transfer_to_an_agent_who_may_never_take_the_conversation_is_refused(
    app: Running,
) -> None:
    headers = await admin(app)
    john = await create_agent(app, headers, name="John", languages={"en": 5})
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    # Paul may take it, though not right now: the transfer is accepted and waits for him.
    paul = await create_agent(app, headers, name="Paul", languages={"en": 4}, status="away")
    conversation_id = await english_conversation(app, headers, john)
    url = f"/inbox/v1/conversations/{conversation_id}/transfer"
    as_john = await inbox_agent(app, john["id"])
    before = await unchanged(app, conversation_id, john)

    french = await app.client.post(
        url, json={"to_agent_id": marie["id"], "note": "Pour Marie"}, headers=as_john
    )
    english = await app.client.post(
        url, json={"to_agent_id": marie["id"]}, headers={**as_john, "Accept-Language": "en"}
    )
    after = await unchanged(app, conversation_id, john)
    moved = await app.client.post(url, json={"to_agent_id": paul["id"]}, headers=as_john)

    assert (french.status_code, english.status_code) == (422, 422)
    assert french.json()["code"] == "transfer.agent_not_suitable"
    assert french.json()["title"] == "Agent inadapté"
    # Named as people know her, not by her id.
    assert french.json()["detail"] == (
        "Marie ne peut pas prendre cette conversation dans la file "
        f"«{NNBSP}Email — English{NNBSP}»{NNBSP}; rien n’a été modifié."
    )
    assert french.json()["errors"] == [
        {
            "field": "to_agent_id",
            "code": "language",
            "reason": "L’agent ne parle pas la langue de la conversation au niveau requis.",
        }
    ]
    assert english.json()["detail"] == (
        "Marie cannot take this conversation in queue Email — English; nothing was changed."
    )
    assert english.json()["errors"][0]["reason"] == (
        "The agent does not speak the conversation's language at the required level."
    )
    assert after == before
    assert moved.status_code == 200, moved.text
    await deliver(app, "inbox")
    task = (await tasks_of(app, conversation_id))[-1]
    assert (task.state, str(task.preferred_agent_id)) == ("waiting", paul["id"])
    assert uuid.UUID(john["id"]) != task.preferred_agent_id
