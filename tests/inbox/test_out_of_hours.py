"""Out-of-hours notice: a new email in a closed queue gets it in place of the acknowledgement."""

from __future__ import annotations

import base64
import email
import email.policy
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from sqlalchemy import update

from services.inbox.models import OutboxEvent as InboxOutboxEvent
from services.routing.models import OutboxEvent as RoutingOutboxEvent
from shared.auth import Role
from shared.db import session_scope
from tests.inbox.builders import email as build_email
from tests.inbox.builders import raw_headers
from tests.support.apps import Running
from tests.support.smtp import SmtpServer, running_with_smtp

ZONE = "America/Toronto"
FRENCH_QUEUE = "Courriel — français"
BILINGUAL_QUEUE = "Bilingual — bilingue"
FAX_QUEUE = "Télécopie — français"
ENGLISH = "Hello,\n\nMy parcel never arrived. Could you please check the tracking number?\n\nJohn"
NBSP = "\u00a0"


@pytest.fixture
async def ooh_app(db_url: str, tmp_path: Path, smtp_server: SmtpServer) -> AsyncIterator[Running]:
    async with running_with_smtp(db_url, tmp_path, smtp_server, auto_acknowledge=True) as running:
        yield running


async def close_queue(app: Running, name: str) -> date:
    """Open the queue every day 9:30 to 17:00, with today and tomorrow (in its zone) holidays,
    so it is closed now whatever the clock says; returns the day it reopens."""
    headers = {"Authorization": f"Bearer {await app.token(Role.ADMIN)}"}
    queues = (await app.client.get("/routing/v1/queues", headers=headers)).json()
    [queue] = [q for q in queues if q["name"] == name]
    today = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date()
    day = [{"start": "09:30", "end": "17:00"}]
    hours = {
        "time_zone": ZONE,
        "weekly": dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), day),
        "holidays": [today.isoformat(), (today + timedelta(days=1)).isoformat()],
    }
    answer = await app.client.patch(
        f"/routing/v1/queues/{queue['id']}", json={"hours": hours}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["open_now"] is False
    return today + timedelta(days=2)


async def post(app: Running, raw: bytes) -> str:
    answer = await app.client.post(
        "/inbox/v1/inbound/email", content=raw, headers=raw_headers(await app.token(Role.GATEWAY))
    )
    assert answer.status_code == 202, answer.text
    conversation_id: str = answer.json()["conversation_id"]
    return conversation_id


async def drain(app: Running) -> None:
    """Deliver every pending event, both ways: the acknowledgement waits for routing."""
    await app.deliver_all()


async def redeliver(app: Running) -> None:
    """Mark every delivered event of both outboxes undelivered, and deliver them all again."""
    for service, model in (("inbox", InboxOutboxEvent), ("routing", RoutingOutboxEvent)):
        async with session_scope(app.context(service).require_sessions()) as session:
            await session.execute(update(model).values(delivered_at=None))
    await drain(app)


def sent(smtp_server: SmtpServer) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(m.data, policy=email.policy.default) for m in smtp_server.messages
    ]


