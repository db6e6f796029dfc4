"""Threading by the conversation reference a customer keeps in the subject (``réf. C-…``), as the
acknowledgement asks them to: over HTTP, like a gateway posts mail."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from services.inbox.models import Conversation, Message
from shared.auth import Role
from shared.db import session_scope, utc_now
from tests.inbox.builders import email
from tests.inbox.test_threading_http import conversation, needs_agent_events, post, resolve
from tests.support.apps import Running
from tests.support.smtp import SmtpServer, running_with_smtp

LUC = "Luc Gagnon <luc.gagnon@exemple.ca>"


@pytest.fixture
async def gateway(app: Running) -> str:
    return await app.token(Role.GATEWAY)


async def reference_of(app: Running, receipt: dict[str, str]) -> str:
    return (await conversation(app, receipt["conversation_id"])).reference


async def messages_in(app: Running, conversation_id: str) -> int:
    async with app.context("inbox").require_sessions()() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.conversation_id == uuid.UUID(conversation_id))
        )
    assert count is not None
    return count


@pytest.mark.parametrize(
    "subject",
    [
        "Question — réf. {reference}",
        "Question — réf.\u00a0{reference}",
        "[{reference}] Nouvelle question",
        "Re: Autre chose ({reference})",
        "Suivi de ma demande {reference_lower}",
        "RE : Nous avons bien reçu votre message (réf. {reference})",
        "Ref {reference}: my new address",
    ],
)
async def test_a_reference_in_a_new_subject_continues_the_senders_conversation(
    app: Running, gateway: str, subject: str
) -> None:
    first = await post(app, gateway, email(subject="TR : Votre facture décembre est prête"))
    reference = await reference_of(app, first)

    later = await post(
        app,
        gateway,
        email(subject=subject.format(reference=reference, reference_lower=reference.lower())),
    )

    assert later["conversation_id"] == first["conversation_id"]
    assert later["contact_id"] == first["contact_id"]
    assert await messages_in(app, first["conversation_id"]) == 2
    assert len(await needs_agent_events(app)) == 1


@pytest.mark.parametrize(
    "subject",
    [
        "Facture {reference}2",  # a longer code
        "Facture X{reference}",
        "Facture {reference}-2",
        "Dossier A-{reference}",
    ],
)
async def test_a_reference_inside_a_longer_code_does_not_thread(
    app: Running, gateway: str, subject: str
) -> None:
    first = await post(app, gateway, email(subject="Facture erronée"))
    reference = await reference_of(app, first)

    later = await post(app, gateway, email(subject=subject.format(reference=reference)))

    assert later["conversation_id"] != first["conversation_id"]


@pytest.mark.parametrize("known", [False, True], ids=["new sender", "known sender"])
async def test_another_contacts_reference_opens_a_new_conversation(
    app: Running, gateway: str, known: bool
) -> None:
    marie = await post(app, gateway, email(subject="Facture erronée"))
    reference = await reference_of(app, marie)
    if known:
        await post(app, gateway, email(sender=LUC, subject="Changement d’adresse"))

    stranger = await post(
        app, gateway, email(sender=LUC, subject=f"Suivi de ma demande réf. {reference}")
    )

    assert stranger["conversation_id"] != marie["conversation_id"]
    assert stranger["contact_id"] != marie["contact_id"]
    assert (await conversation(app, stranger["conversation_id"])).previous_conversation_id is None
    assert await messages_in(app, marie["conversation_id"]) == 1
    assert len(await needs_agent_events(app)) == (3 if known else 2)


async def test_another_contacts_reference_falls_through_to_the_subject(
    app: Running, gateway: str
) -> None:
    marie = await post(app, gateway, email(subject="Facture erronée"))
    luc = await post(app, gateway, email(sender=LUC, subject="Facture erronée"))
    marie_reference = await reference_of(app, marie)

    later = await post(
        app, gateway, email(sender=LUC, subject=f"RE : Facture erronée [{marie_reference}]")
    )

    # Not Marie's conversation: Luc's own, by its subject (a trailing [tag] is not part of it).
    assert later["conversation_id"] == luc["conversation_id"]
    assert await messages_in(app, marie["conversation_id"]) == 1


async def test_a_reference_naming_no_conversation_opens_a_new_one(
    app: Running, gateway: str
) -> None:
    first = await post(app, gateway, email(subject="Facture erronée"))
    reference = await reference_of(app, first)
    unknown = "C-22222222" if reference != "C-22222222" else "C-33333333"

    later = await post(app, gateway, email(subject=f"Question réf. {unknown}"))

    assert later["conversation_id"] != first["conversation_id"]
    assert later["contact_id"] == first["contact_id"]
    assert (await conversation(app, later["conversation_id"])).previous_conversation_id is None


async def test_the_reference_wins_over_the_subject(app: Running, gateway: str) -> None:
    invoice = await post(app, gateway, email(subject="Facture erronée"))
    moving = await post(app, gateway, email(subject="Changement d’adresse"))
    moving_reference = await reference_of(app, moving)

    later = await post(
        app, gateway, email(subject=f"RE : Facture erronée (réf. {moving_reference})")
    )

    assert later["conversation_id"] == moving["conversation_id"]
    assert later["conversation_id"] != invoice["conversation_id"]


async def test_reply_headers_win_over_the_reference(app: Running, gateway: str) -> None:
    invoice = await post(
        app, gateway, email(subject="Facture erronée", message_id="<h1@exemple.ca>")
    )
    moving = await post(app, gateway, email(subject="Changement d’adresse"))
    moving_reference = await reference_of(app, moving)

    reply = await post(
        app,
        gateway,
        email(subject=f"Réf. {moving_reference}", in_reply_to="<h1@exemple.ca>"),
    )

    assert reply["conversation_id"] == invoice["conversation_id"]
    assert await messages_in(app, moving["conversation_id"]) == 1


async def test_a_reference_reopens_a_conversation_resolved_within_the_window(
    app: Running, gateway: str
) -> None:
    agent = uuid.uuid4()
    first = await post(app, gateway, email(subject="Facture erronée"))
    reference = await reference_of(app, first)
    await resolve(app, first["conversation_id"], days_ago=3, agent=agent)

    later = await post(app, gateway, email(subject=f"Encore une question — réf. {reference}"))

    reopened = await conversation(app, first["conversation_id"])
    events = await needs_agent_events(app)
    assert later["conversation_id"] == first["conversation_id"]
    assert reopened.status == "open"
    assert reopened.resolved_at is None
    assert reopened.routing_status == "needs_agent"
    assert len(events) == 2
    assert events[-1]["preferred_agent_id"] == str(agent)


async def test_past_the_window_a_reference_opens_a_new_conversation_linked_to_it(
    app: Running, gateway: str
) -> None:
    first = await post(app, gateway, email(subject="Facture erronée"))
    reference = await reference_of(app, first)
    await resolve(app, first["conversation_id"], days_ago=90, agent=uuid.uuid4())

    later = await post(app, gateway, email(subject=f"Nouvelle question — réf. {reference}"))

    new = await conversation(app, later["conversation_id"])
    old = await conversation(app, first["conversation_id"])
    assert later["conversation_id"] != first["conversation_id"]
    assert new.previous_conversation_id == old.id
    assert old.status == "resolved"


async def test_a_reference_to_a_closed_conversation_opens_a_new_one_linked_to_it(
    app: Running, gateway: str
) -> None:
    first = await post(app, gateway, email(subject="Facture erronée"))
    reference = await reference_of(app, first)
    async with session_scope(app.context("inbox").require_sessions()) as session:
        row = await session.get(Conversation, uuid.UUID(first["conversation_id"]))
        assert row is not None
        row.status, row.resolved_at = "closed", utc_now()

    later = await post(app, gateway, email(subject=f"Question réf. {reference}"))

    new = await conversation(app, later["conversation_id"])
    old = await conversation(app, first["conversation_id"])
    assert later["conversation_id"] != first["conversation_id"]
    assert new.previous_conversation_id == old.id
    assert old.status == "closed"


@contextmanager
def statements(app: Running) -> Iterator[list[str]]:
    """The SQL statements the inbox's engine runs meanwhile."""
    engine = app.context("inbox").engine
    assert engine is not None
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_threading_by_reference_costs_no_extra_statement(app: Running, gateway: str) -> None:
    first = await post(app, gateway, email(subject="Facture erronée"))
    reference = await reference_of(app, first)

    with statements(app) as by_subject:
        plain = await post(app, gateway, email(subject="RE : Facture erronée"))
    with statements(app) as by_reference:
        quoted = await post(app, gateway, email(subject=f"Question — réf. {reference}"))

    assert plain["conversation_id"] == quoted["conversation_id"] == first["conversation_id"]
    assert len(by_reference) == len(by_subject)
    # An email whose subject quotes no reference does not look for one.
    assert not any("referenced" in statement for statement in by_subject)
    assert sum("referenced" in statement for statement in by_reference) == 1


@pytest.fixture
async def ack_app(db_url: str, tmp_path: Path, smtp_server: SmtpServer) -> AsyncIterator[Running]:
    async with running_with_smtp(db_url, tmp_path, smtp_server, auto_acknowledge=True) as running:
        yield running


async def test_a_customer_who_keeps_the_reference_gets_no_second_acknowledgement(
    ack_app: Running, smtp_server: SmtpServer
) -> None:
    gateway = await ack_app.token(Role.GATEWAY)
    first = await post(ack_app, gateway, email(subject="TR : Votre facture décembre est prête"))
    await ack_app.deliver_all()
    reference = await reference_of(ack_app, first)
    assert len(smtp_server.messages) == 1
    assert reference in smtp_server.messages[0].data.decode()

    later = await post(ack_app, gateway, email(subject=f"Question — réf. {reference}"))
    await ack_app.deliver_all()

    assert later["conversation_id"] == first["conversation_id"]
    assert len(smtp_server.messages) == 1
