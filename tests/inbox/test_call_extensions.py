"""Phone numbers with an extension, over HTTP: refused by name, in English and French, never cut."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.inbox.models import Conversation, Message, OutboxEvent
from shared.auth import Role
from shared.db import session_scope, utc_now
from tests.inbox.builders import email, raw_headers
from tests.support.apps import Running

AGENT = uuid.uuid4()
EXTENSION_EN = (
    "Numbers are kept without an extension: give the number alone (and the extension in a note)."
)
EXTENSION_FR = (
    "Les numéros sont gardés sans poste\u202f: donnez le numéro seul (et le poste dans une note)."
)
WITH_EXTENSION = [
    "819 555-0111 poste 22",
    "819 555-0111, poste 22",
    "819-555-0111 p. 22",
    "819 555-0111 ext. 22",
    "819 555-0111 x22",
    "+18195550111;ext=22",
]


async def assigned_conversation(app: Running) -> str:
    answer = await app.client.post(
        "/inbox/v1/inbound/email",
        content=email(),
        headers=raw_headers(await app.token(Role.GATEWAY)),
    )
    conversation_id: str = answer.json()["conversation_id"]
    async with session_scope(app.context("inbox").require_sessions()) as session:
        row = await session.get(Conversation, uuid.UUID(conversation_id))
        assert row is not None
        row.assignee_agent_id, row.routing_status = AGENT, "assigned"
    return conversation_id


async def callbacks_asked(app: Running) -> int:
    async with app.context("inbox").require_sessions()() as session:
        asked = await session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.type == "callback.requested")
        )
    return int(asked or 0)


@pytest.mark.parametrize("phone", WITH_EXTENSION)
async def test_a_callback_number_with_an_extension_is_refused_naming_the_extension(
    app: Running, phone: str
) -> None:
    conversation_id = await assigned_conversation(app)
    agent = {"Authorization": f"Bearer {await app.token(Role.AGENT, agent_id=AGENT)}"}
    url = f"/inbox/v1/conversations/{conversation_id}/callbacks"
    body = {"due_at": (utc_now() + timedelta(days=1)).isoformat(), "phone": phone}
    before = await app.client.get(f"/inbox/v1/conversations/{conversation_id}", headers=agent)

    english = await app.client.post(url, json=body, headers=agent)
    french = await app.client.post(url, json=body, headers={**agent, "Accept-Language": "fr"})
    after = await app.client.get(f"/inbox/v1/conversations/{conversation_id}", headers=agent)

    assert (english.status_code, french.status_code) == (422, 422)
    assert english.json()["errors"] == [
        {"field": "phone", "code": "phone_extension", "reason": EXTENSION_EN}
    ]
    assert french.json()["errors"] == [
        {"field": "phone", "code": "phone_extension", "reason": EXTENSION_FR}
    ]
    assert after.json()["version"] == before.json()["version"]
    assert await callbacks_asked(app) == 0


async def test_a_callback_number_without_an_extension_is_still_taken(app: Running) -> None:
    conversation_id = await assigned_conversation(app)
    agent = {"Authorization": f"Bearer {await app.token(Role.AGENT, agent_id=AGENT)}"}
    answer = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/callbacks",
        json={"due_at": (utc_now() + timedelta(days=1)).isoformat(), "phone": "819 555-0111"},
        headers=agent,
    )

    assert answer.status_code == 202, answer.text
    assert answer.json()["phone"] == "+18195550111"
    assert await callbacks_asked(app) == 1


async def test_a_call_from_a_number_with_an_extension_is_refused_and_stores_nothing(
    app: Running,
) -> None:
    gateway = {"Authorization": f"Bearer {await app.token(Role.GATEWAY)}"}
    answer = await app.client.post(
        "/inbox/v1/inbound/calls",
        json={"call_id": "e-1", "event": "ringing", "from": "819 555-0111 ext. 22"},
        headers=gateway,
    )

    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"field": "from", "code": "phone_extension", "reason": EXTENSION_EN}
    ]
    async with app.context("inbox").require_sessions()() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0
