"""An agent's callback confirmation with a number that is no phone number is refused, the
variable named and the reason given in the agent's language; nothing is sent."""

from __future__ import annotations

import pytest

from tests.inbox.test_outbound import start_conversation
from tests.inbox.test_reply_templates import agent_headers, mail_app, outbound_count  # noqa: F401
from tests.support.apps import Running
from tests.support.smtp import SmtpServer


@pytest.mark.parametrize(
    ("language", "reason"),
    [
        (
            "en",
            "Must be a phone number, in international form (+1 514-555-0177) or of the "
            "customer's country.",
        ),
        (
            "fr",
            "Doit être un numéro de téléphone, sous sa forme internationale (+1 514-555-0177) "
            "ou du pays du client.",
        ),
    ],
)
async def test_a_callback_confirmation_with_no_phone_number_is_refused_and_sends_nothing(
    mail_app: Running,  # noqa: F811
    smtp_server: SmtpServer,
    language: str,
    reason: str,
) -> None:
    receipt = await start_conversation(mail_app)
    headers = {**await agent_headers(mail_app, receipt), "Accept-Language": language}

    refused = await mail_app.client.post(
        f"/inbox/v1/conversations/{receipt['conversation_id']}/replies",
        json={
            "template_key": "callback.confirmation",
            "variables": {
                "callback_at": "2027-01-15T14:30:00-05:00",
                "phone_number": "appelez-moi",
            },
        },
        headers=headers,
    )

    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "reply.template_variables"
    assert [(e["field"], e["reason"]) for e in refused.json()["errors"]] == [
        ("variables.phone_number", reason)
    ]
    assert await outbound_count(mail_app) == 0
    assert smtp_server.messages == []
