"""Names in template replies: the greeting names the conversation's own customer, never someone
else who wrote into their thread, and ``queue_name`` has a value before routing names a queue."""

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
from tests.inbox.test_outbound import drain_mail
from tests.inbox.test_reply_templates import (
    agent_headers,
    outbound_count,
    plain_body,
    set_language,
)
from tests.support.apps import Running
from tests.support.smtp import SmtpServer, running_with_smtp

NNBSP = "\u202f"
CUSTOMER = "marie.tremblay@exemple.ca"
COLLEAGUE = "Lucie Côté <lucie.cote@exemple.ca>"
HOURS = {
    "fr": "du lundi au vendredi, de 9\u00a0h\u00a030 à 17\u00a0h (heure de l’Est)",
    "en": "Monday to Friday, 9:30\u202fa.m. to 5\u202fp.m. (Eastern Time)",
}
#: The customer's first email, in each language.
FIRST = {
    "fr": (
        "Facture erronée",
        "Bonjour,\n\nMa facture de novembre est erronée : on me facture deux fois le même "
        "forfait. Pouvez-vous corriger la situation?\n\nMerci beaucoup",
    ),
    "en": (
        "Wrong invoice",
        "Hello,\n\nMy November invoice is wrong: I was charged twice for the same plan. "
        "Could you please correct it?\n\nThank you very much",
    ),
}
GREETING = {"fr": "Bonjour,\n", "en": "Hello,\n"}


@pytest.fixture
async def mail_app(db_url: str, tmp_path: Path, smtp_server: SmtpServer) -> AsyncIterator[Running]:
    async with running_with_smtp(
        db_url, tmp_path, smtp_server, mail_from_name="Service à la clientèle"
    ) as running:
        yield running


async def post_email(app: Running, raw: bytes) -> dict[str, Any]:
    answer = await app.client.post(
        "/inbox/v1/inbound/email", content=raw, headers=raw_headers(await app.token(Role.GATEWAY))
    )
    assert answer.status_code == 202, answer.text
    receipt: dict[str, Any] = answer.json()
    return receipt


async def supervisor(app: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}


