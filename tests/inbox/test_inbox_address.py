"""The inbox address an email came to becomes the From of every reply: it must be an address.

A gateway naming something else (``?to=nodomain``, a JSON ``recipient``, a form's ``to``) is
refused before anything is stored; a conversation stored earlier with such an address replies,
and is acknowledged, from the configured sender instead of failing.
"""

from __future__ import annotations

import base64
import email
import email.policy
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from services.inbox.models import Conversation, Message
from services.inbox.outbound.compose import from_address
from shared.auth import Role
from tests.inbox.builders import email as build_email
from tests.inbox.builders import raw_headers
from tests.support.apps import Running
from tests.support.smtp import SmtpServer, running_with_smtp

MAIL_FROM = "support@centre.example"
NOT_ADDRESSES = ["nodomain", "0000", "a b@centre.example", "service@", "<service@centre.example>"]


@pytest.fixture
async def mail_app(db_url: str, tmp_path: Path, smtp_server: SmtpServer) -> AsyncIterator[Running]:
    async with running_with_smtp(
        db_url, tmp_path, smtp_server, mail_from=MAIL_FROM, auto_acknowledge=True
    ) as running:
        yield running


async def stored(app: Running) -> tuple[int, int]:
    """How many messages and conversations the inbox holds."""
    async with app.context("inbox").require_sessions()() as session:
        messages = await session.scalar(select(func.count()).select_from(Message))
        conversations = await session.scalar(select(func.count()).select_from(Conversation))
    return int(messages or 0), int(conversations or 0)


async def post_raw(app: Running, to: str, language: str = "en") -> httpx.Response:
    return await app.client.post(
        "/inbox/v1/inbound/email",
        params={"to": to},
        content=build_email(),
        headers={**raw_headers(await app.token(Role.GATEWAY)), "Accept-Language": language},
    )


async def post_json(app: Running, recipient: str, language: str = "en") -> httpx.Response:
    token = await app.token(Role.GATEWAY)
    return await app.client.post(
        "/inbox/v1/inbound/email",
        json={"raw": base64.b64encode(build_email()).decode(), "recipient": recipient},
        headers={"Authorization": f"Bearer {token}", "Accept-Language": language},
    )


async def post_form(app: Running, to: str, language: str = "en") -> httpx.Response:
    token = await app.token(Role.GATEWAY)
    return await app.client.post(
        "/inbox/v1/inbound/email",
        data={"to": to},
        files={"email": ("message.eml", build_email(), "message/rfc822")},
        headers={"Authorization": f"Bearer {token}", "Accept-Language": language},
    )


def field_error(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    return dict(error)


@pytest.mark.parametrize("address", NOT_ADDRESSES)
async def test_an_inbox_address_that_is_not_one_is_refused_and_nothing_stored(
    app: Running, address: str
) -> None:
    raw, as_json, form = (
        await post_raw(app, address),
        await post_json(app, address, "fr"),
        await post_form(app, address, "fr-CA"),
    )

    assert field_error(raw) == {
        "field": "to",
        "code": "email_address",
        "reason": "Must be an email address.",
    }
    assert field_error(as_json) == {
        "field": "recipient",
        "code": "email_address",
        "reason": "Doit être une adresse courriel.",
    }
    assert field_error(form) == {
        "field": "to",
        "code": "email_address",
        "reason": "Doit être une adresse courriel.",
    }
    assert await stored(app) == (0, 0)


async def test_an_unreadable_email_with_a_bad_inbox_address_is_refused_not_quarantined(
    app: Running,
) -> None:
    answer = await app.client.post(
        "/inbox/v1/inbound/email",
        params={"to": "nodomain"},
        content=b"\x00\x01 not an email \xff" * 10,
        headers=raw_headers(await app.token(Role.GATEWAY)),
    )

    assert field_error(answer)["field"] == "to"
    assert await stored(app) == (0, 0)


@pytest.mark.parametrize(
    "address", ["Factures@Centre.example", "élodie@centre.example", "service@localhost"]
)
async def test_inbox_addresses_are_taken_in_every_form(app: Running, address: str) -> None:
    answers = [
        await post_raw(app, address),
        await post_json(app, address),
        await post_form(app, address),
    ]

    assert [answer.status_code for answer in answers] == [202, 202, 202]
    async with app.context("inbox").require_sessions()() as session:
        conversation = await session.scalar(select(Conversation))
    assert conversation is not None
    assert conversation.inbox_address == address.lower()


@pytest.mark.parametrize("to", ["nodomain", '"a b"@centre.example'])
async def test_a_to_header_that_is_not_an_address_is_not_taken_as_the_inbox_address(
    mail_app: Running, smtp_server: SmtpServer, to: str
) -> None:
    answer = await mail_app.client.post(
        "/inbox/v1/inbound/email",
        content=build_email(to=to),
        headers=raw_headers(await mail_app.token(Role.GATEWAY)),
    )
    await mail_app.deliver_all()
    await drain_mail(mail_app)

    assert answer.status_code == 202, answer.text
    async with mail_app.context("inbox").require_sessions()() as session:
        conversation = await session.get(Conversation, uuid.UUID(answer.json()["conversation_id"]))
    assert conversation is not None
    assert conversation.inbox_address is None
    [acknowledgement] = smtp_server.messages
    assert acknowledgement.sender == MAIL_FROM


async def drain_mail(app: Running) -> None:
    relay = app.relay_now("inbox")
    while await relay.run_once():
        pass


async def spoil_inbox_address(app: Running, conversation_id: str) -> None:
    """What a conversation stored before addresses were checked looks like."""
    async with app.context("inbox").require_sessions()() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == uuid.UUID(conversation_id))
            .values(inbox_address="nodomain")
        )
        await session.commit()


async def test_a_conversation_stored_with_a_bad_address_replies_from_the_configured_sender(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await post_raw(mail_app, "factures@centre.example")
    conversation_id = receipt.json()["conversation_id"]
    await spoil_inbox_address(mail_app, conversation_id)
    headers = {"Authorization": f"Bearer {await mail_app.token(Role.SUPERVISOR)}"}

    reply = await mail_app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/replies",
        json={"text": "Bonjour, c’est corrigé."},
        headers=headers,
    )
    await mail_app.deliver_all()
    await drain_mail(mail_app)

    assert reply.status_code == 201, reply.text
    assert reply.json()["from_address"] == MAIL_FROM
    sent = {
        email.message_from_bytes(m.data, policy=email.policy.default)["Auto-Submitted"]: m
        for m in smtp_server.messages
    }
    # Both the acknowledgement (queued once routing answered) and the agent's reply went out.
    assert sorted(sent) == ["auto-replied", "no"]
    assert {m.sender for m in smtp_server.messages} == {MAIL_FROM}
    parsed = email.message_from_bytes(sent["no"].data, policy=email.policy.default)
    assert parsed["From"].addresses[0].addr_spec == MAIL_FROM


def test_the_from_address_falls_back_only_when_the_stored_one_is_not_an_address() -> None:
    assert from_address("factures@centre.example", MAIL_FROM) == "factures@centre.example"
    assert from_address("élodie@centre.example", MAIL_FROM) == "élodie@centre.example"
    assert from_address(None, MAIL_FROM) == MAIL_FROM
    assert from_address("nodomain", MAIL_FROM) == MAIL_FROM
