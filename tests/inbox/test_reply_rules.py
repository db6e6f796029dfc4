"""Replies refused or answered once: a double-click on Send, a blank reply, a customer without an
address to write to, and a reply to a conversation that changed since it was read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.inbox.outbound.service import can_write_to
from shared.auth import Role
from tests.inbox.builders import email as build_email
from tests.inbox.builders import raw_headers
from tests.inbox.test_outbound import drain_mail, supervisor
from tests.support.apps import Running
from tests.support.smtp import SmtpServer, running_with_smtp


@pytest.fixture
async def mail_app(db_url: str, tmp_path: Path, smtp_server: SmtpServer) -> AsyncIterator[Running]:
    async with running_with_smtp(db_url, tmp_path, smtp_server) as running:
        yield running


async def start_conversation(
    app: Running,
    *,
    sender: str = "Marie Tremblay <marie.tremblay@exemple.ca>",
    gateway: str = "test",
) -> str:
    answer = await app.client.post(
        "/inbox/v1/inbound/email",
        content=build_email(sender=sender),
        headers=raw_headers(await app.token(Role.GATEWAY, name=gateway)),
    )
    assert answer.status_code == 202, answer.text
    conversation_id: str = answer.json()["conversation_id"]
    assert conversation_id
    return conversation_id


async def directions(app: Running, conversation_id: str, headers: dict[str, str]) -> list[str]:
    read = await app.client.get(f"/inbox/v1/conversations/{conversation_id}", headers=headers)
    assert read.status_code == 200
    return [message["direction"] for message in read.json()["messages"]]


@pytest.mark.parametrize("if_match", [False, True])
async def test_a_double_click_on_send_answers_every_retry_with_the_first_reply(
    mail_app: Running, smtp_server: SmtpServer, if_match: bool
) -> None:
    conversation_id = await start_conversation(mail_app)
    headers = {**await supervisor(mail_app), "Idempotency-Key": "send-once"}
    url = f"/inbox/v1/conversations/{conversation_id}"
    if if_match:
        headers["If-Match"] = (await mail_app.client.get(url, headers=headers)).headers["etag"]
    url = f"{url}/replies"

    answers = await asyncio.gather(
        *(mail_app.client.post(url, json={"text": "Bonjour."}, headers=headers) for _ in range(6))
    )
    await drain_mail(mail_app)

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 200, 200, 200, 200, 201], [a.text for a in answers]
    [created] = [answer.json() for answer in answers if answer.status_code == 201]
    assert all(answer.json() == created for answer in answers)
    assert len(smtp_server.messages) == 1
    assert await directions(mail_app, conversation_id, headers) == ["inbound", "outbound"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"text": "   "}, "blank"),
        ({"text": "\n\t\u00a0\u200b\n"}, "blank"),
        ({"text": "   ", "html": "<p>Bonjour</p>"}, "blank"),
        ({"text": ""}, "string_too_short"),
        ({"text": "", "attachments": []}, "string_too_short"),
    ],
)
async def test_a_blank_reply_is_refused_and_nothing_is_sent(
    mail_app: Running, smtp_server: SmtpServer, body: dict[str, Any], code: str
) -> None:
    conversation_id = await start_conversation(mail_app)
    headers = await supervisor(mail_app)
    url = f"/inbox/v1/conversations/{conversation_id}/replies"

    english = await mail_app.client.post(url, json=body, headers=headers)
    french = await mail_app.client.post(
        url, json=body, headers={**headers, "Accept-Language": "fr"}
    )
    await drain_mail(mail_app)

    assert english.status_code == 422, english.text
    assert french.status_code == 422
    [error] = english.json()["errors"]
    [erreur] = french.json()["errors"]
    assert (error["field"], error["code"]) == ("text", code)
    if code == "blank":
        assert error["reason"] == "Must say something: not only spaces or line breaks."
        assert erreur["reason"] == (
            "Doit dire quelque chose\u202f: pas seulement des espaces ou des sauts de ligne."
        )
    assert smtp_server.messages == []
    assert await directions(mail_app, conversation_id, headers) == ["inbound"]


@pytest.mark.parametrize(
    ("sender", "gateway"),
    [
        ("", "QA gateway"),
        ('"" <>', "QA gateway"),
        ("", "postfix"),
        ("Marie <marie@exemple.invalid>", "postfix"),
    ],
)
async def test_a_customer_without_an_address_to_write_to_gets_no_reply(
    mail_app: Running, smtp_server: SmtpServer, sender: str, gateway: str
) -> None:
    conversation_id = await start_conversation(mail_app, sender=sender, gateway=gateway)
    headers = await supervisor(mail_app)
    url = f"/inbox/v1/conversations/{conversation_id}/replies"

    english = await mail_app.client.post(url, json={"text": "Bonjour."}, headers=headers)
    french = await mail_app.client.post(
        url,
        json={"template_key": "conversation.closing"},
        headers={**headers, "Accept-Language": "fr"},
    )
    await drain_mail(mail_app)

    assert english.status_code == 409, english.text
    assert english.json()["code"] == "reply.no_recipient"
    assert english.json()["detail"] == (
        "This customer has no email address to reply to; nothing was sent."
    )
    assert french.status_code == 409, french.text
    assert french.json()["detail"] == (
        "Ce client n’a pas d’adresse courriel à laquelle répondre\u202f; rien n’a été envoyé."
    )
    assert smtp_server.messages == []
    assert await directions(mail_app, conversation_id, headers) == ["inbound"]


@pytest.mark.parametrize(
    ("address", "writable"),
    [
        ("marie.tremblay@exemple.ca", True),
        ("élise.côté@exemple.ca", True),
        ("unknown@QA gateway.invalid", False),
        ("unknown@postfix.invalid", False),
        ("marie@EXEMPLE.INVALID.", False),
        ("marie tremblay@exemple.ca", False),
        ("marie@", False),
        ("exemple.ca", False),
        ("", False),
        (None, False),
    ],
)
def test_only_an_address_mail_can_be_sent_to_is_written_to(
    address: str | None, writable: bool
) -> None:
    assert can_write_to(address) is writable


async def test_a_reply_with_a_stale_if_match_is_refused_and_a_current_one_is_sent(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    conversation_id = await start_conversation(mail_app)
    headers = await supervisor(mail_app)
    url = f"/inbox/v1/conversations/{conversation_id}"
    read = await mail_app.client.get(url, headers=headers)
    stale = read.headers["etag"]
    noted = await mail_app.client.post(
        f"{url}/notes", json={"body": "Cliente rappelée."}, headers=headers
    )
    assert noted.status_code == 201
    current = (await mail_app.client.get(url, headers=headers)).headers["etag"]

    refused = await mail_app.client.post(
        f"{url}/replies", json={"text": "Bonjour."}, headers={**headers, "If-Match": stale}
    )
    await drain_mail(mail_app)
    nothing_sent = list(smtp_server.messages)
    unreadable = await mail_app.client.post(
        f"{url}/replies", json={"text": "Bonjour."}, headers={**headers, "If-Match": "abc"}
    )
    sent = await mail_app.client.post(
        f"{url}/replies", json={"text": "Bonjour."}, headers={**headers, "If-Match": current}
    )
    await drain_mail(mail_app)

    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "conversation.changed"
    assert refused.json()["current"]["version"] == int(current.strip('"'))
    assert nothing_sent == []
    assert unreadable.status_code == 422
    assert [e["field"] for e in unreadable.json()["errors"]] == ["If-Match"]
    assert sent.status_code == 201, sent.text
    assert len(smtp_server.messages) == 1
    assert await directions(mail_app, conversation_id, headers) == ["inbound", "outbound"]


async def test_a_retried_reply_with_if_match_answers_the_first_reply(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    conversation_id = await start_conversation(mail_app)
    headers = await supervisor(mail_app)
    url = f"/inbox/v1/conversations/{conversation_id}"
    etag = (await mail_app.client.get(url, headers=headers)).headers["etag"]
    retry = {**headers, "If-Match": etag, "Idempotency-Key": "send-once"}

    first = await mail_app.client.post(f"{url}/replies", json={"text": "Bonjour."}, headers=retry)
    again = await mail_app.client.post(f"{url}/replies", json={"text": "Bonjour."}, headers=retry)
    await drain_mail(mail_app)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert len(smtp_server.messages) == 1
