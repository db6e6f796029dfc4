"""Dates and times the database cannot store (a year 10000 once in UTC) are refused as input,
field by field, and never reach it: a 500 before, or an event routing failed on for ever."""

from __future__ import annotations

import base64

from sqlalchemy import func, select

from services.inbox.models import Message, OutboxEvent
from shared.auth import Role
from tests.inbox.builders import email, raw_headers
from tests.support.apps import Running

#: Valid RFC 3339: the last minute of 9999, 23 h 59 behind UTC, i.e. in the year 10000 in UTC.
BEYOND = "9999-12-31T23:59:59-23:59"


async def count(app: Running) -> int:
    async with app.context("inbox").require_sessions()() as session:
        return (await session.scalars(select(func.count()).select_from(Message))).one()


async def test_an_email_dated_beyond_the_storable_years_is_kept_without_its_date(
    app: Running,
) -> None:
    gateway = await app.token(Role.GATEWAY)
    raw = (
        b"From: Lise Gagnon <lise@exemple.ca>\r\nTo: service@centre.example\r\n"
        b"Subject: Facture\r\nMessage-ID: <beyond-1@exemple.ca>\r\n"
        b"Date: Fri, 31 Dec 9999 23:59:59 -2359\r\n\r\n"
        b"Bonjour, ma facture est erron\xc3\xa9e.\r\n"
    )

    answer = await app.client.post(
        "/inbox/v1/inbound/email", content=raw, headers=raw_headers(gateway)
    )

    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "accepted"
    conversation = await app.client.get(
        f"/inbox/v1/conversations/{answer.json()['conversation_id']}",
        headers={"Authorization": f"Bearer {await app.token(Role.ADMIN)}"},
    )
    [message] = conversation.json()["messages"]
    assert message["text"].startswith("Bonjour, ma facture")
    assert message["sent_at"] is None


async def test_instants_beyond_the_storable_years_are_422_on_their_field_changing_nothing(
    app: Running,
) -> None:
    gateway = await app.token(Role.GATEWAY)
    admin = {"Authorization": f"Bearer {await app.token(Role.ADMIN)}"}
    received = await app.client.post(
        "/inbox/v1/inbound/email", content=email(), headers=raw_headers(gateway)
    )
    conversation_id = received.json()["conversation_id"]
    messages_before = await count(app)

    listed = await app.client.get(
        "/inbox/v1/conversations",
        params={"created_after": BEYOND},
        headers={**admin, "Accept-Language": "fr"},
    )
    callback = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/callbacks",
        json={"due_at": BEYOND, "phone": "+15145550123"},
        headers=admin,
    )
    snoozed = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/status",
        json={"status": "snoozed", "snoozed_until": BEYOND},
        headers=admin,
    )
    routing_callback = await app.client.post(
        "/routing/v1/callbacks",
        json={"conversation_id": conversation_id, "language": "fr", "due_at": BEYOND},
        headers=admin,
    )
    fax = await app.client.post(
        "/inbox/v1/inbound/faxes",
        json={
            "fax_id": "FX-BEYOND",
            "from": "+15145550199",
            "document": base64.b64encode(b"%PDF-1.4").decode(),
            "received_at": BEYOND,
        },
        headers={"Authorization": f"Bearer {gateway}"},
    )

    for answer, field in (
        (listed, "created_after"),
        (callback, "due_at"),
        (snoozed, "snoozed_until"),
        (routing_callback, "due_at"),
        (fax, "received_at"),
    ):
        assert answer.status_code == 422, (field, answer.status_code, answer.text)
        [error] = answer.json()["errors"]
        assert (error["field"], error["code"]) == (field, "datetime_range")
    assert listed.json()["errors"][0]["reason"] == "Doit tomber entre les années 1 et 9999 en UTC."
    assert (
        callback.json()["errors"][0]["reason"] == "Must fall between the years 1 and 9999 in UTC."
    )
    # Nothing stored, nothing sent to routing, the conversation as it was.
    assert await count(app) == messages_before
    async with app.context("inbox").require_sessions()() as session:
        kinds = (await session.scalars(select(OutboxEvent.type))).all()
    assert "callback.requested" not in kinds
    state = await app.client.get(f"/inbox/v1/conversations/{conversation_id}", headers=admin)
    assert state.json()["status"] == "open"