def text_of(message: email.message.EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text: str = body.get_content()
    return text.replace("\r\n", "\n")


async def conversation(app: Running, conversation_id: str) -> dict[str, Any]:
    answer = await app.client.get(
        f"/inbox/v1/conversations/{conversation_id}",
        headers={"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"},
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def kinds(app: Running, conversation_id: str) -> list[str]:
    return [m["kind"] for m in (await conversation(app, conversation_id))["messages"]]


async def test_a_french_email_in_a_closed_queue_gets_the_french_notice_once(
    ooh_app: Running, smtp_server: SmtpServer
) -> None:
    reopens = await close_queue(ooh_app, FRENCH_QUEUE)

    conversation_id = await post(ooh_app, build_email(message_id="<nuit@exemple.ca>"))
    await drain(ooh_app)
    await redeliver(ooh_app)

    [notice] = sent(smtp_server)
    text = text_of(notice)
    assert notice["Subject"] == "Votre message a été reçu en dehors de nos heures d’ouverture"
    assert "Courriel" not in text  # the queue's name is a staff label
    assert (
        "Merci de nous avoir écrit. Votre message nous est parvenu en dehors de nos heures "
        "d’ouverture.\n" in text
    )
    assert (
        f"Nos heures d’ouverture sont les suivantes\u202f: tous les jours, de 9{NBSP}h{NBSP}30 "
        f"à 17{NBSP}h (heure de l’Est). Nous rouvrons le "
        f"{format_date(reopens, 'full', locale='fr_CA')} à 9{NBSP}h{NBSP}30." in text
    )
    assert "Nous avons bien reçu" not in text
    assert notice["To"] == "Marie Tremblay <marie.tremblay@exemple.ca>"
    assert notice["In-Reply-To"] == "<nuit@exemple.ca>"
    assert notice["Auto-Submitted"] == "auto-replied"
    waiting = await conversation(ooh_app, conversation_id)
    assert (waiting["routing_status"], waiting["queue_name"]) == ("queued", FRENCH_QUEUE)
    assert [m["kind"] for m in waiting["messages"]] == ["email", "automatic"]


async def test_an_english_email_in_an_open_queue_gets_only_the_acknowledgement(
    ooh_app: Running, smtp_server: SmtpServer
) -> None:
    await close_queue(ooh_app, FRENCH_QUEUE)  # another language's queue: no effect here

    conversation_id = await post(
        ooh_app, build_email(sender="john@example.com", subject="Lost parcel", body=ENGLISH)
    )
    await drain(ooh_app)
    await redeliver(ooh_app)

    [ack] = sent(smtp_server)
    assert ack["Subject"].startswith("We received your message (ref. ")
    assert "business hours" not in text_of(ack)
    assert ack["Auto-Submitted"] == "auto-replied"
    assert await kinds(ooh_app, conversation_id) == ["email", "automatic"]


@pytest.mark.parametrize(
    ("sender", "headers"),
    [
        ("marie.tremblay@exemple.ca", {"Auto-Submitted": "auto-replied"}),
        ("noreply@boutique.example", {}),
        ("MAILER-DAEMON@centre.example", {}),
    ],
)
async def test_robots_get_no_notice(
    ooh_app: Running, smtp_server: SmtpServer, sender: str, headers: dict[str, str]
) -> None:
    await close_queue(ooh_app, FRENCH_QUEUE)

    conversation_id = await post(ooh_app, build_email(sender=sender, headers=headers))
    await drain(ooh_app)

    assert smtp_server.messages == []
    assert await kinds(ooh_app, conversation_id) == ["email"]


async def test_an_undetermined_email_gets_the_notice_in_both_languages_each_with_its_hours(
    ooh_app: Running, smtp_server: SmtpServer
) -> None:
    reopens = await close_queue(ooh_app, BILINGUAL_QUEUE)

    await post(
        ooh_app, build_email(sender="client@example.net", subject="4417-2290", body="4417-2290")
    )
    await drain(ooh_app)

    [notice] = sent(smtp_server)
    text = text_of(notice)
    assert notice["Subject"] == (
        "Votre message a été reçu en dehors de nos heures d’ouverture"
        " / Your message was received outside our business hours"
    )
    french, english = text.split("-" * 40)
    assert f"de 9{NBSP}h{NBSP}30 à 17{NBSP}h (heure de l’Est)" in french
    assert f"{format_date(reopens, 'full', locale='fr_CA')} à 9{NBSP}h{NBSP}30." in french
    assert (
        "Our business hours are: every day, 9:30\u202fa.m. to 5\u202fp.m. (Eastern Time). "
        f"We reopen at 9:30\u202fa.m. on {format_date(reopens, 'full', locale='en_CA')}." in english
    )
    assert "Your message reached us outside our business hours." in english
    assert "Bilingual" not in text
    assert "bilingue" not in text


async def test_the_bilingual_notice_follows_the_configured_language_order(
    db_url: str, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    async with running_with_smtp(
        db_url, tmp_path, smtp_server, auto_acknowledge=True, bilingual_first="en"
    ) as app:
        await close_queue(app, BILINGUAL_QUEUE)
        await post(
            app, build_email(sender="client@example.net", subject="4417-2290", body="4417-2290")
        )
        await drain(app)

    [notice] = sent(smtp_server)
    english, french = text_of(notice).split("-" * 40)
    assert notice["Subject"].startswith("Your message was received outside our business hours / ")
    assert "Our business hours are: every day, 9:30\u202fa.m. to 5\u202fp.m." in english
    assert f"de 9{NBSP}h{NBSP}30 à 17{NBSP}h (heure de l’Est)" in french


async def test_a_fax_in_a_closed_queue_gets_no_mail(
    ooh_app: Running, smtp_server: SmtpServer
) -> None:
    await close_queue(ooh_app, FAX_QUEUE)
    fax = {
        "fax_id": "FX-NIGHT",
        "from": "418 555 0199",
        "document": base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode(),
    }
    headers = {"Authorization": f"Bearer {await ooh_app.token(Role.GATEWAY)}"}

    answer = await ooh_app.client.post("/inbox/v1/inbound/faxes", json=fax, headers=headers)
    assert answer.status_code == 202, answer.text
    await drain(ooh_app)

    assert smtp_server.messages == []
    waiting = await conversation(ooh_app, answer.json()["conversation_id"])
    assert (waiting["routing_status"], waiting["queue_name"]) == ("queued", FAX_QUEUE)
    assert [m["kind"] for m in waiting["messages"]] == ["fax"]