async def conversation_of(app: Running, receipt: dict[str, Any]) -> dict[str, Any]:
    answer = await app.client.get(
        f"/inbox/v1/conversations/{receipt['conversation_id']}", headers=await supervisor(app)
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def colleague_answers(
    app: Running, smtp_server: SmtpServer, receipt: dict[str, Any], language: str
) -> None:
    """We write to the customer; a colleague of theirs, with a name, answers our email, which
    files their email in the customer's conversation."""
    url = f"/inbox/v1/conversations/{receipt['conversation_id']}/replies"
    text = {"fr": "Pouvez-vous nous envoyer la facture?", "en": "Could you send us the bill?"}
    ours = await app.client.post(url, json={"text": text[language]}, headers=await supervisor(app))
    assert ours.status_code == 201, ours.text
    await drain_mail(app)
    sent = email.message_from_bytes(smtp_server.messages[-1].data, policy=email.policy.default)
    answer = {
        "fr": "Je ne suis pas la personne concernée, mais je lui transmets votre courriel.",
        "en": "I am not the person you wrote to, but I am forwarding your email to her.",
    }
    joined = await post_email(
        app,
        build_email(
            sender=COLLEAGUE,
            subject=f"RE : {FIRST[language][0]}",
            in_reply_to=sent["Message-ID"],
            body=answer[language],
        ),
    )
    assert joined["conversation_id"] == receipt["conversation_id"]


async def closing_reply(
    app: Running, smtp_server: SmtpServer, receipt: dict[str, Any]
) -> tuple[dict[str, Any], str, list[str]]:
    """The agent's closing template reply: the stored reply, the text the customer received
    and whom it went to."""
    before = len(smtp_server.messages)
    answer = await app.client.post(
        f"/inbox/v1/conversations/{receipt['conversation_id']}/replies",
        json={"template_key": "conversation.closing"},
        headers=await agent_headers(app, receipt),
    )
    assert answer.status_code == 201, answer.text
    await drain_mail(app)
    [received] = smtp_server.messages[before:]
    return answer.json(), plain_body(received.data)[1], received.recipients


@pytest.mark.parametrize("language", ["fr", "en"])
async def test_a_customer_without_a_name_is_not_greeted_by_a_colleagues_name(
    mail_app: Running, smtp_server: SmtpServer, language: str
) -> None:
    """The customer wrote without a name; a colleague of theirs (Lucie Côté) answered our
    email in their thread: the closing greets the customer without a name, not as Lucie."""
    subject, body = FIRST[language]
    receipt = await post_email(mail_app, build_email(sender=CUSTOMER, subject=subject, body=body))
    await colleague_answers(mail_app, smtp_server, receipt, language)

    stored, text, recipients = await closing_reply(mail_app, smtp_server, receipt)

    assert (await conversation_of(mail_app, receipt))["contact"]["display_name"] is None
    assert recipients == [CUSTOMER]
    assert text.startswith(GREETING[language])
    assert "Lucie" not in text
    assert stored["text"].strip() == text.strip()
    assert stored["language"] == language


async def test_the_name_the_customer_wrote_with_is_theirs_not_the_last_writers(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    """The customer first wrote with their address as their name (their mailer repeated it);
    they then wrote again with their name, which becomes the contact's, and a colleague wrote
    last: the greeting takes the customer's own name."""
    receipt = await post_email(
        mail_app, build_email(sender=f'"{CUSTOMER}" <{CUSTOMER}>', message_id="<m1@exemple.ca>")
    )
    again = await post_email(
        mail_app,
        build_email(
            sender=f"Marie Tremblay <{CUSTOMER}>",
            subject="RE : Facture erronée",
            message_id="<m2@exemple.ca>",
            in_reply_to="<m1@exemple.ca>",
            body="Je vous écris de nouveau : la facture est toujours erronée.",
        ),
    )
    await colleague_answers(mail_app, smtp_server, receipt, "fr")

    _, text, recipients = await closing_reply(mail_app, smtp_server, receipt)

    assert again["conversation_id"] == receipt["conversation_id"]
    assert (await conversation_of(mail_app, receipt))["contact"]["display_name"] == "Marie Tremblay"
    assert recipients == [CUSTOMER]
    assert text.startswith("Bonjour Marie Tremblay,\n")
    assert "Lucie" not in text


async def out_of_hours_reply(
    app: Running, receipt: dict[str, Any], variables: dict[str, Any], language: str = "en"
) -> Any:
    return await app.client.post(
        f"/inbox/v1/conversations/{receipt['conversation_id']}/replies",
        json={"template_key": "notice.out_of_hours", "variables": variables},
        headers={**await agent_headers(app, receipt), "Accept-Language": language},
    )


@pytest.mark.parametrize("language", ["fr", "en"])
async def test_an_agents_out_of_hours_notice_before_routing_names_a_queue_is_sent(
    mail_app: Running, smtp_server: SmtpServer, language: str
) -> None:
    """An agent sends the out-of-hours notice, with the hours, to a conversation routing has
    not placed in a queue yet: it goes out, in the customer's language, where it was refused
    for want of a queue name the text does not even show."""
    subject, body = FIRST[language]
    receipt = await post_email(mail_app, build_email(subject=subject, body=body))
    assert (await conversation_of(mail_app, receipt))["queue_name"] is None

    answer = await out_of_hours_reply(mail_app, receipt, {"hours": HOURS[language]})
    await drain_mail(mail_app)

    assert answer.status_code == 201, answer.text
    [received] = smtp_server.messages
    text = plain_body(received.data)[1]
    assert received.recipients == [CUSTOMER]
    assert answer.json()["text"].strip() == text.strip()
    if language == "fr":
        assert text.startswith("Bonjour,\n")
        assert f"Nos heures d’ouverture sont les suivantes{NNBSP}: {HOURS['fr']}." in text
    else:
        assert text.startswith("Hello,\n")
        assert f"Our business hours are: {HOURS['en']}." in text
    assert "{" not in text


NOTICE_WITH_QUEUE = {
    "fr": "Bonjour,\n\nVotre message pour {queue_name} nous est parvenu en dehors de nos heures "
    "d’ouverture : {hours}.\n\nService à la clientèle",
    "en": "Hello,\n\nYour message to {queue_name} reached us outside our business hours: "
    "{hours}.\n\nCustomer Service",
}


async def show_the_queue_in_the_notice(app: Running) -> None:
    """An administrator's wording of the notice that shows the queue's name."""
    headers = {"Authorization": f"Bearer {await app.token(Role.ADMIN)}"}
    url = "/translation/v1/templates/notice.out_of_hours"
    versions = (await app.client.get(url, headers=headers)).json()["versions"]
    edited = [
        {
            **{k: v[k] for k in ("locale", "subject", "variables")},
            "body": NOTICE_WITH_QUEUE[v["locale"][:2]],
        }
        for v in versions
    ]
    answer = await app.client.patch(url, json={"versions": edited}, headers=headers)
    assert answer.status_code == 200, answer.text


async def test_a_notice_that_shows_the_queue_names_the_department_in_each_language_until_routed(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    """A notice worded to show {queue_name}, sent before routing names the conversation's
    queue to a customer of undetermined language: each language reads its own department's
    name (never an empty gap, never the other language's)."""
    await show_the_queue_in_the_notice(mail_app)
    receipt = await post_email(mail_app, build_email())
    await set_language(mail_app, receipt, "und")

    answer = await out_of_hours_reply(mail_app, receipt, {"hours": "9:30–17:00"})
    await drain_mail(mail_app)

    assert answer.status_code == 201, answer.text
    text = plain_body(smtp_server.messages[0].data)[1]
    assert (
        f"Votre message pour Service à la clientèle nous est parvenu en dehors de nos heures "
        f"d’ouverture{NNBSP}: 9:30–17:00." in text
    )
    assert "Your message to Customer Service reached us outside our business hours" in text


async def test_a_notice_that_shows_the_queue_names_the_queue_routing_placed_it_in(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    await show_the_queue_in_the_notice(mail_app)
    receipt = await post_email(mail_app, build_email())
    await mail_app.deliver_all()  # routing places it and tells the inbox which queue
    queue_name = (await conversation_of(mail_app, receipt))["queue_name"]

    answer = await out_of_hours_reply(mail_app, receipt, {"hours": HOURS["fr"]})
    await drain_mail(mail_app)

    assert queue_name == "Courriel — français"
    assert answer.status_code == 201, answer.text
    text = plain_body(smtp_server.messages[0].data)[1]
    assert f"Votre message pour {queue_name} nous est parvenu" in text


@pytest.mark.parametrize(
    ("language", "reason", "invalid"),
    [
        (
            "en",
            "Template 'notice.out_of_hours' needs this variable.",
            "Must be text without control characters.",
        ),
        (
            "fr",
            f"Le modèle «{NNBSP}notice.out_of_hours{NNBSP}» exige cette variable.",
            "Doit être un texte sans caractères de contrôle.",
        ),
    ],
)
async def test_a_refused_template_reply_names_only_what_is_wrong_and_changes_nothing(
    mail_app: Running, smtp_server: SmtpServer, language: str, reason: str, invalid: str
) -> None:
    """Without the hours, only the hours are asked for (the queue's name is the inbox's to
    give); a queue name (in a notice that shows it) or a customer name the agent gives as null
    or with control characters is refused. Nothing is stored or sent."""
    await show_the_queue_in_the_notice(mail_app)
    receipt = await post_email(mail_app, build_email(sender=CUSTOMER))
    await colleague_answers(mail_app, smtp_server, receipt, "fr")
    before = await conversation_of(mail_app, receipt)
    stored_before, sent_before = await outbound_count(mail_app), len(smtp_server.messages)

    no_hours = await out_of_hours_reply(mail_app, receipt, {}, language)
    null_queue = await out_of_hours_reply(
        mail_app, receipt, {"hours": HOURS["fr"], "queue_name": None}, language
    )
    bad_queue = await out_of_hours_reply(
        mail_app, receipt, {"hours": HOURS["fr"], "queue_name": "Facturation\x07"}, language
    )
    bad_customer = await mail_app.client.post(
        f"/inbox/v1/conversations/{receipt['conversation_id']}/replies",
        json={"template_key": "conversation.closing", "variables": {"customer_name": "Lucie\x07"}},
        headers={**await agent_headers(mail_app, receipt), "Accept-Language": language},
    )
    await drain_mail(mail_app)

    for refused in (no_hours, null_queue, bad_queue, bad_customer):
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "reply.template_variables"
    assert [(e["field"], e["reason"]) for e in no_hours.json()["errors"]] == [
        ("variables.hours", reason)
    ]
    assert [(e["field"], e["reason"]) for e in null_queue.json()["errors"]] == [
        ("variables.queue_name", reason)
    ]
    assert [(e["field"], e["reason"]) for e in bad_queue.json()["errors"]] == [
        ("variables.queue_name", invalid)
    ]
    assert [(e["field"], e["reason"]) for e in bad_customer.json()["errors"]] == [
        ("variables.customer_name", invalid)
    ]
    after = await conversation_of(mail_app, receipt)
    assert after["messages"] == before["messages"]
    assert await outbound_count(mail_app) == stored_before
    assert len(smtp_server.messages) == sent_before
