"""Replies from approved templates: rendered in the customer's language, sent by real SMTP."""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.inbox.models import Conversation, Message
from shared.auth import Role
from shared.clients.translation import TranslationClient
from shared.db import session_scope
from tests.inbox.test_outbound import drain_mail, start_conversation
from tests.support.apps import Running
from tests.support.processes import free_port
from tests.support.smtp import SmtpServer, running_with_smtp

NNBSP = "\u202f"

#: The payment arrangement letter's figures, every one valid.
LETTER = {
    "account_number": "4417-2231",
    "agreed_on": "2026-03-02",
    "total_amount": "1234.56",
    "installment_count": 3,
    "installment_amount": "411.52",
    "first_due": "2026-04-01",
    "last_due": "2026-06-01",
}


@pytest.fixture
async def mail_app(db_url: str, tmp_path: Path, smtp_server: SmtpServer) -> AsyncIterator[Running]:
    async with running_with_smtp(
        db_url, tmp_path, smtp_server, mail_from_name="Service à la clientèle"
    ) as running:
        yield running


async def agent_headers(app: Running, receipt: dict[str, Any]) -> dict[str, str]:
    """An agent named Julie Gagnon, assigned the conversation."""
    agent_id = uuid.uuid4()
    async with session_scope(app.context("inbox").require_sessions()) as session:
        conversation = await session.get(Conversation, uuid.UUID(receipt["conversation_id"]))
        assert conversation is not None
        conversation.assignee_agent_id = agent_id
    token = await app.token(Role.AGENT, agent_id=agent_id, name="Julie Gagnon")
    return {"Authorization": f"Bearer {token}"}


async def set_language(app: Running, receipt: dict[str, Any], language: str) -> None:
    async with session_scope(app.context("inbox").require_sessions()) as session:
        conversation = await session.get(Conversation, uuid.UUID(receipt["conversation_id"]))
        assert conversation is not None
        conversation.language = language


async def outbound_count(app: Running) -> int:
    async with app.context("inbox").require_sessions()() as session:
        count = await session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "outbound")
        )
    return int(count or 0)


def plain_body(data: bytes) -> tuple[email.message.EmailMessage, str]:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    return parsed, body.get_content().replace("\r\n", "\n")


