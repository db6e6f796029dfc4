"""Web forms and booking systems send customers' messages from one no-reply address, with the
customer in Reply-To: each customer is a contact of their own, and is the one answered."""

from __future__ import annotations

import email
import email.headerregistry
import email.policy
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from shared.auth import Role
from tests.inbox.builders import email as build_email
from tests.inbox.builders import raw_headers
from tests.inbox.test_outbound import drain_mail, supervisor
from tests.inbox.test_reply_templates import plain_body
from tests.support.apps import Running
from tests.support.smtp import SmtpServer, running_with_smtp

FORM = "Formulaire web <noreply@forms.acme.example>"
#: The one Message-ID some forms give every submission.
FORM_ID = "<form-submission@forms.acme.example>"
SUBMITTED = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
FRENCH = (
    "Bonjour, ma facture de novembre est erronée : on me facture deux fois le même forfait. "
    "Pouvez-vous corriger la situation?"
)


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


def submission(reply_to: str, body: str, *, sent: datetime | None = SUBMITTED) -> bytes:
    """A web form's email: the form's one Message-ID, the customer in Reply-To, the time of
    the submission in Date (none when ``sent`` is None)."""
    message = EmailMessage()
    message["From"] = FORM
    message["To"] = "service@centre.example"
    message["Reply-To"] = reply_to
    message["Subject"] = "Demande du formulaire de contact"
    if sent is not None:
        message["Date"] = format_datetime(sent)
    message["Message-ID"] = FORM_ID
    message.set_content(body)
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


async def contact_name(app: Running, receipt: dict[str, Any]) -> str | None:
    answer = await app.client.get(
        f"/inbox/v1/contacts/{receipt['contact_id']}", headers=await supervisor(app)
    )
    assert answer.status_code == 200, answer.text
    name: str | None = answer.json()["display_name"]
    return name


@pytest.mark.parametrize(
    "name",
    [
        "Kevin O'Brien",
        "Renée Dubé",
        'Jean "Johnny" Tremblay',
        "Dubé, Renée",
        "Ève-Marie " + "Lavoie-" * 60,  # longer than a contact's name may be
    ],
)
async def test_the_customer_keeps_the_name_reply_to_gives_them(
    mail_app: Running, name: str
) -> None:
    """The name is read as the same name in From would be (decoded, quoted, clipped)."""
    reply_to = email.headerregistry.Address(display_name=name, addr_spec="kevin@example.com")
    direct = email.headerregistry.Address(display_name=name, addr_spec="same.name@example.com")

    by_form = await post(mail_app, form_email(str(reply_to), "My bill."))
    by_mail = await post(mail_app, build_email(sender=str(direct), message_id="<d@example.com>"))

    kept = await contact_name(mail_app, by_form)
    assert kept == await contact_name(mail_app, by_mail)
    assert kept is not None
    assert kept.startswith(name[:20])
    assert len(kept) <= 300


async def test_without_a_name_in_reply_to_the_customer_has_none_not_the_forms(
    mail_app: Running,
) -> None:
    receipt = await post(mail_app, form_email("dana@example.com", "My bill."))

    assert await contact_name(mail_app, receipt) is None


@pytest.mark.parametrize(
    ("reply_to", "greeting"),
    [
        ("Kevin O'Brien <kevin@example.com>", "Bonjour Kevin O'Brien,\n"),
        ("dana@example.com", "Bonjour,\n"),
    ],
)
async def test_a_template_reply_greets_the_customer_never_the_form(
    mail_app: Running, smtp_server: SmtpServer, reply_to: str, greeting: str
) -> None:
    receipt = await post(mail_app, form_email(reply_to, FRENCH))

    answer = await mail_app.client.post(
        f"/inbox/v1/conversations/{receipt['conversation_id']}/replies",
        json={"template_key": "conversation.closing"},
        headers=await supervisor(mail_app),
    )
    await drain_mail(mail_app)

    assert answer.status_code == 201, answer.text
    [sent] = smtp_server.messages
    _, text = plain_body(sent.data)
    assert text.startswith(greeting), text
    assert "Formulaire" not in text
    assert sent.recipients == [reply_to.partition("<")[2].rstrip(">") or reply_to]


async def test_each_submission_of_a_customer_is_kept_and_a_re_post_is_a_duplicate(
    mail_app: Running,
) -> None:
    """The form gives every submission one Message-ID: its Date tells one submission from
    the next, and a gateway re-posting one is told it is a duplicate, with its ids."""
    dana = "Dana Whitfield <dana@example.com>"
    first_raw = submission(dana, "My bill is wrong.")
    second_raw = submission(
        dana, "Also, my address changed.", sent=SUBMITTED + timedelta(seconds=1)
    )
    first = await post(mail_app, first_raw)
    second = await post(mail_app, second_raw)
    again = [await post(mail_app, raw) for raw in (first_raw, second_raw)]
    # Another customer's submission of that same second, under the same Message-ID.
    other = await post(mail_app, submission("Paul Martin <paul@example.com>", "My bill is wrong."))

    assert second["duplicate"] is False
    assert (second["contact_id"], second["conversation_id"]) == (
        first["contact_id"],
        first["conversation_id"],
    )
    conversation = await mail_app.client.get(
        f"/inbox/v1/conversations/{first['conversation_id']}", headers=await supervisor(mail_app)
    )
    assert [m["text"] for m in conversation.json()["messages"]] == [
        "My bill is wrong.",
        "Also, my address changed.",
    ]
    assert [(a["duplicate"], a["message_id"], a["conversation_id"]) for a in again] == [
        (True, first["message_id"], first["conversation_id"]),
        (True, second["message_id"], first["conversation_id"]),
    ]
    assert other["duplicate"] is False
    assert other["contact_id"] != first["contact_id"]


async def test_the_same_words_submitted_again_later_are_a_submission_of_their_own(
    mail_app: Running,
) -> None:
    """Not a copy of the first (a copy, sent to two of our addresses, has its Date too)."""
    dana = "Dana Whitfield <dana@example.com>"
    first = await post(mail_app, submission(dana, "Any news?"))
    later = await post(mail_app, submission(dana, "Any news?", sent=SUBMITTED + timedelta(days=1)))
    copy = await mail_app.client.post(
        "/inbox/v1/inbound/email",
        params={"to": "factures@centre.example"},
        content=submission(dana, "Any news?", sent=SUBMITTED + timedelta(days=1)),
        headers=raw_headers(await mail_app.token(Role.GATEWAY)),
    )

    assert later["duplicate"] is False
    assert later["message_id"] != first["message_id"]
    assert copy.status_code == 202, copy.text
    assert (copy.json()["duplicate"], copy.json()["message_id"]) == (True, later["message_id"])
    conversation = await mail_app.client.get(
        f"/inbox/v1/conversations/{first['conversation_id']}", headers=await supervisor(mail_app)
    )
    assert [m["text"] for m in conversation.json()["messages"]] == ["Any news?", "Any news?"]


async def test_a_submission_without_a_date_is_told_by_its_message_id_as_before(
    mail_app: Running,
) -> None:
    raw = submission("Dana Whitfield <dana@example.com>", "My bill is wrong.", sent=None)
    first = await post(mail_app, raw)
    again = await post(mail_app, raw)

    assert first["duplicate"] is False
    assert (again["duplicate"], again["message_id"]) == (True, first["message_id"])
