"""Bounces of our emails (delivery status notifications, RFC 3464): a bounce that names a reply
we sent lands on that reply's conversation and shows the reply failed, as a refused send does."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from email.header import Header
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.inbox.models import Contact, OutboxEvent
from shared.auth import Role
from tests.inbox.builders import email as build_email
from tests.inbox.builders import raw_headers
from tests.inbox.test_outbound import drain_mail, supervisor
from tests.routing.scenario import admin, agent_headers, create_agent, offers_of, run_engine
from tests.routing.test_stream import next_message, open_feed, parse
from tests.support.apps import Running
from tests.support.smtp import SmtpServer, running_with_smtp

CUSTOMER = "marie.tremblay@exemple.ca"
CUSTOMER_ID = "<q1@exemple.ca>"


@pytest.fixture
async def mail_app(db_url: str, tmp_path: Path, smtp_server: SmtpServer) -> AsyncIterator[Running]:
    async with running_with_smtp(db_url, tmp_path, smtp_server) as running:
        yield running


@dataclass(frozen=True)
class Sent:
    """A reply as the customer's server received it."""

    conversation_id: str
    reply_id: str
    data: bytes

    @property
    def headers(self) -> email.message.EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        return parsed

    @property
    def header_block(self) -> str:
        """The reply's header block, as text/rfc822-headers carries it."""
        return _text(self.data).partition("\r\n\r\n")[0] + "\r\n"


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _raw(text: str) -> bytes:
    """The report as a gateway posts it: CRLF line ends, UTF-8."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8", "surrogateescape")


def _subject(prefix: str, sent: Sent) -> str:
    return Header(f"{prefix}{sent.headers['Subject']}", "utf-8").encode()


def postfix_bounce(sent: Sent) -> bytes:
    """Postfix's bounce: the whole reply attached as message/rfc822, no In-Reply-To."""
    return _raw(
        f"""Return-Path: <>
Received: by mx.exemple.ca (Postfix)
\tid 4F2C81E0123; Sat, 21 Nov 2026 10:00:02 -0500 (EST)
Date: Sat, 21 Nov 2026 10:00:02 -0500 (EST)
From: MAILER-DAEMON@mx.exemple.ca (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {sent.headers["From"]}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4F2C81E0123.1795186802/mx.exemple.ca"
Content-Transfer-Encoding: 8bit
Message-Id: <20261121150002.4F2C81E0123@mx.exemple.ca>

This is a MIME-encapsulated message.

--4F2C81E0123.1795186802/mx.exemple.ca
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.exemple.ca.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<{CUSTOMER}>: host mail.exemple.ca[192.0.2.25] said: 550 5.1.1
    <{CUSTOMER}>: Recipient address rejected: User unknown in
    virtual mailbox table (in reply to RCPT TO command)

--4F2C81E0123.1795186802/mx.exemple.ca
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.exemple.ca
X-Postfix-Queue-ID: 4F2C81E0123
X-Postfix-Sender: rfc822; {sent.headers["From"].addresses[0].addr_spec}
Arrival-Date: Sat, 21 Nov 2026 10:00:01 -0500 (EST)

Final-Recipient: rfc822; {CUSTOMER}
Original-Recipient: rfc822;{CUSTOMER}
Action: failed
Status: 5.1.1
Remote-MTA: dns; mail.exemple.ca
Diagnostic-Code: smtp; 550 5.1.1 <{CUSTOMER}>: Recipient address
    rejected: User unknown in virtual mailbox table

--4F2C81E0123.1795186802/mx.exemple.ca
Content-Description: Undelivered Message
Content-Type: message/rfc822
Content-Transfer-Encoding: 8bit

{_text(sent.data)}
--4F2C81E0123.1795186802/mx.exemple.ca--
"""
    )


