"""A customer writing again after their conversation was resolved starts a new request: the
conversation is in the language they now surely write in, and routing asks for an agent in it.
An open conversation keeps its language, and so does a reopened one whose new text is unsure."""

from __future__ import annotations

from typing import Any

import pytest

from shared.auth import Role
from tests.inbox.builders import email, raw_headers
from tests.support.apps import Running

ENGLISH = (
    "Hello,\n\nMy internet connection has been down since this morning and the modem shows a "
    "red light. Could you please send a technician as soon as possible?\n\nThank you,\nMarie"
)
FRENCH = (
    "Bonjour,\n\nLa connexion est de nouveau coupée depuis ce matin et le modem affiche encore "
    "un voyant rouge. Pourriez-vous envoyer un technicien dès que possible?\n\nMerci,\nMarie"
)


@pytest.fixture
async def gateway(app: Running) -> str:
    return await app.token(Role.GATEWAY)


@pytest.fixture
async def supervisor(app: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}


async def post(app: Running, gateway: str, raw: bytes) -> dict[str, Any]:
    answer = await app.client.post(
        "/inbox/v1/inbound/email", content=raw, headers=raw_headers(gateway)
    )
    assert answer.status_code == 202, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def read(app: Running, supervisor: dict[str, str], conversation_id: str) -> dict[str, Any]:
    answer = await app.client.get(f"/inbox/v1/conversations/{conversation_id}", headers=supervisor)
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


async def task_languages(
    app: Running, supervisor: dict[str, str], conversation_id: str
) -> list[str]:
    """The languages routing's tasks for the conversation ask for, oldest first."""
    await app.deliver_all()
    answer = await app.client.get(
        "/routing/v1/tasks", params={"conversation_id": conversation_id}, headers=supervisor
    )
    assert answer.status_code == 200, answer.text
    return [task["language"] for task in reversed(answer.json()["items"])]


async def english_then(
    app: Running, gateway: str, supervisor: dict[str, str], *, resolve: bool, reply: str
) -> str:
    """An English request, resolved or not, then the customer's reply in its thread."""
    first = await post(
        app, gateway, email(subject="Internet outage", body=ENGLISH, message_id="<o1@exemple.ca>")
    )
    conversation_id: str = first["conversation_id"]
    assert first["language"] == "en"
    await app.deliver_all()
    if resolve:
        resolved = await app.client.post(
            f"/inbox/v1/conversations/{conversation_id}/resolve", json={}, headers=supervisor
        )
        assert resolved.status_code == 200, resolved.text
    again = await post(
        app,
        gateway,
        email(
            subject="RE : Internet outage",
            body=reply,
            message_id="<o2@exemple.ca>",
            in_reply_to="<o1@exemple.ca>",
        ),
    )
    assert again["conversation_id"] == conversation_id
    return conversation_id


async def test_a_resolved_conversation_reopened_in_french_is_french_and_routed_so(
    app: Running, gateway: str, supervisor: dict[str, str]
) -> None:
    conversation_id = await english_then(app, gateway, supervisor, resolve=True, reply=FRENCH)

    conversation = await read(app, supervisor, conversation_id)
    assert conversation["status"] == "open"
    assert conversation["language"] == "fr"
    assert conversation["language_confidence"] >= 0.9
    assert await task_languages(app, supervisor, conversation_id) == ["en", "fr"]


async def test_an_open_conversation_keeps_its_language_when_the_customer_switches(
    app: Running, gateway: str, supervisor: dict[str, str]
) -> None:
    conversation_id = await english_then(app, gateway, supervisor, resolve=False, reply=FRENCH)

    conversation = await read(app, supervisor, conversation_id)
    assert conversation["language"] == "en"
    assert await task_languages(app, supervisor, conversation_id) == ["en"]


async def test_a_reopening_reply_too_short_to_tell_keeps_the_language(
    app: Running, gateway: str, supervisor: dict[str, str]
) -> None:
    conversation_id = await english_then(app, gateway, supervisor, resolve=True, reply="OK.")

    conversation = await read(app, supervisor, conversation_id)
    assert conversation["status"] == "open"
    assert conversation["language"] == "en"
    assert await task_languages(app, supervisor, conversation_id) == ["en", "en"]
