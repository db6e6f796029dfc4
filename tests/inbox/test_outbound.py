"""Replies by email through a real SMTP server: exact headers, exactly once, failures visible."""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from services.inbox.internal_events import EmailQueued
from services.inbox.models import Conversation, Message, OutboxEvent
from shared.auth import Role
from shared.db import session_scope, utc_now
from tests.inbox.builders import email as build_email
from tests.inbox.builders import raw_headers
from tests.routing.scenario import admin, agent_headers, create_agent, offers_of, run_engine
from tests.routing.test_stream import next_message, open_feed, parse
from tests.support.apps import Running, running_all_in_one
from tests.support.processes import free_port
from tests.support.smtp import (
    RecordingHandler,
    SmtpServer,
    running_with_smtp,
    serving_smtp,
)

CUSTOMER_ID = "<q1@exemple.ca>"


@pytest.fixture
async def mail_app(db_url: str, tmp_path: Path, smtp_server: SmtpServer) -> AsyncIterator[Running]:
    async with running_with_smtp(
        db_url, tmp_path, smtp_server, mail_from_name="Service à la clientèle"
    ) as running:
        yield running


async def start_conversation(app: Running) -> dict[str, Any]:
    gateway = await app.token(Role.GATEWAY)
    answer = await app.client.post(
        "/inbox/v1/inbound/email",
        content=build_email(message_id=CUSTOMER_ID, to="factures@centre.example"),
        headers=raw_headers(gateway),
    )
    assert answer.status_code == 202
    receipt: dict[str, Any] = answer.json()
    return receipt


async def drain_mail(app: Running) -> None:
    """Send every queued email now (failed sends are due again at once)."""
    relay = app.relay_now("inbox")
    while await relay.run_once():
        pass


async def supervisor(app: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}