def exchange_bounce(sent: Sent) -> bytes:
    """Exchange's non-delivery report: only the reply's headers, as text/rfc822-headers."""
    return _raw(
        f"""From: postmaster@exemple.ca
To: {sent.headers["From"]}
Date: Sat, 21 Nov 2026 15:00:03 +0000
Subject: {_subject("Undeliverable: ", sent)}
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="_000_DM6PR04MB6713B7E3A1C2_"
Content-Language: en-US
Message-ID: <0f3a1c2e-5b7d-4e8a-9c1f-2d6b8e4a7c90@DM6PR04MB6713.exemple.ca>
Auto-Submitted: auto-replied
X-MS-Exchange-Message-Is-Ndr:
MIME-Version: 1.0

--_000_DM6PR04MB6713B7E3A1C2_
Content-Type: multipart/alternative; boundary="_001_alt_"

--_001_alt_
Content-Type: text/plain; charset="us-ascii"

Your message to {CUSTOMER} couldn't be delivered.
{CUSTOMER} wasn't found at exemple.ca.

--_001_alt_
Content-Type: text/html; charset="us-ascii"

<html><body><p>Your message to {CUSTOMER} couldn't be delivered.</p></body></html>

--_001_alt_--

--_000_DM6PR04MB6713B7E3A1C2_
Content-Type: message/delivery-status

Reporting-MTA: dns;DM6PR04MB6713.exemple.ca
Received-From-MTA: dns;mail.centre.example
Arrival-Date: Sat, 21 Nov 2026 15:00:01 +0000

Final-Recipient: rfc822;{CUSTOMER}
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by
 SMTP address lookup

--_000_DM6PR04MB6713B7E3A1C2_
Content-Type: text/rfc822-headers

{sent.header_block}
--_000_DM6PR04MB6713B7E3A1C2_--
"""
    )


def french_bounce(sent: Sent) -> bytes:
    """A French report, « Non remis », with UTF-8 in its status (RFC 6533)."""
    return _raw(
        f"""From: =?utf-8?q?Syst=C3=A8me_de_messagerie?= <postmaster@exemple.ca>
To: {sent.headers["From"]}
Date: Sat, 21 Nov 2026 10:00:04 -0500
Subject: {_subject("Non remis : ", sent)}
Message-ID: <ndr-7781@mx.exemple.ca>
Content-Language: fr-CA
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=global-delivery-status; boundary="rapport"

--rapport
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Échec de remise à ces destinataires ou groupes :

{CUSTOMER}
L’adresse de messagerie que vous avez entrée est introuvable.

--rapport
Content-Type: message/global-delivery-status
Content-Transfer-Encoding: 8bit

Reporting-MTA: dns; mx.exemple.ca

Final-Recipient: rfc822; {CUSTOMER}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 Boîte aux lettres inconnue

--rapport
Content-Type: message/global-headers
Content-Transfer-Encoding: 8bit

{sent.header_block}
--rapport--
"""
    )


def postfix_gave_up(sent: Sent) -> bytes:
    """Postfix's bounce once the reply stayed in its queue too long: failed, with a 4.x.x status."""
    return _raw(
        f"""Return-Path: <>
Date: Sat, 26 Nov 2026 10:00:02 -0500 (EST)
From: MAILER-DAEMON@relais.exemple.ca (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {sent.headers["From"]}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="9A1.1795618802/relais"
Message-Id: <20261126150002.9A1@relais.exemple.ca>

--9A1.1795618802/relais
Content-Type: text/plain; charset=us-ascii

This is the mail system at host relais.exemple.ca.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

--9A1.1795618802/relais
Content-Type: message/delivery-status

Reporting-MTA: dns; relais.exemple.ca

Final-Recipient: rfc822; {CUSTOMER}
Action: failed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mail.exemple.ca[192.0.2.25]:25: Connection
    timed out

--9A1.1795618802/relais
Content-Type: message/rfc822

{_text(sent.data)}
--9A1.1795618802/relais--
"""
    )


