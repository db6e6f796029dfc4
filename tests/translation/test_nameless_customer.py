"""A customer who gave no name is greeted without one by every seeded template that names the
customer, in an agent's reply as in the automatic acknowledgement: "Hello," / « Bonjour, »."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.inbox.models import Conversation
from shared.auth import Role
from shared.db import session_scope
from tests.inbox.builders import email as build_email
from tests.inbox.builders import raw_headers
from tests.inbox.test_outbound import drain_mail
from tests.inbox.test_reply_templates import LETTER, plain_body
from tests.support.apps import Running
from tests.support.smtp import SmtpServer, running_with_smtp

ADDRESS = "m.lavoie1987@hotmail.com"
GREETING = {"en": "Hello,\n", "fr": "Bonjour,\n"}
#: What each seeded template needs besides the inbox's own variables.
AGENT_VARIABLES: dict[str, dict[str, Any]] = {
    "conversation.closing": {},
    "letter.payment_arrangement": LETTER,
    "callback.confirmation": {
        "callback_at": "2026-12-08T14:30:00+00:00",
        "phone_number": "+1 514-555-0142",
    },
    "email.acknowledgement": {"response_time": 14_400},
}


@pytest.fixture
async def mail_app(db_url: str, tmp_path: Path, smtp_server: SmtpServer) -> AsyncIterator[Running]:
    async with running_with_smtp(
        db_url, tmp_path, smtp_server, mail_from_name="Service à la clientèle"
    ) as running:
        yield running


async def nameless_conversation(app: Running, *, sender: str, language: str) -> str:
    """A conversation started by an email whose From has no name, in ``language``."""
    gateway = await app.token(Role.GATEWAY)
    answer = await app.client.post(
        "/inbox/v1/inbound/email",
        content=build_email(sender=sender, subject="Question", message_id=None),
        headers=raw_headers(gateway),
    )
    assert answer.status_code == 202, answer.text
    conversation_id: str = answer.json()["conversation_id"]
    async with session_scope(app.context("inbox").require_sessions()) as session:
        conversation = await session.get(Conversation, uuid.UUID(conversation_id))
        assert conversation is not None
        conversation.language = language
    return conversation_id


async def agent(app: Running, conversation_id: str) -> dict[str, str]:
    """An agent named Julie Gagnon, assigned the conversation."""
    agent_id = uuid.uuid4()
    async with session_scope(app.context("inbox").require_sessions()) as session:
        conversation = await session.get(Conversation, uuid.UUID(conversation_id))
        assert conversation is not None
        conversation.assignee_agent_id = agent_id
    token = await app.token(Role.AGENT, agent_id=agent_id, name="Julie Gagnon")
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("key", sorted(AGENT_VARIABLES))
async def test_a_reply_to_a_customer_without_a_name_greets_without_one(
    mail_app: Running, smtp_server: SmtpServer, key: str, language: str
) -> None:
    conversation_id = await nameless_conversation(mail_app, sender=ADDRESS, language=language)

    answer = await mail_app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/replies",
        json={"template_key": key, "variables": AGENT_VARIABLES[key]},
        headers=await agent(mail_app, conversation_id),
    )
    await drain_mail(mail_app)

    assert answer.status_code == 201, answer.text
    [sent] = smtp_server.messages
    _, text = plain_body(sent.data)
    assert text.startswith(GREETING[language])
    assert answer.json()["text"].startswith(GREETING[language])
    assert ADDRESS not in text
    assert "{" not in text


async def test_an_address_given_as_the_name_is_no_name_to_greet_by(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    conversation_id = await nameless_conversation(
        mail_app, sender=f'"{ADDRESS}" <{ADDRESS}>', language="fr"
    )

    answer = await mail_app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/replies",
        json={"template_key": "conversation.closing"},
        headers=await agent(mail_app, conversation_id),
    )
    await drain_mail(mail_app)

    assert answer.status_code == 201, answer.text
    _, text = plain_body(smtp_server.messages[0].data)
    assert text.startswith("Bonjour,\n")
    assert "Julie Gagnon\nService à la clientèle" in text
