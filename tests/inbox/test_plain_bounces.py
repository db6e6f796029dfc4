"""Bounces written as text (qmail, Exim, Gmail, Exchange's text form, French ones): no delivery
status part, only the returned reply's headers quoted in the text and the remote server's answer.
One that quotes the Message-ID of a reply we sent lands on that reply's conversation and, when it
reports the reply given up, shows it failed, as a delivery status notification does. And a bounce
arriving while its reply is still queued (sent, not yet recorded as sent) leaves it failed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from email.header import Header
from pathlib import Path
from typing import Any

import pytest

from tests.inbox.builders import email as build_email
from tests.inbox.test_bounces import (
    CUSTOMER,
    Sent,
    by_id,
    contact_count,
    events,
    post_email,
    postfix_bounce,
    read,
    send_reply,
)
from tests.inbox.test_outbound import drain_mail, supervisor
from tests.routing.scenario import admin, agent_headers, create_agent, offers_of, run_engine
from tests.support.apps import Running
from tests.support.smtp import RecordingHandler, SmtpServer, running_with_smtp, serving_smtp


@pytest.fixture
async def mail_app(db_url: str, tmp_path: Path, smtp_server: SmtpServer) -> AsyncIterator[Running]:
    async with running_with_smtp(db_url, tmp_path, smtp_server) as running:
        yield running


#: Answers as some servers write them, on one long line.
QMAIL_ANSWER = (
    "Sorry, no SMTP connection got far enough; most progress was RCPT TO response; remote host "
    f"192.0.2.25 said: 550 Unknown user {CUSTOMER}"
)
EXCHANGE_ANSWER = (
    "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
)


def _raw(text: str) -> bytes:
    """The bounce as a gateway posts it: CRLF line ends, UTF-8."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8", "surrogateescape")


def _copy(sent: Sent) -> str:
    """The whole reply, as a bounce quotes it below its words."""
    return sent.data.decode("utf-8", "surrogateescape").replace("\r\n", "\n")


def _headers(sent: Sent) -> str:
    """The reply's header block, as a bounce quotes it."""
    return sent.header_block.replace("\r\n", "\n")


def _subject(prefix: str, sent: Sent) -> str:
    return Header(f"{prefix}{sent.headers['Subject']}", "utf-8").encode()


def _ours(sent: Sent) -> str:
    return str(sent.headers["From"].addresses[0].addr_spec)


def qmail_bounce(sent: Sent) -> bytes:
    """qmail's bounce: no Message-ID of its own, the status at the end of the answer."""
    return _raw(
        f"""Return-Path: <>
Received: (qmail 10000 invoked for bounce); 21 Nov 2026 15:00:00 -0000
Date: 21 Nov 2026 15:00:00 -0000
From: MAILER-DAEMON@mx.exemple.ca
To: {_ours(sent)}
Subject: failure notice

Hi. This is the qmail-send program at mx.exemple.ca.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{CUSTOMER}>:
{QMAIL_ANSWER}
. (#5.1.1)

--- Below this line is a copy of the message.

{_copy(sent)}
"""
    )


def exim_bounce(sent: Sent) -> bytes:
    """Exim's bounce: the answer on indented lines, the whole reply copied below."""
    return _raw(
        f"""Return-path: <>
Date: Sat, 21 Nov 2026 10:00:02 -0500
Message-Id: <E1tEx1B-000FL1-4q@mx.exemple.ca>
X-Failed-Recipients: {CUSTOMER}
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx.exemple.ca>
To: {_ours(sent)}
Subject: Mail delivery failed: returning message to sender

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {CUSTOMER}
    host mail.exemple.ca [192.0.2.25]
    SMTP error from remote mail server after RCPT TO:<{CUSTOMER}>:
    550 5.1.1 <{CUSTOMER}>: Recipient address rejected:
    User unknown in virtual mailbox table

------ This is a copy of the message, including all the headers. ------

Return-path: <{_ours(sent)}>
Received: from relais.centre.example ([198.51.100.7])
\tby mx.exemple.ca with esmtps (TLS1.3) (Exim 4.97)
\tid 1tEx1A-000Egt-GZ
\tfor {CUSTOMER}; Sat, 21 Nov 2026 10:00:01 -0500
{_copy(sent)}
"""
    )