async def test_a_french_reply_goes_out_once_with_threading_headers(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await start_conversation(mail_app)
    headers = await supervisor(mail_app)

    answer = await mail_app.client.post(
        f"/inbox/v1/conversations/{receipt['conversation_id']}/replies",
        json={
            "text": "Bonjour Marie,\n\nVotre facture a été corrigée. Désolés!",
            "html": "<p>Corrigée <script>x()</script></p>",
        },
        headers=headers,
    )
    await drain_mail(mail_app)

    reply = answer.json()
    assert answer.status_code == 201, answer.text
    assert reply["status"] == "queued"
    [sent] = smtp_server.messages
    parsed = email.message_from_bytes(sent.data, policy=email.policy.default)
    assert sent.sender == "factures@centre.example"
    assert sent.recipients == ["marie.tremblay@exemple.ca"]
    assert parsed["Subject"] == "RE\u00a0: Facture erronée"
    assert parsed["In-Reply-To"] == CUSTOMER_ID
    assert parsed["Auto-Submitted"] == "no"
    assert CUSTOMER_ID in parsed["References"]
    assert parsed["Message-ID"] == f"<{reply['message_id_header']}>"
    assert reply["message_id_header"].endswith("@centre.example")
    assert parsed["From"].addresses[0].display_name == "Service à la clientèle"
    assert "=?utf-8?" in sent.data.split(b"\r\n\r\n")[0].decode().lower()
    body = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert body is not None
    assert "Votre facture a été corrigée. Désolés!" in body.get_content()
    assert html is not None
    assert "<script>" not in html.get_content()
    conversation = await mail_app.client.get(
        f"/inbox/v1/conversations/{receipt['conversation_id']}", headers=headers
    )
    statuses = [m["status"] for m in conversation.json()["messages"]]
    assert statuses == ["accepted", "sent"]


async def test_a_server_failing_twice_then_accepting_gets_one_copy(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await start_conversation(mail_app)
    smtp_server.fail_next("451 4.3.0 Try again later", "421 4.7.0 Too busy")

    await mail_app.client.post(
        f"/inbox/v1/conversations/{receipt['conversation_id']}/replies",
        json={"text": "Bonjour, c’est réglé."},
        headers=await supervisor(mail_app),
    )
    await drain_mail(mail_app)
    await drain_mail(mail_app)

    assert smtp_server.handler.attempts == 3
    assert len(smtp_server.messages) == 1
    async with mail_app.context("inbox").require_sessions()() as session:
        sent = await session.scalar(select(Message).where(Message.direction == "outbound"))
    assert sent is not None
    assert sent.status == "sent"


async def test_a_permanent_refusal_is_shown_with_the_servers_reason(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await start_conversation(mail_app)
    smtp_server.fail_next("550 5.1.1 Mailbox does not exist")
    headers = await supervisor(mail_app)

    await mail_app.client.post(
        f"/inbox/v1/conversations/{receipt['conversation_id']}/replies",
        json={"text": "Bonjour."},
        headers=headers,
    )
    await drain_mail(mail_app)

    conversation = await mail_app.client.get(
        f"/inbox/v1/conversations/{receipt['conversation_id']}", headers=headers
    )
    outbound = conversation.json()["messages"][-1]
    assert smtp_server.messages == []
    assert smtp_server.handler.attempts == 1
    assert outbound["status"] == "failed"
    assert outbound["failure_reason"] == "5.1.1 Mailbox does not exist"


async def test_the_agent_whose_reply_was_refused_is_told_on_its_live_stream(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    headers = await admin(mail_app)
    chloe = await create_agent(mail_app, headers, name="Chloé", languages={"fr": 5})
    receipt = await start_conversation(mail_app)
    await mail_app.deliver_all()
    await run_engine(mail_app)
    [offer] = await offers_of(mail_app, chloe["id"], headers)
    as_chloe = await agent_headers(mail_app, chloe["id"])
    accepted = await mail_app.client.post(
        f"/routing/v1/offers/{offer['id']}/accept", headers=as_chloe
    )
    assert accepted.status_code == 200, accepted.text
    await mail_app.deliver_all()
    replies = f"/inbox/v1/conversations/{receipt['conversation_id']}/replies"

    sent = await mail_app.client.post(replies, json={"text": "Bonjour."}, headers=as_chloe)
    await drain_mail(mail_app)
    smtp_server.fail_next("550 5.1.1 Mailbox does not exist")
    refused = await mail_app.client.post(
        replies, json={"text": "Votre facture est corrigée."}, headers=as_chloe
    )
    await drain_mail(mail_app)
    # The stream replayed from its start (as a reconnecting front-end does): the delivered
    # reply told nothing, the refused one a notice.
    feed = open_feed(mail_app, chloe["id"], last_event_id=0)
    try:
        assert (await next_message(feed)).startswith("retry: ")
        replayed = [parse(await next_message(feed)) for _ in range(4)]
    finally:
        await feed.aclose()

    assert [event["event"] for event in replayed] == [
        "status",
        "offer",
        "assignment",
        "email.failed",
    ]
    notice = replayed[-1]
    assert sent.status_code == 201, sent.text
    assert refused.status_code == 201, refused.text
    assert len(smtp_server.messages) == 1
    assert notice["event"] == "email.failed"
    assert notice["data"] == {
        "conversation_id": receipt["conversation_id"],
        "message_id": refused.json()["id"],
        "recipients": ["marie.tremblay@exemple.ca"],
        "subject": "RE\u00a0: Facture erronée",
        "failure_code": 550,
        "failure_reason": "5.1.1 Mailbox does not exist",
        "expired": False,
    }


async def test_the_customers_answer_threads_back_into_the_conversation(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await start_conversation(mail_app)
    await mail_app.client.post(
        f"/inbox/v1/conversations/{receipt['conversation_id']}/replies",
        json={"text": "Bonjour, pouvez-vous confirmer votre adresse?"},
        headers=await supervisor(mail_app),
    )
    await drain_mail(mail_app)
    ours = email.message_from_bytes(smtp_server.messages[0].data, policy=email.policy.default)

    answer = await mail_app.client.post(
        "/inbox/v1/inbound/email",
        content=build_email(
            subject="Sans rapport",
            in_reply_to=ours["Message-ID"],
            body="Oui, c’est le 12 rue des Érables.",
        ),
        headers=raw_headers(await mail_app.token(Role.GATEWAY)),
    )

    assert answer.json()["conversation_id"] == receipt["conversation_id"]


async def test_an_idempotency_key_sends_one_email(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await start_conversation(mail_app)
    headers = {**await supervisor(mail_app), "Idempotency-Key": "reply-42"}
    url = f"/inbox/v1/conversations/{receipt['conversation_id']}/replies"

    first = await mail_app.client.post(url, json={"text": "Bonjour."}, headers=headers)
    again = await mail_app.client.post(url, json={"text": "Bonjour."}, headers=headers)
    await drain_mail(mail_app)

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert len(smtp_server.messages) == 1


async def test_replying_in_the_other_language_needs_confirmation(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await start_conversation(mail_app)
    headers = {**await supervisor(mail_app), "Accept-Language": "fr"}
    url = f"/inbox/v1/conversations/{receipt['conversation_id']}/replies"

    refused = await mail_app.client.post(
        url, json={"text": "Hello.", "language": "en"}, headers=headers
    )
    await drain_mail(mail_app)
    nothing_sent = list(smtp_server.messages)
    confirmed = await mail_app.client.post(
        url, json={"text": "Hello.", "language": "en", "confirm_language": True}, headers=headers
    )
    await drain_mail(mail_app)

    assert refused.status_code == 409
    assert refused.json()["code"] == "reply.language_confirmation_required"
    assert nothing_sent == []
    assert confirmed.status_code == 201
    parsed = email.message_from_bytes(smtp_server.messages[0].data, policy=email.policy.default)
    assert parsed["Subject"] == "Re: Facture erronée"


ENGLISH_TEXT = (
    "Hello Marie, thank you for your message. We have corrected your November invoice and "
    "the second charge will be refunded to your card within five business days."
)


async def test_english_typed_into_a_french_conversation_needs_the_same_confirmation(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    """No language declared, but the text is plainly English: it is not sent labelled French.
    Confirmed, it goes out as English; French text, or a word too short to tell, goes as the
    conversation's language without asking."""
    receipt = await start_conversation(mail_app)
    headers = {**await supervisor(mail_app), "Accept-Language": "fr"}
    url = f"/inbox/v1/conversations/{receipt['conversation_id']}/replies"

    refused = await mail_app.client.post(url, json={"text": ENGLISH_TEXT}, headers=headers)
    await drain_mail(mail_app)
    nothing_sent = list(smtp_server.messages)
    confirmed = await mail_app.client.post(
        url, json={"text": ENGLISH_TEXT, "confirm_language": True}, headers=headers
    )
    french = await mail_app.client.post(
        url,
        json={"text": "Bonjour Marie, nous avons corrigé votre facture de novembre."},
        headers=headers,
    )
    short = await mail_app.client.post(url, json={"text": "OK."}, headers=headers)
    await drain_mail(mail_app)

    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "reply.language_confirmation_required"
    assert "anglais" in refused.json()["detail"]
    assert nothing_sent == []
    assert [answer.status_code for answer in (confirmed, french, short)] == [201, 201, 201]
    assert [answer.json()["language"] for answer in (confirmed, french, short)] == [
        "en",
        "fr",
        "fr",
    ]
    sent = [
        email.message_from_bytes(message.data, policy=email.policy.default)
        for message in smtp_server.messages
    ]
    assert [message["Content-Language"] for message in sent] == ["en-CA", "fr-CA", "fr-CA"]


async def test_closed_conversations_and_other_agents_cannot_reply(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await start_conversation(mail_app)
    owner, stranger = uuid.uuid4(), uuid.uuid4()
    async with session_scope(mail_app.context("inbox").require_sessions()) as session:
        conversation = await session.get(Conversation, uuid.UUID(receipt["conversation_id"]))
        assert conversation is not None
        conversation.assignee_agent_id = owner
    url = f"/inbox/v1/conversations/{receipt['conversation_id']}/replies"

    as_stranger = await mail_app.client.post(
        url,
        json={"text": "Bonjour."},
        headers={"Authorization": f"Bearer {await mail_app.token(Role.AGENT, agent_id=stranger)}"},
    )
    as_owner = await mail_app.client.post(
        url,
        json={"text": "Bonjour."},
        headers={"Authorization": f"Bearer {await mail_app.token(Role.AGENT, agent_id=owner)}"},
    )
    async with session_scope(mail_app.context("inbox").require_sessions()) as session:
        conversation = await session.get(Conversation, uuid.UUID(receipt["conversation_id"]))
        assert conversation is not None
        conversation.status = "closed"
    closed = await mail_app.client.post(
        url, json={"text": "Bonjour."}, headers=await supervisor(mail_app)
    )
    await drain_mail(mail_app)

    assert as_stranger.status_code == 404
    assert as_owner.status_code == 201
    assert as_owner.json()["author_agent_id"] == str(owner)
    assert closed.status_code == 409
    assert closed.json()["code"] == "conversation.closed"
    assert len(smtp_server.messages) == 1


async def test_a_follow_up_after_resolution_is_sent_and_listed_and_stays_resolved(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await start_conversation(mail_app)
    headers = await supervisor(mail_app)
    url = f"/inbox/v1/conversations/{receipt['conversation_id']}"
    resolved = await mail_app.client.post(f"{url}/resolve", json={}, headers=headers)

    follow_up = await mail_app.client.post(
        f"{url}/replies", json={"text": "Une dernière chose : votre relevé suit."}, headers=headers
    )
    await drain_mail(mail_app)
    conversation = await mail_app.client.get(url, headers=headers)
    listed = await mail_app.client.get(
        "/inbox/v1/conversations", params={"status": "resolved"}, headers=headers
    )

    assert resolved.json()["status"] == "resolved"
    assert follow_up.status_code == 201
    assert len(smtp_server.messages) == 1
    # A follow-up after resolution is legitimate: it goes out, shows with the conversation's
    # messages, and leaves the conversation resolved (the customer's answer would reopen it).
    assert conversation.json()["status"] == "resolved"
    assert [(m["direction"], m["status"]) for m in conversation.json()["messages"]] == [
        ("inbound", "accepted"),
        ("outbound", "sent"),
    ]
    assert conversation.json()["messages"][-1]["id"] == follow_up.json()["id"]
    [row] = listed.json()["items"]
    assert row["id"] == receipt["conversation_id"]
    assert row["last_message_at"] > resolved.json()["last_message_at"]


async def test_without_smtp_mail_is_written_as_eml_files(db_url: str, tmp_path: Path) -> None:
    async with running_all_in_one(db_url, tmp_path / "data") as app:
        receipt = await start_conversation(app)
        answer = await app.client.post(
            f"/inbox/v1/conversations/{receipt['conversation_id']}/replies",
            json={"text": "Bonjour Marie, c’est corrigé."},
            headers=await supervisor(app),
        )
        await drain_mail(app)

    [written] = list((tmp_path / "data" / "mail").glob("*.eml"))
    parsed = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert parsed["Message-ID"] == f"<{answer.json()['message_id_header']}>"
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    assert "c’est corrigé" in body.get_content()


INTERNATIONAL = "Jérôme Côté <jérôme.côté@exemple.ca>"


async def reply_to_international_address(app: Running) -> dict[str, Any]:
    raw = build_email(sender=INTERNATIONAL, message_id="<intl@exemple.ca>")
    answer = await app.client.post(
        "/inbox/v1/inbound/email", content=raw, headers=raw_headers(await app.token(Role.GATEWAY))
    )
    assert answer.status_code == 202, answer.text
    conversation_id = answer.json()["conversation_id"]
    headers = await supervisor(app)
    reply = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/replies",
        json={"text": "Bonjour Jérôme, c'est réglé."},
        headers=headers,
    )
    assert reply.status_code == 201, reply.text
    await drain_mail(app)
    conversation = await app.client.get(
        f"/inbox/v1/conversations/{conversation_id}", headers=headers
    )
    outbound: dict[str, Any] = conversation.json()["messages"][-1]
    return outbound


async def test_a_reply_reaches_an_international_address_through_smtputf8(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    outbound = await reply_to_international_address(mail_app)

    assert outbound["status"] == "sent"
    [received] = smtp_server.messages
    assert received.recipients == ["jérôme.côté@exemple.ca"]
    # An SMTPUTF8 message's headers are UTF-8 as written.
    sent = email.message_from_string(received.data.decode(), policy=email.policy.default)
    assert sent["To"].addresses[0].addr_spec == "jérôme.côté@exemple.ca"
    assert sent["To"].addresses[0].display_name == "Jérôme Côté"


async def test_a_server_without_smtputf8_fails_the_reply_once_with_a_clear_reason(
    db_url: str, tmp_path: Path
) -> None:
    with serving_smtp(smtputf8=False) as server:
        async with running_with_smtp(db_url, tmp_path, server) as app:
            outbound = await reply_to_international_address(app)

    assert outbound["status"] == "failed"
    assert "SMTPUTF8" in outbound["failure_reason"]
    assert server.messages == []


async def queue_reply(app: Running, *, queued_ago: timedelta) -> str:
    """A reply in a new conversation, recorded as queued ``queued_ago``; returns the
    conversation's id."""
    receipt = await start_conversation(app)
    answer = await app.client.post(
        f"/inbox/v1/conversations/{receipt['conversation_id']}/replies",
        json={"text": "Bonjour, votre dossier est réglé."},
        headers=await supervisor(app),
    )
    assert answer.status_code == 201, answer.text
    await set_queued_ago(app, uuid.UUID(answer.json()["id"]), queued_ago)
    conversation_id: str = receipt["conversation_id"]
    return conversation_id


async def set_queued_ago(app: Running, message_id: uuid.UUID, queued_ago: timedelta) -> None:
    """Move the time the reply was queued into the past: the relay's clock is the real one."""
    async with session_scope(app.context("inbox").require_sessions()) as session:
        await session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(received_at=utc_now() - queued_ago)
        )


async def our_reply(app: Running, conversation_id: str) -> dict[str, Any]:
    """The outgoing message as the agent reads it in the conversation."""
    conversation = await app.client.get(
        f"/inbox/v1/conversations/{conversation_id}", headers=await supervisor(app)
    )
    messages: list[dict[str, Any]] = conversation.json()["messages"]
    [reply] = [message for message in messages if message["direction"] == "outbound"]
    return reply


async def sending_events(app: Running) -> list[OutboxEvent]:
    async with app.context("inbox").require_sessions()() as session:
        events = await session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == EmailQueued.event_type)
        )
        return list(events)


async def test_a_reply_refused_for_the_time_being_past_its_queue_lifetime_fails(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    smtp_server.fail_next("451 4.3.0 Try again later")
    conversation_id = await queue_reply(mail_app, queued_ago=timedelta(hours=121))
    relay = mail_app.relay_now("inbox")

    await relay.run_once()
    retried = await relay.run_once()

    reply = await our_reply(mail_app, conversation_id)
    assert reply["status"] == "failed"
    assert reply["failure_reason"] == "4.3.0 Try again later"
    assert reply["failure_code"] == 451
    assert reply["failure_expired"] is True
    async with mail_app.context("inbox").require_sessions()() as session:
        stored = await session.get(Message, uuid.UUID(reply["id"]))
    assert stored is not None
    assert stored.details["expired"] is True
    assert stored.details["max_queue_hours"] == 120
    assert retried == 0
    [event] = await sending_events(mail_app)
    assert event.delivered_at is not None
    assert event.attempts == 1
    assert smtp_server.handler.attempts == 1
    assert smtp_server.messages == []


async def test_a_reply_refused_for_the_time_being_within_its_lifetime_is_retried_and_sent_once(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    smtp_server.fail_next("451 4.3.0 Try again later")
    conversation_id = await queue_reply(mail_app, queued_ago=timedelta(hours=119))

    await mail_app.relay_now("inbox").run_once()
    waiting = await our_reply(mail_app, conversation_id)
    [event] = await sending_events(mail_app)
    await drain_mail(mail_app)

    assert waiting["status"] == "queued"
    assert (waiting["failure_reason"], waiting["failure_code"]) == (None, None)
    assert waiting["failure_expired"] is False
    assert event.delivered_at is None
    assert event.last_error is not None
    assert "451 4.3.0 Try again later" in event.last_error
    assert (await our_reply(mail_app, conversation_id))["status"] == "sent"
    assert smtp_server.handler.attempts == 2
    assert len(smtp_server.messages) == 1


async def test_a_mail_server_down_past_the_configured_lifetime_fails_the_reply_without_a_code(
    db_url: str, tmp_path: Path
) -> None:
    down = SmtpServer(host="127.0.0.1", port=free_port(), handler=RecordingHandler())
    async with running_with_smtp(db_url, tmp_path, down, outbound_max_queue_hours=1) as app:
        relay = app.relay_now("inbox")
        conversation_id = await queue_reply(app, queued_ago=timedelta(minutes=59))
        await relay.run_once()
        waiting = await our_reply(app, conversation_id)
        await set_queued_ago(app, uuid.UUID(waiting["id"]), timedelta(minutes=61))
        await relay.run_once()
        retried = await relay.run_once()
        failed = await our_reply(app, conversation_id)
        [event] = await sending_events(app)

    assert waiting["status"] == "queued"
    assert failed["status"] == "failed"
    assert failed["failure_expired"] is True
    assert failed["failure_code"] is None
    assert failed["failure_reason"].startswith("SMTPConnectError: Error connecting to 127.0.0.1")
    assert retried == 0
    assert event.delivered_at is not None
    assert event.attempts == 2


async def test_a_reply_goes_to_the_customer_never_to_someone_else_who_wrote_in(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    """Someone else answers our email (a colleague it was forwarded to): their email joins the
    customer's conversation, but the next reply, with the customer's own details, still goes
    to the customer."""
    receipt = await start_conversation(mail_app)
    url = f"/inbox/v1/conversations/{receipt['conversation_id']}/replies"
    headers = await supervisor(mail_app)
    await mail_app.client.post(url, json={"text": "Voici votre relevé."}, headers=headers)
    await drain_mail(mail_app)
    ours = email.message_from_bytes(smtp_server.messages[0].data, policy=email.policy.default)
    other = await mail_app.client.post(
        "/inbox/v1/inbound/email",
        content=build_email(
            sender="Lucie Côté <lucie.cote@exemple.ca>",
            subject="RE : Facture erronée",
            in_reply_to=ours["Message-ID"],
            body="Je ne suis pas Marie, mais merci.",
        ),
        headers=raw_headers(await mail_app.token(Role.GATEWAY)),
    )

    second = await mail_app.client.post(
        url, json={"text": "Votre facture corrigée est jointe."}, headers=headers
    )
    await drain_mail(mail_app)

    assert other.json()["conversation_id"] == receipt["conversation_id"]
    assert second.status_code == 201, second.text
    assert [sent.recipients for sent in smtp_server.messages] == [
        ["marie.tremblay@exemple.ca"],
        ["marie.tremblay@exemple.ca"],
    ]
    to = email.message_from_bytes(smtp_server.messages[1].data, policy=email.policy.default)["To"]
    assert to.addresses[0].addr_spec == "marie.tremblay@exemple.ca"


async def test_the_conversation_shows_whom_each_email_went_to(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    """An agent reading the thread sees the address each reply went to (and the one each
    email came in on), as the mail server got it."""
    receipt = await start_conversation(mail_app)
    url = f"/inbox/v1/conversations/{receipt['conversation_id']}"
    headers = await supervisor(mail_app)
    await mail_app.client.post(f"{url}/replies", json={"text": "Voici."}, headers=headers)
    await drain_mail(mail_app)

    messages = (await mail_app.client.get(url, headers=headers)).json()["messages"]
    by_direction = {message["direction"]: message["to_addresses"] for message in messages}

    assert by_direction["outbound"] == smtp_server.messages[-1].recipients
    assert by_direction["outbound"] == ["marie.tremblay@exemple.ca"]
    assert by_direction["inbound"] == ["factures@centre.example"]


async def test_an_answer_from_someone_else_is_filed_under_the_customer_and_so_is_its_repost(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    """A colleague answers our email: the receipt names the customer whose conversation it
    joined, and a re-post of it answers exactly the same ids."""
    receipt = await start_conversation(mail_app)
    url = f"/inbox/v1/conversations/{receipt['conversation_id']}/replies"
    await mail_app.client.post(url, json={"text": "Voici."}, headers=await supervisor(mail_app))
    await drain_mail(mail_app)
    ours = email.message_from_bytes(smtp_server.messages[0].data, policy=email.policy.default)
    colleague = build_email(
        sender="Lucie Côté <lucie.cote@exemple.ca>",
        subject="RE : Facture erronée",
        in_reply_to=ours["Message-ID"],
        message_id="<lucie-1@exemple.ca>",
        body="Je transmets à Marie.",
    )
    gateway = raw_headers(await mail_app.token(Role.GATEWAY))

    first = await mail_app.client.post(
        "/inbox/v1/inbound/email", content=colleague, headers=gateway
    )
    again = await mail_app.client.post(
        "/inbox/v1/inbound/email", content=colleague, headers=gateway
    )

    assert first.status_code == 202, first.text
    assert first.json()["contact_id"] == receipt["contact_id"]
    assert first.json()["conversation_id"] == receipt["conversation_id"]
    assert again.json() == {**first.json(), "duplicate": True}
