"""Web forms and booking systems send customers' messages from one no-reply address, with the
customer in Reply-To: each customer is a contact of their own, and is the one answered."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shared.auth import Role
from tests.inbox.builders import email as build_email
from tests.inbox.builders import raw_headers
from tests.inbox.test_outbound import drain_mail, supervisor
from tests.support.apps import Running
from tests.support.smtp import SmtpServer, running_with_smtp

FORM = "Formulaire web <noreply@forms.acme.example>"


@pytest.fixture
async def mail_app(db_url: str, tmp_path: Path, smtp_server: SmtpServer) -> AsyncIterator[Running]:
    async with running_with_smtp(db_url, tmp_path, smtp_server) as running:
        yield running


async def post(app: Running, raw: bytes) -> dict[str, Any]:
    answer = await app.client.post(
        "/inbox/v1/inbound/email",
        content=raw,
        headers=raw_headers(await app.token(Role.GATEWAY)),
    )
    assert answer.status_code == 202, answer.text
    receipt: dict[str, Any] = answer.json()
    return receipt


def form_email(reply_to: str, body: str, message_id: str = "auto") -> bytes:
    return build_email(
        sender=FORM,
        subject="Demande du formulaire de contact",
        body=body,
        message_id=message_id,
        headers={"Reply-To": reply_to},
    )


@pytest.mark.parametrize("message_id", ["auto", "<form@forms.acme.example>"])
async def test_each_customer_of_a_web_form_is_a_contact_of_their_own(
    mail_app: Running, message_id: str
) -> None:
    """Also when the form gives every email one Message-ID."""
    renee = await post(
        mail_app, form_email("Renée Dubé <renee.dube@exemple.ca>", "Ma facture.", message_id)
    )
    paul = await post(
        mail_app, form_email("Paul Martin <paul.martin@example.com>", "My bill.", message_id)
    )

    assert paul["duplicate"] is False
    assert renee["contact_id"] != paul["contact_id"]
    assert renee["conversation_id"] != paul["conversation_id"]
    headers = await supervisor(mail_app)
    for receipt, address in ((renee, "renee.dube@exemple.ca"), (paul, "paul.martin@example.com")):
        contact = await mail_app.client.get(
            f"/inbox/v1/contacts/{receipt['contact_id']}", headers=headers
        )
        assert address in str(contact.json()), contact.text


async def test_the_reply_goes_to_the_customer_not_to_the_forms_no_reply_address(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    renee = await post(mail_app, form_email("Renée Dubé <renee.dube@exemple.ca>", "Ma facture."))

    answer = await mail_app.client.post(
        f"/inbox/v1/conversations/{renee['conversation_id']}/replies",
        json={"text": "Bonjour, votre facture est corrigée."},
        headers=await supervisor(mail_app),
    )
    await drain_mail(mail_app)

    assert answer.status_code == 201, answer.text
    replies = [
        sent
        for sent in smtp_server.messages
        if "votre facture est corrigée"
        in email.message_from_bytes(sent.data, policy=email.policy.default)
        .get_body(preferencelist=("plain",))
        .get_content()  # type: ignore[union-attr]
    ]
    assert [sent.recipients for sent in replies] == [["renee.dube@exemple.ca"]]


async def test_a_persons_own_reply_to_does_not_change_who_they_are(mail_app: Running) -> None:
    """Only a no-reply sender gives way to Reply-To: a customer who sets Reply-To to another
    of their addresses stays the contact they write from."""
    first = await post(mail_app, build_email(message_id="<p1@exemple.ca>"))
    second = await post(
        mail_app,
        build_email(
            message_id="<p2@exemple.ca>",
            headers={"Reply-To": "marie.perso@exemple.ca"},
            body="Autre question.",
        ),
    )

    assert second["contact_id"] == first["contact_id"]


async def test_the_customer_of_a_web_form_is_acknowledged(
    db_url: str, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    """The acknowledgement goes to the customer; a no-reply sender alone still gets none."""
    async with running_with_smtp(db_url, tmp_path, smtp_server, auto_acknowledge=True) as app:
        await post(app, form_email("Renée Dubé <renee.dube@exemple.ca>", "Ma facture."))
        await post(
            app,
            build_email(sender=FORM, subject="Sans Reply-To", message_id="<n@forms.acme.example>"),
        )
        await app.deliver_all()

    assert [sent.recipients for sent in smtp_server.messages] == [["renee.dube@exemple.ca"]]