def gmail_bounce(sent: Sent) -> bytes:
    """Gmail's text bounce: a multi-line answer (550-5.1.1 …), then the original message."""
    return _raw(
        f"""Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {_ours(sent)}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
Message-ID: <6759e2f1.050a0220.1bd39e.a3c4.GMR@mx.google.com>
Date: Sat, 21 Nov 2026 07:00:03 -0800 (PST)
Content-Type: text/plain; charset="UTF-8"

** Address not found **

Your message wasn't delivered to {CUSTOMER} because the address couldn't be found, or is
unable to receive mail.

The response from the remote server was:
550-5.1.1 The email account that you tried to reach does not exist. Please try
550-5.1.1 double-checking the recipient's email address for typos or
550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser

----- Original message -----

DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=centre.example; s=s1;
        h=from:to:subject:message-id:date; bh=g3zLYH4xKxcPrHOD18z9YfpQcnk=;
        b=ZSIhPzjFyoLb8+kZOXuUNiwIbQV+2014.07.18.00.31.00
X-Received: by 2002:a17:90a:c091:: with SMTP id o17mr2748284pjs.47.1583220784840;
        Sat, 21 Nov 2026 07:00:01 -0800 (PST)
{_copy(sent)}
"""
    )


def exchange_text_bounce(sent: Sent) -> bytes:
    """Exchange's text form, told only by its subject: the sender is no mail daemon."""
    return _raw(
        f"""From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@exemple.ca>
To: {_ours(sent)}
Date: Sat, 21 Nov 2026 15:00:03 +0000
Subject: {_subject("Undeliverable: ", sent)}
Message-ID: <8d1c0a7e-5b2f-4e1a-9c3d-6f7e8a9b0c1d@DM6PR04MB6713.exemple.ca>
Auto-Submitted: auto-replied
Content-Type: text/plain; charset="us-ascii"

Delivery has failed to these recipients or groups:

{CUSTOMER}
The email address you entered couldn't be found. Please check the recipient's email address
and try to resend the message.

Diagnostic information for administrators:

Generating server: DM6PR04MB6713.exemple.ca

{CUSTOMER}
Remote Server returned '{EXCHANGE_ANSWER}'

Original message headers:

{_headers(sent)}
"""
    )


def french_bounce(sent: Sent) -> bytes:
    """A French server's text bounce, « n’a pas pu être remis », UTF-8."""
    return _raw(
        f"""Return-Path: <>
Date: Sat, 21 Nov 2026 10:00:04 -0500
From: =?utf-8?q?Syst=C3=A8me_de_messagerie?= <MAILER-DAEMON@mx.exemple.ca>
To: {_ours(sent)}
Subject: =?utf-8?q?Message_non_remis?=
Message-ID: <rapport-4F2C81E0123@mx.exemple.ca>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Ceci est un message automatique du serveur de messagerie mx.exemple.ca.

Votre message n’a pas pu être remis à un ou plusieurs destinataires.
Il s’agit d’une erreur permanente : aucune nouvelle tentative ne sera faite.

<{CUSTOMER}> : le serveur mail.exemple.ca[192.0.2.25] a répondu :
    550 5.1.1 <{CUSTOMER}> : Boîte aux lettres inconnue

--- En-têtes du message d’origine ---

{_headers(sent)}
"""
    )


def french_words_only(sent: Sent) -> bytes:
    """A French notice of non-delivery without any code: its words and subject say it."""
    return _raw(
        f"""From: postmaster@exemple.ca
To: {_ours(sent)}
Date: Sat, 21 Nov 2026 10:00:05 -0500
Subject: {_subject("Non remis : ", sent)}
Message-ID: <ndr-9911@exemple.ca>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Échec de remise à ces destinataires ou groupes :

{CUSTOMER}
L’adresse de messagerie que vous avez entrée est introuvable.

En-têtes de message d’origine :

{_headers(sent)}
"""
    )


def report_quoting_headers(sent: Sent) -> bytes:
    """A delivery status notification whose returned headers come as text/plain: the report
    says what became of the reply, its text which reply it was."""
    return _raw(
        f"""Return-Path: <>
Date: Sat, 21 Nov 2026 10:00:07 -0500
From: MAILER-DAEMON@relais.exemple.ca (Mail Delivery System)
To: {_ours(sent)}
Subject: Returned mail: see transcript for details
Auto-Submitted: auto-generated (failure)
Message-Id: <202611211500.5ALF07xQ004242@relais.exemple.ca>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="5ALF07xQ004242"

--5ALF07xQ004242
Content-Type: text/plain; charset=us-ascii

The original message was received at Sat, 21 Nov 2026 10:00:05 -0500.

   ----- The following addresses had permanent fatal errors -----
<{CUSTOMER}>

--5ALF07xQ004242
Content-Type: message/delivery-status

Reporting-MTA: dns; relais.exemple.ca

Final-Recipient: RFC822; {CUSTOMER}
Action: failed
Status: 5.2.2
Diagnostic-Code: SMTP; 552 5.2.2 Mailbox full

--5ALF07xQ004242
Content-Type: text/plain; charset=us-ascii
Content-Description: Undelivered Message Headers

{_headers(sent)}
--5ALF07xQ004242--
"""
    )


