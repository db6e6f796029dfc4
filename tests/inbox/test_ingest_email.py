"""Inbound email over HTTP: stored exactly once, threaded, detected, handed to routing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.inbox.models import Contact, ContactIdentity, Conversation, Message, OutboxEvent
from services.routing.models import ProcessedEvent
from shared.auth import Role
from shared.clients.translation import TranslationClient
from tests.inbox.builders import email, raw_headers
from tests.support.apps import Running, running_all_in_one
from tests.support.processes import free_port

ENGLISH = (
    "Hello,\n\nI was charged twice for my November plan. Could you please refund the "
    "second payment to my credit card?\n\nThank you,\nJohn"
)


@pytest.fixture
async def gateway(app: Running) -> str:
    return await app.token(Role.GATEWAY, name="postfix")


@pytest.fixture
async def reader(app: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}


async def post(app: Running, token: str, raw: bytes, **headers: str) -> dict[str, object]:
    answer = await app.client.post(
        "/inbox/v1/inbound/email", content=raw, headers={**raw_headers(token), **headers}
    )
    assert answer.status_code == 202, answer.text
    body: dict[str, object] = answer.json()
    return body


async def count(
    app: Running, model: type[Message] | type[Conversation] | type[Contact] | type[ContactIdentity]
) -> int:
    async with app.context("inbox").require_sessions()() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_french_email_becomes_a_conversation_in_french(
    app: Running, gateway: str, reader: dict[str, str]
) -> None:
    receipt = await post(app, gateway, email())

    conversation = (
        await app.client.get(
            f"/inbox/v1/conversations/{receipt['conversation_id']}", headers=reader
        )
    ).json()
    contact = (
        await app.client.get(f"/inbox/v1/contacts/{receipt['contact_id']}", headers=reader)
    ).json()

    assert receipt["status"] == "accepted"
    assert receipt["duplicate"] is False
    assert receipt["language"] == "fr"
    assert conversation["language"] == "fr"
    assert conversation["subject"] == "Facture erronée"
    assert conversation["status"] == "open"
    assert conversation["routing_status"] == "needs_agent"
    assert conversation["reference"].startswith("C-")
    [message] = conversation["messages"]
    assert message["language"] == "fr"
    assert message["language_confidence"] > 0.5
    assert "facture" in message["text"]
    assert contact["display_name"] == "Marie Tremblay"
    assert contact["identities"] == [{"kind": "email", "value": "marie.tremblay@exemple.ca"}]


async def test_an_english_email_is_detected_english(app: Running, gateway: str) -> None:
    receipt = await post(
        app, gateway, email(sender="john@example.com", subject="Double charge", body=ENGLISH)
    )

    assert receipt["language"] == "en"


async def test_a_pathologically_long_subject_is_kept_to_one_line_and_still_threads(
    app: Running, gateway: str, reader: dict[str, str]
) -> None:
    subject = " ".join(f"Réclamation numéro {n} concernant ma facture" for n in range(120))
    assert len(subject) > 5000

    first = await post(app, gateway, email(subject=subject))
    reply = await post(app, gateway, email(subject=f"RE : {subject}"))

    assert reply["conversation_id"] == first["conversation_id"]
    conversation = (
        await app.client.get(f"/inbox/v1/conversations/{first['conversation_id']}", headers=reader)
    ).json()
    assert conversation["subject"] == subject[:998]
    assert [m["subject"] for m in conversation["messages"]] == [
        subject[:998],
        f"RE : {subject}"[:998],
    ]


async def test_the_documented_json_example_is_stored(app: Running, gateway: str) -> None:
    spec = (await app.client.get("/openapi.json")).json()
    operation = spec["paths"]["/inbox/v1/inbound/email"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    example = {
        name: field["examples"][0]
        for name, field in schema["properties"].items()
        if "examples" in field
    }

    answer = await app.client.post(
        "/inbox/v1/inbound/email", json=example, headers={"Authorization": f"Bearer {gateway}"}
    )

    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "accepted"
    assert answer.json()["duplicate"] is False


async def test_a_repost_answers_the_same_ids_and_changes_nothing(
    app: Running, gateway: str
) -> None:
    raw = email()
    first = await post(app, gateway, raw)
    messages, events = await count(app, Message), await _events(app)

    again = await post(app, gateway, raw)

    assert again == {**first, "duplicate": True}
    assert await count(app, Message) == messages == 1
    assert await _events(app) == events == 1


async def test_ten_concurrent_posts_of_one_message_store_it_once(
    app: Running, gateway: str
) -> None:
    raw = email(message_id=None)

    receipts = await asyncio.gather(*(post(app, gateway, raw) for _ in range(10)))

    assert len({r["message_id"] for r in receipts}) == 1
    assert sorted(bool(r["duplicate"]) for r in receipts) == [False] + [True] * 9
    assert await count(app, Message) == 1
    assert await count(app, Conversation) == 1
    assert await count(app, Contact) == 1
    assert await _events(app) == 1


async def test_first_emails_from_a_new_sender_at_once_make_one_contact(
    app: Running, gateway: str
) -> None:
    raws = [email(subject=f"Question numéro {n}") for n in range(6)]

    receipts = await asyncio.gather(*(post(app, gateway, raw) for raw in raws))

    assert len({r["message_id"] for r in receipts}) == 6
    assert len({r["contact_id"] for r in receipts}) == 1
    assert len({r["conversation_id"] for r in receipts}) == 6
    assert await count(app, Contact) == 1
    assert await count(app, ContactIdentity) == 1
    assert await count(app, Conversation) == 6
    assert await _events(app) == 6


@pytest.mark.parametrize("key", ["gateway_id", "idempotency_key", "hash"])
async def test_messages_without_message_id_are_deduplicated(
    app: Running, gateway: str, key: str
) -> None:
    raw = email(message_id=None)
    headers = {"Authorization": f"Bearer {gateway}"}

    async def send() -> dict[str, object]:
        if key == "gateway_id":
            body = {"raw": base64.b64encode(raw).decode(), "gateway_message_id": "sg-123"}
            answer = await app.client.post("/inbox/v1/inbound/email", json=body, headers=headers)
        elif key == "idempotency_key":
            answer = await app.client.post(
                "/inbox/v1/inbound/email",
                files={"email": ("message.eml", raw, "message/rfc822")},
                headers={**headers, "Idempotency-Key": "retry-77"},
            )
        else:
            answer = await app.client.post(
                "/inbox/v1/inbound/email", content=raw, headers=raw_headers(gateway)
            )
        assert answer.status_code == 202, answer.text
        result: dict[str, object] = answer.json()
        return result

    first, second = await send(), await send()

    assert second["message_id"] == first["message_id"]
    assert second["duplicate"] is True
    assert await count(app, Message) == 1


async def test_the_same_message_id_to_two_inbox_addresses_is_two_messages_in_two_conversations(
    app: Running, gateway: str
) -> None:
    """Dedupe is per inbox address: a copy for another address that does not join the first
    copy's conversation (no subject to thread by) is stored. One that joins it is kept once
    (test_copies_to_two_addresses)."""
    raw = email(subject="")

    sales = await post(app, gateway, raw)
    answer = await app.client.post(
        "/inbox/v1/inbound/email?to=billing@centre.example",
        content=raw,
        headers=raw_headers(gateway),
    )

    assert answer.json()["duplicate"] is False
    assert answer.json()["message_id"] != sales["message_id"]
    assert answer.json()["conversation_id"] != sales["conversation_id"]
    assert await count(app, Message) == 2


async def test_an_unparseable_message_is_quarantined_raw_not_lost(
    app: Running, gateway: str, tmp_path: Path
) -> None:
    junk = b"\x00\x01\x02 this is not an email \xff\xfe" * 10

    receipt = await post(app, gateway, junk)
    again = await post(app, gateway, junk)

    assert receipt["status"] == "quarantined"
    assert receipt["conversation_id"] is None
    assert again["duplicate"] is True
    async with app.context("inbox").require_sessions()() as session:
        message = await session.scalar(select(Message))
    assert message is not None
    assert message.status == "quarantined"
    digest = hashlib.sha256(junk).hexdigest()
    assert message.raw_sha256 == digest
    blobs = app.context("inbox").extras["blobs"]
    assert await blobs.get(digest) == junk


async def test_an_oversized_message_is_413_and_nothing_is_stored(
    db_url: str, tmp_path: Path
) -> None:
    async with running_all_in_one(db_url, tmp_path, max_message_bytes=2048) as app:
        token = await app.token(Role.GATEWAY)
        big = email(body="Bonjour " * 1000)

        answer = await app.client.post(
            "/inbox/v1/inbound/email", content=big, headers=raw_headers(token)
        )
        fine = await app.client.post(
            "/inbox/v1/inbound/email", content=email(body="Court."), headers=raw_headers(token)
        )

        assert answer.status_code == 413
        assert answer.json()["code"] == "message.too_large"
        assert fine.status_code == 202
        assert await count(app, Message) == 1


async def test_bad_requests_are_refused_and_store_nothing(app: Running, gateway: str) -> None:
    auth = {"Authorization": f"Bearer {gateway}"}

    anonymous = await app.client.post(
        "/inbox/v1/inbound/email", content=email(), headers={"Content-Type": "message/rfc822"}
    )
    agent = await app.token(Role.AGENT, agent_id=uuid.uuid4())
    wrong_role = await app.client.post(
        "/inbox/v1/inbound/email", content=email(), headers=raw_headers(agent)
    )
    bad_type = await app.client.post(
        "/inbox/v1/inbound/email", content=b"{}", headers={**auth, "Content-Type": "image/png"}
    )
    bad_base64 = await app.client.post(
        "/inbox/v1/inbound/email", json={"raw": "***not base64***"}, headers=auth
    )
    no_field = await app.client.post(
        "/inbox/v1/inbound/email", files={"other": ("x", b"y")}, headers=auth
    )

    assert anonymous.status_code == 401
    assert wrong_role.status_code == 403
    assert bad_type.status_code == 415
    assert bad_base64.status_code == 422
    assert bad_base64.json()["errors"][0]["field"] == "raw"
    assert no_field.status_code == 422
    assert await count(app, Message) == 0


async def test_the_needs_agent_event_reaches_routing_once(app: Running, gateway: str) -> None:
    receipt = await post(app, gateway, email())

    delivered = await app.relay("inbox").run_once()

    async with app.context("routing").require_sessions()() as session:
        processed = (await session.scalars(select(ProcessedEvent))).all()
    assert delivered == 1
    assert [p.type for p in processed] == ["conversation.needs_agent"]
    async with app.context("inbox").require_sessions()() as session:
        event = await session.scalar(select(OutboxEvent))
    assert event is not None
    assert event.payload["conversation_id"] == receipt["conversation_id"]
    assert event.payload["language"] == "fr"
    assert event.payload["channel"] == "email"


async def _events(app: Running) -> int:
    async with app.context("inbox").require_sessions()() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxEvent)) or 0)


async def test_while_translation_is_down_an_email_is_503_and_stored_once_when_it_is_back(
    app: Running, gateway: str
) -> None:
    before = email()
    stored = email(body=ENGLISH, subject="Refund")
    earlier = await post(app, gateway, before)
    extras = app.context("inbox").extras
    working = extras["translation"]
    # A real client to a loopback port nobody listens on: the service is down.
    down = TranslationClient(base_url=f"http://127.0.0.1:{free_port()}", token="x", timeout=2)
    extras["translation"] = down
    try:
        refused = await app.client.post(
            "/inbox/v1/inbound/email", content=stored, headers=raw_headers(gateway)
        )
        messages_while_down = await count(app, Message)
        conversations_while_down = await count(app, Conversation)
        # A message stored before the outage is answered from what was stored.
        retried = await post(app, gateway, before)
    finally:
        extras["translation"] = working
        await down.aclose()
    first = await post(app, gateway, stored)
    again = await post(app, gateway, stored)

    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.json()["code"] == "peer.unavailable"
    assert (messages_while_down, conversations_while_down) == (1, 1)
    assert (retried["duplicate"], retried["message_id"]) == (True, earlier["message_id"])
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert first["message_id"] == again["message_id"]
    assert first["language"] == "en"
    assert await count(app, Message) == 2
