"""Emails the inbound fuzzing run answered with a server error, now stored and read back:
a UTF-7 body spelling a lone UTF-16 surrogate, and a sender whose domain has a label longer
than DNS allows."""

from __future__ import annotations

from typing import Any

from shared.auth import Role
from tests.support.apps import Running


async def post_and_read(app: Running, raw: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """Post the raw email twice as a gateway; the first receipt and the message as stored."""
    gateway = {
        "Authorization": f"Bearer {await app.token(Role.GATEWAY)}",
        "Content-Type": "message/rfc822",
    }
    supervisor = {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}
    first = await app.client.post("/inbox/v1/inbound/email", content=raw, headers=gateway)
    again = await app.client.post("/inbox/v1/inbound/email", content=raw, headers=gateway)
    assert first.status_code == 202, first.text
    receipt: dict[str, Any] = first.json()
    assert again.json() == {**receipt, "duplicate": True}
    conversation = await app.client.get(
        f"/inbox/v1/conversations/{receipt['conversation_id']}", headers=supervisor
    )
    assert conversation.status_code == 200, conversation.text
    [message] = conversation.json()["messages"]
    assert message["id"] == receipt["message_id"]
    return receipt, message


async def test_a_utf7_body_with_a_lone_surrogate_is_stored_with_a_replacement_character(
    app: Running,
) -> None:
    raw = (
        b"From: Client <client@example.ca>\r\nTo: service@example.com\r\n"
        b"Subject: utf-7\r\nMessage-ID: <utf7-lone@example.ca>\r\n"
        b"Content-Type: text/plain; charset=utf-7\r\n\r\n"
        b"Bonjour +2D0- merci, et +2D3eAA- aussi\r\n"
    )

    receipt, message = await post_and_read(app, raw)

    assert receipt["status"] == "accepted"
    # The lone high surrogate is a U+FFFD; a pair spelled in UTF-7 is its character.
    assert message["text"].strip() == "Bonjour \ufffd merci, et \U0001f600 aussi"


async def test_a_sender_whose_domain_label_is_too_long_for_dns_is_still_stored(
    app: Running,
) -> None:
    sender = "marie@" + "y" * 100 + ".ca"
    raw = (
        f"From: {sender}\r\nTo: service@example.com\r\nSubject: long domain\r\n"
        "Message-ID: <long-domain@example.ca>\r\n\r\nHello, my bill is wrong.\r\n"
    ).encode()

    receipt, message = await post_and_read(app, raw)

    assert receipt["status"] == "accepted"
    assert message["from_address"] == sender
