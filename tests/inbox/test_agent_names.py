"""What an agent writes is signed with their name in routing, not the name of their token."""

from __future__ import annotations

import uuid
from typing import Any

from shared.auth import Role
from tests.routing.scenario import admin, create_agent
from tests.routing.test_requeue import assigned_conversation
from tests.support.apps import Running, routing_unreachable


async def chloe_at_work(app: Running) -> tuple[str, dict[str, str]]:
    """Chloé Gagnon, whose front-end's token is named after her desk, holds a conversation."""
    headers = await admin(app)
    chloe = await create_agent(app, headers, name="Chloé Gagnon", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, chloe)
    token = await app.token(Role.AGENT, agent_id=uuid.UUID(chloe["id"]), name="poste-12")
    return conversation_id, {"Authorization": f"Bearer {token}", "Accept-Language": "fr"}


async def test_notes_timeline_and_replies_carry_the_agents_name(app: Running) -> None:
    conversation_id, as_chloe = await chloe_at_work(app)
    url = f"/inbox/v1/conversations/{conversation_id}"

    note = await app.client.post(f"{url}/notes", json={"body": "Rappeler jeudi."}, headers=as_chloe)
    reply = await app.client.post(
        f"{url}/replies", json={"template_key": "conversation.closing"}, headers=as_chloe
    )
    timeline = (await app.client.get(f"{url}/timeline", headers=as_chloe)).json()

    assert note.status_code == 201, note.text
    assert note.json()["author_name"] == "Chloé Gagnon"
    assert reply.status_code == 201, reply.text
    assert "\n\nChloé Gagnon\nService à la clientèle" in reply.json()["text"]
    assert "poste-12" not in reply.json()["text"]
    assert {entry["actor_name"] for entry in timeline} == {"Chloé Gagnon"}


async def test_without_routing_the_token_name_stands_and_the_note_is_kept(app: Running) -> None:
    conversation_id, as_chloe = await chloe_at_work(app)
    url = f"/inbox/v1/conversations/{conversation_id}"

    async with routing_unreachable(app):
        note = await app.client.post(f"{url}/notes", json={"body": "Noté."}, headers=as_chloe)

    assert note.status_code == 201, note.text
    author: Any = note.json()["author_name"]
    assert author == "poste-12"