def exim_delay(sent: Sent) -> bytes:
    """Exim's warning: a 4.x.x answer, still being tried."""
    return _raw(
        f"""Return-path: <>
Date: Sun, 22 Nov 2026 10:00:02 -0500
Message-Id: <E1tEz9C-000AB1-7r@mx.exemple.ca>
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx.exemple.ca>
To: {_ours(sent)}
Subject: Warning: message 1tEx1A-000Egt-GZ delayed 24 hours

This message was created automatically by mail delivery software.
A message that you sent has not yet been delivered to one or more of its
recipients after more than 24 hours on the queue on mx.exemple.ca.

  {CUSTOMER}
    host mail.exemple.ca [192.0.2.25]: 451 4.4.1 Temporary failure, please try again later

No action is required on your part. Delivery attempts will continue for
some time, and this warning may be repeated at intervals if the message
remains undelivered. Eventually the mail delivery software will give up,
and when that happens, the message will be returned to you.

------ This is a copy of the message's headers. ------

{_headers(sent)}
"""
    )


def french_delay(sent: Sent) -> bytes:
    """A French notice of delay without any code: « une nouvelle tentative » will be made."""
    return _raw(
        f"""Return-Path: <>
From: MAILER-DAEMON@mx.exemple.ca
To: {_ours(sent)}
Date: Sun, 22 Nov 2026 10:00:06 -0500
Subject: {_subject("Remise retardée : ", sent)}
Message-ID: <retard-5512@mx.exemple.ca>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Votre message n’a pas encore été remis à {CUSTOMER}.
Le serveur du destinataire ne répond pas ; une nouvelle tentative sera faite
pendant les 48 prochaines heures. Vous n’avez rien à faire.

--- En-têtes du message d’origine ---

{_headers(sent)}
"""
    )