def delayed_notice(sent: Sent) -> bytes:
    """Exchange's notice that the reply is delayed (4.4.7), still being retried."""
    return _raw(
        f"""From: postmaster@exemple.ca
To: {sent.headers["From"]}
Date: Sat, 21 Nov 2026 19:00:03 +0000
Subject: {_subject("Delivery delayed:", sent)}
Content-Type: multipart/report; report-type=delivery-status; boundary="_002_delay_"
Message-ID: <delay-51c0@DM6PR04MB6713.exemple.ca>
Auto-Submitted: auto-replied
MIME-Version: 1.0

--_002_delay_
Content-Type: text/plain; charset="us-ascii"

Delivery of your message to {CUSTOMER} has been delayed. We'll keep trying.

--_002_delay_
Content-Type: message/delivery-status

Reporting-MTA: dns;DM6PR04MB6713.exemple.ca

Final-Recipient: rfc822;{CUSTOMER}
Action: delayed
Status: 4.4.7
Diagnostic-Code: smtp;400 4.4.7 Message delayed
Will-Retry-Until: Mon, 23 Nov 2026 15:00:01 +0000

--_002_delay_
Content-Type: text/rfc822-headers

{sent.header_block}
--_002_delay_--
"""
    )


async def post_email(app: Running, raw: bytes) -> dict[str, Any]:
    answer = await app.client.post(
        "/inbox/v1/inbound/email",
        content=raw,
        headers=raw_headers(await app.token(Role.GATEWAY)),
    )
    assert answer.status_code == 202, answer.text
    receipt: dict[str, Any] = answer.json()
    return receipt


async def send_reply(
    app: Running,
    smtp_server: SmtpServer,
    headers: dict[str, str],
    *,
    resolve: bool = False,
    conversation_id: str | None = None,
) -> Sent:
    """A customer's email, the agent's reply to it (the conversation resolved first if asked),
    and the reply as the customer's server received it."""
    if conversation_id is None:
        receipt = await post_email(app, build_email(message_id=CUSTOMER_ID))
        conversation_id = str(receipt["conversation_id"])
    url = f"/inbox/v1/conversations/{conversation_id}"
    if resolve:
        resolved = await app.client.post(f"{url}/resolve", json={}, headers=headers)
        assert resolved.status_code == 200, resolved.text
    reply = await app.client.post(f"{url}/replies", json={"text": "Bonjour."}, headers=headers)
    assert reply.status_code == 201, reply.text
    await drain_mail(app)
    return Sent(conversation_id, reply.json()["id"], smtp_server.messages[-1].data)


async def read(app: Running, conversation_id: str, headers: dict[str, str]) -> dict[str, Any]:
    answer = await app.client.get(f"/inbox/v1/conversations/{conversation_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    conversation: dict[str, Any] = answer.json()
    return conversation


async def events(app: Running, event_type: str) -> list[dict[str, Any]]:
    """What the inbox put in its outbox for routing, of this type, oldest first."""
    async with app.context("inbox").require_sessions()() as session:
        rows = await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.type == event_type)
            .order_by(OutboxEvent.occurred_at)
        )
        return [row.payload for row in rows]


async def contact_count(app: Running) -> int:
    async with app.context("inbox").require_sessions()() as session:
        return int(await session.scalar(select(func.count()).select_from(Contact)) or 0)


