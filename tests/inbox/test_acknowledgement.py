"""Automatic acknowledgements: in the customer's language, once, never to robots."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.auth import Role
from tests.inbox.builders import email as build_email
from tests.inbox.builders import raw_headers
from tests.support.apps import Running
from tests.support.smtp import SmtpServer, running_with_smtp

FRENCH = (
    "Bonjour,\n\nMa facture de novembre est erronée : on me facture deux fois le même forfait. "
    "Pouvez-vous corriger la situation?\n\nMerci beaucoup,\nJean"
)
ENGLISH = "Hello,\n\nMy parcel never arrived. Could you please check the tracking number?\n\nJohn"


@pytest.fixture
async def ack_app(db_url: str, tmp_path: Path, smtp_server: SmtpServer) -> AsyncIterator[Running]:
    async with running_with_smtp(db_url, tmp_path, smtp_server, auto_acknowledge=True) as running:
        yield running


async def post(app: Running, raw: bytes) -> dict[str, str]:
    answer = await app.client.post(
        "/inbox/v1/inbound/email", content=raw, headers=raw_headers(await app.token(Role.GATEWAY))
    )
    assert answer.status_code == 202, answer.text
    receipt: dict[str, str] = answer.json()
    return receipt


async def drain(app: Running) -> None:
    """Deliver every pending event, both ways: the acknowledgement waits for routing."""
    await app.deliver_all()


def sent(smtp_server: SmtpServer) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(m.data, policy=email.policy.default) for m in smtp_server.messages
    ]


async def test_a_new_french_email_is_acknowledged_in_french_with_its_reference(
    ack_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await post(ack_app, build_email(message_id="<n1@exemple.ca>"))
    await drain(ack_app)

    [ack] = sent(smtp_server)
    conversation = await ack_app.client.get(
        f"/inbox/v1/conversations/{receipt['conversation_id']}",
        headers={"Authorization": f"Bearer {await ack_app.token(Role.SUPERVISOR)}"},
    )
    reference = conversation.json()["reference"]
    body = ack.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content().replace("\r\n", "\n")
    assert ack["Subject"] == f"Nous avons bien reçu votre message (réf. {reference})"
    assert text.startswith("Bonjour Marie Tremblay,\n\nMerci de nous avoir écrit.")
    assert reference in text
    assert ack["In-Reply-To"] == "<n1@exemple.ca>"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert [m["kind"] for m in conversation.json()["messages"]] == ["email", "automatic"]


async def test_an_english_email_gets_an_english_acknowledgement(
    ack_app: Running, smtp_server: SmtpServer
) -> None:
    await post(ack_app, build_email(sender="john@example.com", subject="Lost parcel", body=ENGLISH))
    await drain(ack_app)

    [ack] = sent(smtp_server)
    assert ack["Subject"].startswith("We received your message")


@pytest.mark.parametrize(
    ("sender", "subject", "body", "greeting"),
    [
        ("john@example.com", "Lost parcel", ENGLISH, "Hello,\n\nThank you for contacting us."),
        (
            '"jean.tremblay@exemple.ca" <jean.tremblay@exemple.ca>',
            "Facture erronée",
            FRENCH,
            "Bonjour,\n\nMerci de nous avoir écrit.",
        ),
    ],
)
async def test_a_sender_without_a_name_is_greeted_without_one(
    ack_app: Running,
    smtp_server: SmtpServer,
    sender: str,
    subject: str,
    body: str,
    greeting: str,
) -> None:
    await post(ack_app, build_email(sender=sender, subject=subject, body=body))
    await drain(ack_app)

    [ack] = sent(smtp_server)
    part = ack.get_body(preferencelist=("plain",))
    assert part is not None
    text = part.get_content().replace("\r\n", "\n")
    assert text.startswith(greeting)
    assert "@" not in text.split("\n")[0]


async def test_replies_in_the_thread_are_not_acknowledged_again(
    ack_app: Running, smtp_server: SmtpServer
) -> None:
    await post(ack_app, build_email(message_id="<t1@exemple.ca>"))
    await post(ack_app, build_email(subject="RE : Facture erronée", in_reply_to="<t1@exemple.ca>"))
    await drain(ack_app)

    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize(
    ("sender", "headers"),
    [
        ("noreply@boutique.example", {}),
        ("no-reply+123@boutique.example", {}),
        ("MAILER-DAEMON@centre.example", {}),
        ("marie@exemple.ca", {"Auto-Submitted": "auto-replied"}),
        ("marie@exemple.ca", {"Precedence": "bulk"}),
    ],
)
async def test_robots_and_automatic_mail_get_no_acknowledgement(
    ack_app: Running, smtp_server: SmtpServer, sender: str, headers: dict[str, str]
) -> None:
    await post(ack_app, build_email(sender=sender, headers=headers))
    await drain(ack_app)

    assert smtp_server.messages == []