async def test_a_french_template_reply_is_rendered_filled_and_sent_with_french_typography(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await start_conversation(mail_app)
    headers = await agent_headers(mail_app, receipt)

    answer = await mail_app.client.post(
        f"/inbox/v1/conversations/{receipt['conversation_id']}/replies",
        json={"template_key": "conversation.closing"},
        headers=headers,
    )
    await drain_mail(mail_app)

    assert answer.status_code == 201, answer.text
    reply = answer.json()
    [sent] = smtp_server.messages
    parsed, text = plain_body(sent.data)
    conversation = await mail_app.client.get(
        f"/inbox/v1/conversations/{receipt['conversation_id']}", headers=headers
    )
    reference = conversation.json()["reference"]
    assert parsed["Subject"] == "RE\u00a0: Facture erronée"
    assert parsed["Content-Language"] == "fr-CA"
    assert text.startswith("Bonjour Marie Tremblay,\n")
    assert f"votre demande {reference} est réglée{NNBSP}; nous l’avons donc fermée." in text
    assert f"bonne journée{NNBSP}!" in text
    assert "Julie Gagnon\nService à la clientèle" in text
    assert "{" not in text
    assert reply["text"].strip() == text.strip()
    assert reply["language"] == "fr"
    assert conversation.json()["messages"][-1]["id"] == reply["id"]


async def test_explicit_variables_win_over_the_inboxs_own(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await start_conversation(mail_app)

    answer = await mail_app.client.post(
        f"/inbox/v1/conversations/{receipt['conversation_id']}/replies",
        json={
            "template_key": "conversation.closing",
            "variables": {"customer_name": "Madame Tremblay", "agent_name": "L’équipe Facturation"},
        },
        headers=await agent_headers(mail_app, receipt),
    )
    await drain_mail(mail_app)

    assert answer.status_code == 201, answer.text
    _, text = plain_body(smtp_server.messages[0].data)
    assert text.startswith("Bonjour Madame Tremblay,\n")
    assert "L’équipe Facturation\nService à la clientèle" in text
    assert "Julie Gagnon" not in text


async def test_an_undetermined_customer_gets_both_languages_unless_the_agent_chooses(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await start_conversation(mail_app)
    await set_language(mail_app, receipt, "und")
    headers = await agent_headers(mail_app, receipt)
    url = f"/inbox/v1/conversations/{receipt['conversation_id']}/replies"

    both = await mail_app.client.post(
        url, json={"template_key": "conversation.closing"}, headers=headers
    )
    english = await mail_app.client.post(
        url, json={"template_key": "conversation.closing", "language": "en"}, headers=headers
    )
    await drain_mail(mail_app)

    assert (both.status_code, english.status_code) == (201, 201)
    texts = [plain_body(m.data)[1] for m in smtp_server.messages]
    [bilingual_text] = [t for t in texts if "Bonjour" in t]
    [english_text] = [t for t in texts if "Bonjour" not in t]
    assert "Hello Marie Tremblay," in bilingual_text
    assert bilingual_text.index("Bonjour") < bilingual_text.index("Hello")
    assert english_text.startswith("Hello Marie Tremblay,\n")
    assert "Thank you for your trust, and have a great day!" in english_text


async def test_a_template_in_the_other_language_needs_confirmation(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await start_conversation(mail_app)
    headers = {**await agent_headers(mail_app, receipt), "Accept-Language": "fr"}
    url = f"/inbox/v1/conversations/{receipt['conversation_id']}/replies"
    body = {"template_key": "conversation.closing", "language": "en"}

    refused = await mail_app.client.post(url, json=body, headers=headers)
    stored_after_refusal = await outbound_count(mail_app)
    confirmed = await mail_app.client.post(
        url, json={**body, "confirm_language": True}, headers=headers
    )
    await drain_mail(mail_app)

    assert refused.status_code == 409
    assert refused.json()["code"] == "reply.language_confirmation_required"
    assert stored_after_refusal == 0
    assert confirmed.status_code == 201
    parsed, text = plain_body(smtp_server.messages[0].data)
    assert parsed["Subject"] == "Re: Facture erronée"
    assert text.startswith("Hello Marie Tremblay,\n")


async def test_text_and_template_together_or_neither_are_refused_and_nothing_is_stored(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await start_conversation(mail_app)
    headers = {**await agent_headers(mail_app, receipt), "Accept-Language": "fr"}
    url = f"/inbox/v1/conversations/{receipt['conversation_id']}/replies"

    both = await mail_app.client.post(
        url, json={"text": "Bonjour.", "template_key": "conversation.closing"}, headers=headers
    )
    neither = await mail_app.client.post(url, json={"language": "fr"}, headers=headers)
    html = await mail_app.client.post(
        url, json={"template_key": "conversation.closing", "html": "<p>x</p>"}, headers=headers
    )
    await drain_mail(mail_app)

    for refused in (both, neither, html):
        assert refused.status_code == 422
        assert refused.json()["code"] == "reply.text_or_template"
    for refused in (both, neither):
        assert refused.json()["detail"] == (
            f"Une réponse a soit un texte (text), soit un modèle (template_key){NNBSP}: "
            "un seul des deux."
        )
    assert [(e["field"], e["reason"]) for e in neither.json()["errors"]] == [
        ("text", "Indiquez soit text, soit template_key (un seul des deux)."),
        ("template_key", "Indiquez soit text, soit template_key (un seul des deux)."),
    ]
    assert html.json()["title"] == "HTML avec un modèle"
    assert html.json()["detail"] == "Le HTML ne s’emploie qu’avec text, pas avec un modèle."
    assert [e["field"] for e in html.json()["errors"]] == ["html"]
    assert await outbound_count(mail_app) == 0
    assert smtp_server.messages == []


async def test_an_unknown_template_or_bad_variables_are_clear_and_change_nothing(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await start_conversation(mail_app)
    headers = {**await agent_headers(mail_app, receipt), "Accept-Language": "fr"}
    url = f"/inbox/v1/conversations/{receipt['conversation_id']}/replies"

    unknown = await mail_app.client.post(
        url, json={"template_key": "billing.unheard_of"}, headers=headers
    )
    missing = await mail_app.client.post(
        url, json={"template_key": "letter.payment_arrangement"}, headers=headers
    )
    undeclared = await mail_app.client.post(
        url,
        json={"template_key": "conversation.closing", "variables": {"coupon": "X1"}},
        headers=headers,
    )
    mistyped = await mail_app.client.post(
        url,
        json={
            "template_key": "letter.payment_arrangement",
            "variables": {**LETTER, "total_amount": "beaucoup"},
        },
        headers=headers,
    )
    nulled = await mail_app.client.post(
        url,
        json={"template_key": "conversation.closing", "variables": {"customer_name": None}},
        headers=headers,
    )
    await drain_mail(mail_app)

    assert unknown.status_code == 422
    assert unknown.json()["code"] == "reply.template_not_found"
    assert (
        unknown.json()["detail"] == f"Il n’existe aucun modèle «{NNBSP}billing.unheard_of{NNBSP}»."
    )
    assert [e["field"] for e in unknown.json()["errors"]] == ["template_key"]
    assert missing.status_code == 422
    assert missing.json()["code"] == "reply.template_variables"
    # The customer's and agent's names are filled in by the inbox; the letter's figures are not.
    assert sorted(e["field"] for e in missing.json()["errors"]) == sorted(
        f"variables.{name}" for name in LETTER
    )
    assert missing.json()["errors"][0]["reason"] == (
        f"Le modèle «{NNBSP}letter.payment_arrangement{NNBSP}» exige cette variable."
    )
    assert undeclared.status_code == 422
    assert [e["field"] for e in undeclared.json()["errors"]] == ["variables.coupon"]
    assert mistyped.status_code == 422, mistyped.text
    assert mistyped.json()["code"] == "reply.template_variables"
    [error] = mistyped.json()["errors"]
    assert error["field"] == "variables.total_amount"
    assert error["reason"] == "Doit être un montant, ou un montant et une devise ISO 4217."
    assert nulled.status_code == 422
    assert [(e["field"], e["reason"]) for e in nulled.json()["errors"]] == [
        (
            "variables.customer_name",
            f"Le modèle «{NNBSP}conversation.closing{NNBSP}» exige cette variable.",
        )
    ]
    assert await outbound_count(mail_app) == 0
    assert smtp_server.messages == []


async def test_a_template_reply_when_translation_is_down_is_503_and_nothing_is_queued(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await start_conversation(mail_app)
    headers = {**await agent_headers(mail_app, receipt), "Idempotency-Key": "closing-1"}
    url = f"/inbox/v1/conversations/{receipt['conversation_id']}/replies"
    extras = mail_app.context("inbox").extras
    working = extras["translation"]
    # A real client to a loopback port nobody listens on: the service is down.
    down = TranslationClient(base_url=f"http://127.0.0.1:{free_port()}", token="x", timeout=2)
    extras["translation"] = down
    try:
        refused = await mail_app.client.post(
            url, json={"template_key": "conversation.closing"}, headers=headers
        )
        stored_while_down = await outbound_count(mail_app)
    finally:
        extras["translation"] = working
        await down.aclose()
    first = await mail_app.client.post(
        url, json={"template_key": "conversation.closing"}, headers=headers
    )
    again = await mail_app.client.post(
        url, json={"template_key": "conversation.closing"}, headers=headers
    )
    await drain_mail(mail_app)

    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.json()["code"] == "peer.unavailable"
    assert stored_while_down == 0
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize(
    ("language", "amount_reason", "count_reason"),
    [
        (
            "en",
            "Must be an amount between -1,000,000,000,000,000 and 1,000,000,000,000,000.",
            "Must be a number between -1,000,000,000,000,000 and 1,000,000,000,000,000.",
        ),
        (
            "fr",
            "Doit être un montant compris entre -{bound} et {bound}.".format(
                bound=NNBSP.join(["1", *["000"] * 5])
            ),
            "Doit être un nombre compris entre -{bound} et {bound}.".format(
                bound=NNBSP.join(["1", *["000"] * 5])
            ),
        ),
    ],
)
async def test_a_figure_beyond_the_bound_names_the_bound_and_nothing_is_sent(
    mail_app: Running, smtp_server: SmtpServer, language: str, amount_reason: str, count_reason: str
) -> None:
    receipt = await start_conversation(mail_app)
    headers = {**await agent_headers(mail_app, receipt), "Accept-Language": language}
    url = f"/inbox/v1/conversations/{receipt['conversation_id']}/replies"
    before = await mail_app.client.get(
        f"/inbox/v1/conversations/{receipt['conversation_id']}", headers=headers
    )

    amount = await mail_app.client.post(
        url,
        json={
            "template_key": "letter.payment_arrangement",
            "variables": {**LETTER, "total_amount": 1e20},
        },
        headers=headers,
    )
    count = await mail_app.client.post(
        url,
        json={
            "template_key": "letter.payment_arrangement",
            "variables": {**LETTER, "installment_count": -(10**16)},
        },
        headers=headers,
    )
    await drain_mail(mail_app)
    after = await mail_app.client.get(
        f"/inbox/v1/conversations/{receipt['conversation_id']}", headers=headers
    )

    assert (amount.status_code, count.status_code) == (422, 422), amount.text
    assert amount.json()["code"] == count.json()["code"] == "reply.template_variables"
    assert [(e["field"], e["code"], e["reason"]) for e in amount.json()["errors"]] == [
        ("variables.total_amount", "variable_invalid", amount_reason)
    ]
    assert [(e["field"], e["reason"]) for e in count.json()["errors"]] == [
        ("variables.installment_count", count_reason)
    ]
    assert await outbound_count(mail_app) == 0
    assert smtp_server.messages == []
    assert after.json()["messages"] == before.json()["messages"]