def by_id(conversation: dict[str, Any], message_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [m for m in conversation["messages"] if m["id"] == message_id]
    [message] = found
    return message


@pytest.mark.parametrize(
    ("bounce", "code", "reason", "expired"),
    [
        pytest.param(
            postfix_bounce,
            550,
            f"5.1.1 <{CUSTOMER}>: Recipient address rejected: User unknown in virtual "
            "mailbox table",
            False,
            id="postfix-message-rfc822",
        ),
        pytest.param(
            exchange_bounce,
            550,
            "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
            False,
            id="exchange-rfc822-headers",
        ),
        pytest.param(
            french_bounce,
            550,
            "5.1.1 Boîte aux lettres inconnue",
            False,
            id="french-global-report",
        ),
        pytest.param(
            postfix_gave_up,
            None,
            "4.4.1 connect to mail.exemple.ca[192.0.2.25]:25: Connection timed out",
            True,
            id="postfix-gave-up",
        ),
    ],
)
async def test_a_bounce_shows_the_reply_failed_in_its_resolved_conversation(
    mail_app: Running,
    smtp_server: SmtpServer,
    bounce: Callable[[Sent], bytes],
    code: int | None,
    reason: str,
    expired: bool,
) -> None:
    headers = await supervisor(mail_app)
    sent = await send_reply(mail_app, smtp_server, headers, resolve=True)
    before = await read(mail_app, sent.conversation_id, headers)
    asked = len(await events(mail_app, "conversation.needs_agent"))

    receipt = await post_email(mail_app, bounce(sent))
    after = await read(mail_app, sent.conversation_id, headers)
    again = await post_email(mail_app, bounce(sent))
    after_again = await read(mail_app, sent.conversation_id, headers)

    assert receipt["conversation_id"] == sent.conversation_id
    assert (receipt["status"], receipt["duplicate"]) == ("auto_reply", False)
    reply = by_id(after, sent.reply_id)
    assert by_id(before, sent.reply_id)["status"] == "sent"
    assert reply["status"] == "failed"
    assert reply["failure_reason"] == reason
    assert reply["failure_code"] == code
    assert reply["failure_expired"] is expired
    assert [(m["direction"], m["status"]) for m in after["messages"]] == [
        ("inbound", "accepted"),
        ("outbound", "failed"),
        ("inbound", "auto_reply"),
    ]
    # An auto-reply: it reopens nothing and asks routing for no agent.
    assert (after["status"], after["routing_status"]) == ("resolved", before["routing_status"])
    assert after["assignee_agent_id"] == before["assignee_agent_id"]
    assert len(await events(mail_app, "conversation.needs_agent")) == asked
    # Filed under the customer: the mail daemon is no contact of ours.
    assert receipt["contact_id"] == after["contact"]["id"]
    assert await contact_count(mail_app) == 1
    # A re-post of the same bounce is a duplicate and changes nothing.
    assert again == {**receipt, "duplicate": True}
    assert after_again == after


async def test_the_agent_whose_reply_bounced_is_told_once_on_its_live_stream(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    headers = await admin(mail_app)
    chloe = await create_agent(mail_app, headers, name="Chloé", languages={"fr": 5})
    receipt = await post_email(mail_app, build_email(message_id=CUSTOMER_ID))
    await mail_app.deliver_all()
    await run_engine(mail_app)
    [offer] = await offers_of(mail_app, chloe["id"], headers)
    as_chloe = await agent_headers(mail_app, chloe["id"])
    accepted = await mail_app.client.post(
        f"/routing/v1/offers/{offer['id']}/accept", headers=as_chloe
    )
    assert accepted.status_code == 200, accepted.text
    await mail_app.deliver_all()
    sent = await send_reply(
        mail_app, smtp_server, as_chloe, conversation_id=receipt["conversation_id"]
    )

    bounced = await post_email(mail_app, exchange_bounce(sent))
    await post_email(mail_app, exchange_bounce(sent))
    await mail_app.deliver_all()
    conversation = await read(mail_app, sent.conversation_id, as_chloe)
    feed = open_feed(mail_app, chloe["id"], last_event_id=0)
    try:
        assert (await next_message(feed)).startswith("retry: ")
        replayed = [parse(await next_message(feed)) for _ in range(4)]
    finally:
        await feed.aclose()

    assert bounced["conversation_id"] == sent.conversation_id
    # Still hers, still open: the bounce is for her to see, not a new customer message.
    assert (conversation["status"], conversation["assignee_agent_id"]) == ("open", chloe["id"])
    assert [event["event"] for event in replayed] == [
        "status",
        "offer",
        "assignment",
        "email.failed",
    ]
    assert replayed[-1]["data"] == {
        "conversation_id": sent.conversation_id,
        "message_id": sent.reply_id,
        "recipients": [CUSTOMER],
        "subject": sent.headers["Subject"],
        "failure_code": 550,
        "failure_reason": "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP "
        "address lookup",
        "expired": False,
    }
    assert len(await events(mail_app, "email.failed")) == 1


async def test_a_delayed_notice_is_kept_on_the_thread_and_changes_nothing(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    headers = await supervisor(mail_app)
    sent = await send_reply(mail_app, smtp_server, headers)
    before = await read(mail_app, sent.conversation_id, headers)

    receipt = await post_email(mail_app, delayed_notice(sent))
    after = await read(mail_app, sent.conversation_id, headers)

    assert receipt["conversation_id"] == sent.conversation_id
    assert receipt["status"] == "auto_reply"
    assert after["messages"][:-1] == before["messages"]
    assert (after["messages"][-1]["id"], after["messages"][-1]["status"]) == (
        receipt["message_id"],
        "auto_reply",
    )
    reply = by_id(after, sent.reply_id)
    assert (reply["status"], reply["failure_reason"], reply["failure_code"]) == ("sent", None, None)
    assert after["status"] == before["status"]
    assert after["routing_status"] == before["routing_status"]
    assert await events(mail_app, "email.failed") == []


def unknown_message(sent: Sent) -> bytes:
    """A bounce of an email we never sent (backscatter of a forged sender)."""
    forged = build_email(
        sender=f"Service <{sent.headers['From'].addresses[0].addr_spec}>",
        to=CUSTOMER,
        subject="Gagnez un iPhone",
        message_id="<spam-8812@botnet.example>",
    )
    return postfix_bounce(Sent(sent.conversation_id, sent.reply_id, forged))


def customers_own_email(sent: Sent) -> bytes:
    """A bounce that returns the customer's own email to us, not one of ours."""
    theirs = build_email(message_id=CUSTOMER_ID)
    return exchange_bounce(Sent(sent.conversation_id, sent.reply_id, theirs))


@pytest.mark.parametrize("bounce", [unknown_message, customers_own_email])
async def test_a_bounce_of_no_email_of_ours_is_filed_as_before(
    mail_app: Running, smtp_server: SmtpServer, bounce: Callable[[Sent], bytes]
) -> None:
    headers = await supervisor(mail_app)
    sent = await send_reply(mail_app, smtp_server, headers)
    before = await read(mail_app, sent.conversation_id, headers)

    receipt = await post_email(mail_app, bounce(sent))
    filed = await read(mail_app, receipt["conversation_id"], headers)
    after = await read(mail_app, sent.conversation_id, headers)

    assert receipt["conversation_id"] != sent.conversation_id
    assert receipt["status"] == "auto_reply"
    # A conversation of its own, resolved and never routed, as any unthreaded auto-reply.
    assert (filed["status"], filed["routing_status"]) == ("resolved", "not_routed")
    assert [m["id"] for m in filed["messages"]] == [receipt["message_id"]]
    assert after == before
    assert by_id(after, sent.reply_id)["status"] == "sent"
    assert await events(mail_app, "email.failed") == []


def out_of_office(sent: Sent) -> bytes:
    """The customer's out-of-office answer to our reply, with its own Message-ID."""
    return build_email(
        subject="Réponse automatique : " + str(sent.headers["Subject"]),
        message_id="<absence-1@exemple.ca>",
        in_reply_to=str(sent.headers["Message-ID"]),
        body="Je suis absente jusqu’au 7 décembre.",
        headers={"Auto-Submitted": "auto-replied"},
    )


@pytest.mark.parametrize("automatic", [postfix_bounce, out_of_office])
async def test_the_next_reply_answers_the_customers_email_not_the_automatic_one(
    mail_app: Running, smtp_server: SmtpServer, automatic: Callable[[Sent], bytes]
) -> None:
    """A bounce or an out-of-office joins the thread, but the next reply still answers the
    customer's own email: its Message-ID the customer's mail program knows."""
    headers = await supervisor(mail_app)
    sent = await send_reply(mail_app, smtp_server, headers)
    joined = await post_email(mail_app, automatic(sent))

    second = await send_reply(mail_app, smtp_server, headers, conversation_id=sent.conversation_id)

    assert joined["conversation_id"] == sent.conversation_id
    assert second.headers["In-Reply-To"] == CUSTOMER_ID
    assert second.headers["References"] == CUSTOMER_ID