@pytest.mark.parametrize(
    ("bounce", "code", "reason"),
    [
        pytest.param(qmail_bounce, 550, f"5.1.1 Unknown user {CUSTOMER}", id="qmail-send-program"),
        pytest.param(
            exim_bounce,
            550,
            f"5.1.1 <{CUSTOMER}>: Recipient address rejected: User unknown in virtual "
            "mailbox table",
            id="exim",
        ),
        pytest.param(
            gmail_bounce,
            550,
            "5.1.1 The email account that you tried to reach does not exist. Please try "
            "double-checking the recipient's email address for typos or unnecessary spaces. "
            "https://support.google.com/mail/?p=NoSuchUser",
            id="gmail-multiline-answer",
        ),
        pytest.param(
            exchange_text_bounce,
            550,
            "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
            id="exchange-text-by-subject",
        ),
        pytest.param(
            french_bounce, 550, f"5.1.1 <{CUSTOMER}> : Boîte aux lettres inconnue", id="french"
        ),
        pytest.param(french_words_only, None, "5.0.0", id="french-words-only"),
        pytest.param(
            report_quoting_headers, 552, "5.2.2 Mailbox full", id="report-with-headers-as-text"
        ),
    ],
)
async def test_a_text_bounce_shows_the_reply_failed_in_its_conversation(
    mail_app: Running,
    smtp_server: SmtpServer,
    bounce: Callable[[Sent], bytes],
    code: int | None,
    reason: str,
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
    assert by_id(before, sent.reply_id)["status"] == "sent"
    reply = by_id(after, sent.reply_id)
    assert (reply["status"], reply["failure_code"], reply["failure_reason"]) == (
        "failed",
        code,
        reason,
    )
    assert reply["failure_expired"] is False
    assert [(m["direction"], m["status"]) for m in after["messages"]] == [
        ("inbound", "accepted"),
        ("outbound", "failed"),
        ("inbound", "auto_reply"),
    ]
    # An auto-reply: it reopens nothing and asks routing for no agent.
    assert (after["status"], after["routing_status"]) == ("resolved", before["routing_status"])
    assert len(await events(mail_app, "conversation.needs_agent")) == asked
    # Filed under the customer: the mail system that wrote it is no contact of ours.
    assert receipt["contact_id"] == after["contact"]["id"]
    assert await contact_count(mail_app) == 1
    # A re-post of the same bounce is a duplicate and changes nothing.
    assert again == {**receipt, "duplicate": True}
    assert after_again == after


def success_notice(sent: Sent) -> bytes:
    """Gmail's notice that the reply was relayed: nothing failed."""
    return _raw(
        f"""Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {_ours(sent)}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Success)
Message-ID: <6759e2f1.050a0220.1bd39e.a3c5.GMR@mx.google.com>
Date: Sat, 21 Nov 2026 07:00:04 -0800 (PST)
Content-Type: text/plain; charset="UTF-8"

This is an automatically generated Delivery Status Notification.

Your message has been successfully relayed to the following recipients, but the requested
delivery status notifications may not be generated by the destination.

     {CUSTOMER}

----- Original message -----

{_headers(sent)}
"""
    )


@pytest.mark.parametrize("notice", [exim_delay, french_delay, success_notice])
async def test_a_text_notice_of_no_failure_joins_the_thread_and_changes_nothing(
    mail_app: Running, smtp_server: SmtpServer, notice: Callable[[Sent], bytes]
) -> None:
    headers = await supervisor(mail_app)
    sent = await send_reply(mail_app, smtp_server, headers)
    before = await read(mail_app, sent.conversation_id, headers)

    receipt = await post_email(mail_app, notice(sent))
    after = await read(mail_app, sent.conversation_id, headers)

    assert receipt["conversation_id"] == sent.conversation_id
    assert receipt["status"] == "auto_reply"
    assert after["messages"][:-1] == before["messages"]
    assert after["messages"][-1]["id"] == receipt["message_id"]
    reply = by_id(after, sent.reply_id)
    assert (reply["status"], reply["failure_code"], reply["failure_reason"]) == ("sent", None, None)
    assert after["status"] == before["status"]
    assert after["routing_status"] == before["routing_status"]
    assert await events(mail_app, "email.failed") == []


def someone_elses(sent: Sent) -> bytes:
    """qmail's bounce of an email we never sent (its Message-ID is none of ours)."""
    theirs = build_email(
        sender=f"Service <{_ours(sent)}>",
        to=CUSTOMER,
        subject="Gagnez un iPhone",
        message_id="<spam-8812@botnet.example>",
    )
    return qmail_bounce(Sent(sent.conversation_id, sent.reply_id, theirs))


async def test_a_text_bounce_of_no_email_of_ours_is_filed_as_before(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    headers = await supervisor(mail_app)
    sent = await send_reply(mail_app, smtp_server, headers)
    before = await read(mail_app, sent.conversation_id, headers)

    receipt = await post_email(mail_app, someone_elses(sent))
    filed = await read(mail_app, receipt["conversation_id"], headers)

    assert receipt["conversation_id"] != sent.conversation_id
    assert (filed["status"], filed["routing_status"]) == ("resolved", "not_routed")
    assert [m["id"] for m in filed["messages"]] == [receipt["message_id"]]
    assert await read(mail_app, sent.conversation_id, headers) == before
    assert await events(mail_app, "email.failed") == []


def customer_quoting(sent: Sent) -> bytes:
    """The customer forwards the bounce they think they caused: their own email, not a bounce,
    quoting our reply's Message-ID and a 550 answer."""
    return build_email(
        subject="TR : Undeliverable: " + str(sent.headers["Subject"]),
        message_id="<tr-1@exemple.ca>",
        body=f"Bonjour, j’ai reçu ceci, est-ce normal?\n\n"
        f"Remote Server returned '550 5.1.1 User unknown'\n\n"
        f"Message-ID: {sent.headers['Message-ID']}\n",
    )


def out_of_office_quoting(sent: Sent) -> bytes:
    """The customer's out-of-office answer, which quotes the headers of what it answers."""
    return build_email(
        subject="Réponse automatique : absente",
        message_id="<absence-2@exemple.ca>",
        body=f"Je suis absente jusqu’au 7 décembre.\n\n"
        f"Message-ID: {sent.headers['Message-ID']}\n550 5.1.1\n",
        headers={"Auto-Submitted": "auto-replied"},
    )


@pytest.mark.parametrize("quoting", [customer_quoting, out_of_office_quoting])
async def test_an_email_quoting_our_message_id_is_no_bounce(
    mail_app: Running, smtp_server: SmtpServer, quoting: Callable[[Sent], bytes]
) -> None:
    headers = await supervisor(mail_app)
    sent = await send_reply(mail_app, smtp_server, headers)
    before = await read(mail_app, sent.conversation_id, headers)

    receipt = await post_email(mail_app, quoting(sent))
    after = await read(mail_app, sent.conversation_id, headers)

    # Not joined to the reply's conversation by the quote, and the reply still reads sent.
    assert receipt["conversation_id"] != sent.conversation_id
    assert after == before
    assert by_id(after, sent.reply_id)["status"] == "sent"
    assert await events(mail_app, "email.failed") == []


@dataclass
class BouncedWhileSending(RecordingHandler):
    """Accepts mail and, before answering 250, runs ``during`` on the test's loop: a bounce
    reaches the inbox while the relay has sent the reply but not yet recorded it sent."""

    during: Callable[[bytes], Coroutine[Any, Any, None]] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    seen: list[dict[str, Any]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if self.during is not None and self.loop is not None:
            data = bytes(envelope.original_content or envelope.content)
            running = asyncio.run_coroutine_threadsafe(self.during(data), self.loop)
            await asyncio.wrap_future(running)
        return answer


@pytest.mark.parametrize("bounce", [qmail_bounce, postfix_bounce])
async def test_a_bounce_before_the_reply_is_recorded_sent_leaves_it_failed(
    db_url: str, tmp_path: Path, bounce: Callable[[Sent], bytes]
) -> None:
    handler = BouncedWhileSending(loop=asyncio.get_running_loop())
    with serving_smtp(handler=handler) as server:
        async with running_with_smtp(db_url, tmp_path, server) as app:
            chloe = await create_agent(app, await admin(app), name="Chloé", languages={"fr": 5})
            customer = await post_email(app, build_email(message_id="<q2@exemple.ca>"))
            await app.deliver_all()
            await run_engine(app)
            [offer] = await offers_of(app, chloe["id"], await admin(app))
            headers = await agent_headers(app, chloe["id"])
            accepted = await app.client.post(
                f"/routing/v1/offers/{offer['id']}/accept", headers=headers
            )
            assert accepted.status_code == 200, accepted.text
            await app.deliver_all()
            url = f"/inbox/v1/conversations/{customer['conversation_id']}"
            posted = await app.client.post(
                f"{url}/replies", json={"text": "Bonjour."}, headers=headers
            )
            assert posted.status_code == 201, posted.text
            reply_id = posted.json()["id"]
            receipts: list[dict[str, Any]] = []

            async def bounce_now(data: bytes) -> None:
                sent = Sent(customer["conversation_id"], reply_id, data)
                handler.seen.append(by_id(await read(app, sent.conversation_id, headers), reply_id))
                receipts.append(await post_email(app, bounce(sent)))
                handler.seen.append(by_id(await read(app, sent.conversation_id, headers), reply_id))

            handler.during = bounce_now
            await drain_mail(app)
            handler.during = None
            after = await read(app, customer["conversation_id"], headers)
            again = await post_email(app, bounce(Sent("", reply_id, server.messages[0].data)))
            await drain_mail(app)
            after_again = await read(app, customer["conversation_id"], headers)
            notices = await events(app, "email.failed")

    [receipt] = receipts
    queued, bounced = handler.seen
    # While the relay waited for the server's answer, the reply was still queued; the bounce
    # made it failed at once, and the relay's "sent" that came after left it failed.
    assert (queued["status"], bounced["status"]) == ("queued", "failed")
    assert receipt["conversation_id"] == customer["conversation_id"]
    reply = by_id(after, reply_id)
    assert (reply["status"], reply["failure_code"]) == ("failed", 550)
    assert reply["failure_reason"].startswith("5.1.1 ")
    assert reply["sent_at"] is not None
    assert [m["id"] for m in after["messages"]][-1] == receipt["message_id"]
    # Sent once, told once; a re-post of the bounce and the relay's next pass change nothing.
    assert len(server.messages) == 1
    assert [(n["message_id"], n["agent_id"]) for n in notices] == [(reply_id, chloe["id"])]
    assert again == {**receipt, "duplicate": True}
    assert after_again == after
