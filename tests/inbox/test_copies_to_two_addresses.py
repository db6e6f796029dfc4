"""One email sent to two of our addresses (``billing@`` and ``facturation@``), each copy posted by
the gateway, is kept once in its conversation: the second copy answers the first one's receipt
with ``duplicate: true`` and changes nothing. Over HTTP, like a gateway posts mail."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select

from services.inbox.models import Conversation, Message
from shared.auth import Role
from shared.db import session_scope
from tests.inbox.builders import email, raw_headers
from tests.inbox.test_threading_http import needs_agent_events, resolve
from tests.support.apps import Running

BOTH = "billing@centre.example, facturation@centre.example"
#: The Date header the builder gives every email.
DATE = "Fri, 20 Nov 2026 14:05:00 +0000"
MARIE = "Marie Tremblay <marie.tremblay@exemple.ca>"


@pytest.fixture
async def gateway(app: Running) -> str:
    return await app.token(Role.GATEWAY)


async def post_to(app: Running, token: str, raw: bytes, address: str) -> dict[str, object]:
    answer = await app.client.post(
        "/inbox/v1/inbound/email", params={"to": address}, content=raw, headers=raw_headers(token)
    )
    assert answer.status_code == 202, answer.text
    body: dict[str, object] = answer.json()
    return body


async def messages_in(app: Running, conversation_id: object) -> list[Message]:
    async with app.context("inbox").require_sessions()() as session:
        rows = await session.scalars(
            select(Message)
            .where(Message.conversation_id == uuid.UUID(str(conversation_id)))
            .order_by(Message.received_at)
        )
        return list(rows)


async def version_of(app: Running, conversation_id: object) -> int:
    async with app.context("inbox").require_sessions()() as session:
        row = await session.get(Conversation, uuid.UUID(str(conversation_id)))
    assert row is not None
    return row.version


def receipt(answer: dict[str, object]) -> tuple[object, ...]:
    return tuple(answer[key] for key in ("message_id", "conversation_id", "contact_id", "status"))


async def test_the_second_copy_answers_the_first_ones_receipt_and_changes_nothing(
    app: Running, gateway: str
) -> None:
    raw = email(sender=MARIE, to=BOTH, subject="Facture erronée")

    first = await post_to(app, gateway, raw, "billing@centre.example")
    version = await version_of(app, first["conversation_id"])
    events = await needs_agent_events(app)
    second = await post_to(app, gateway, raw, "facturation@centre.example")

    assert first["duplicate"] is False
    assert second["duplicate"] is True
    assert receipt(second) == receipt(first)
    assert second["language"] == first["language"] == "fr"
    assert [message.id for message in await messages_in(app, first["conversation_id"])] == [
        uuid.UUID(str(first["message_id"]))
    ]
    assert await version_of(app, first["conversation_id"]) == version
    assert await needs_agent_events(app) == events
    # Either address's retry is still the same duplicate.
    for address in ("billing@centre.example", "facturation@centre.example"):
        again = await post_to(app, gateway, raw, address)
        assert (again["duplicate"], receipt(again)) == (True, receipt(first))


async def test_a_reply_copied_to_both_addresses_joins_its_conversation_once(
    app: Running, gateway: str
) -> None:
    opening = email(sender=MARIE, to="billing@centre.example", message_id="<a1@exemple.ca>")
    first = await post_to(app, gateway, opening, "billing@centre.example")
    reply = email(
        sender=MARIE,
        to=BOTH,
        subject="RE : Facture erronée — autre question",
        message_id="<a2@exemple.ca>",
        in_reply_to="<a1@exemple.ca>",
        body="Une autre question : puis-je payer en deux fois ?",
    )

    answers = [
        await post_to(app, gateway, reply, address)
        for address in ("billing@centre.example", "facturation@centre.example")
    ]

    assert [answer["duplicate"] for answer in answers] == [False, True]
    assert {answer["conversation_id"] for answer in answers} == {first["conversation_id"]}
    held = await messages_in(app, first["conversation_id"])
    assert [message.message_id_header for message in held] == ["a1@exemple.ca", "a2@exemple.ca"]


async def test_many_copies_at_once_add_one_message(app: Running, gateway: str) -> None:
    """The copies of a reply arrive together (one post per address): one message is added, on
    PostgreSQL too, where their transactions run side by side."""
    first = await post_to(app, gateway, email(sender=MARIE, message_id="<b1@exemple.ca>"), "a@x.ca")
    reply = email(
        sender=MARIE,
        to=", ".join(f"service{n}@centre.example" for n in range(10)),
        subject="RE : Facture erronée",
        message_id="<b2@exemple.ca>",
        in_reply_to="<b1@exemple.ca>",
    )

    answers = await asyncio.gather(
        *(post_to(app, gateway, reply, f"service{n}@centre.example") for n in range(10))
    )

    assert [answer["duplicate"] for answer in answers].count(False) == 1
    assert len({receipt(answer) for answer in answers}) == 1
    async with app.context("inbox").require_sessions()() as session:
        stored = await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.message_id_header == "b2@exemple.ca")
        )
    assert stored == 1
    assert len(await messages_in(app, first["conversation_id"])) == 2


@pytest.mark.parametrize("message_id", ["<d1@exemple.ca>", None])
async def test_copies_of_a_new_email_at_once_open_one_conversation(
    app: Running, gateway: str, message_id: str | None
) -> None:
    """The first email of a new customer, copied to five of our addresses and posted at once:
    one contact, one conversation, one message, one request for an agent. Each copy as its
    address's server delivered it (its own Delivered-To), with or without a Message-ID."""
    addresses = [f"service{n}@centre.example" for n in range(5)]
    copies = [
        email(
            sender="Léa Roy <lea.roy@exemple.ca>",
            to=", ".join(addresses),
            subject="Nouvel abonnement",
            message_id=message_id,
            headers={"Delivered-To": address},
        )
        for address in addresses
    ]

    answers = await asyncio.gather(
        *(
            post_to(app, gateway, raw, address)
            for raw, address in zip(copies, addresses, strict=True)
        )
    )

    assert [answer["duplicate"] for answer in answers].count(False) == 1
    assert len({receipt(answer) for answer in answers}) == 1
    assert len(await messages_in(app, answers[0]["conversation_id"])) == 1
    async with app.context("inbox").require_sessions()() as session:
        conversations = await session.scalar(select(func.count()).select_from(Conversation))
    assert conversations == 1
    assert len(await needs_agent_events(app)) == 1


@pytest.mark.parametrize("status", ["resolved", "closed"])
async def test_a_late_copy_of_an_email_a_finished_conversation_holds_is_a_duplicate(
    app: Running, gateway: str, status: str
) -> None:
    """A copy posted long after, when the conversation is closed or resolved past the reopen
    window, would open a new conversation following it: it answers the first copy's receipt."""
    raw = email(sender=MARIE, to=BOTH, subject="Facture erronée", message_id="<e1@exemple.ca>")
    first = await post_to(app, gateway, raw, "billing@centre.example")
    await resolve(app, str(first["conversation_id"]), days_ago=30, agent=uuid.uuid4())
    if status == "closed":
        async with session_scope(app.context("inbox").require_sessions()) as session:
            row = await session.get(Conversation, uuid.UUID(str(first["conversation_id"])))
            assert row is not None
            row.status = "closed"
    events = await needs_agent_events(app)

    late = await post_to(app, gateway, raw, "facturation@centre.example")
    other = await post_to(
        app,
        gateway,
        email(sender=MARIE, to=BOTH, subject="Facture erronée", message_id="<e2@exemple.ca>"),
        "facturation@centre.example",
    )

    assert (late["duplicate"], receipt(late)) == (True, receipt(first))
    # Only the other email opened a conversation, and asked for an agent.
    assert len(await needs_agent_events(app)) == len(events) + 1
    assert other["duplicate"] is False
    assert other["conversation_id"] != first["conversation_id"]
    async with app.context("inbox").require_sessions()() as session:
        copies = await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.message_id_header == "e1@exemple.ca")
        )
    assert copies == 1


async def test_another_senders_email_reusing_the_message_id_is_kept(
    app: Running, gateway: str
) -> None:
    """Only the same email is a copy: its sender too. A colleague's reply whose mailer reused the
    Message-ID is a message of its own."""
    first = await post_to(
        app, gateway, email(sender=MARIE, message_id="<c1@exemple.ca>"), "billing@centre.example"
    )
    reply = email(
        sender=MARIE,
        subject="RE : Facture erronée",
        message_id="<c2@exemple.ca>",
        in_reply_to="<c1@exemple.ca>",
    )
    await post_to(app, gateway, reply, "billing@centre.example")
    colleague = email(
        sender="Paul Roy <paul.roy@exemple.ca>",
        subject="RE : Facture erronée",
        message_id="<c2@exemple.ca>",
        in_reply_to="<c1@exemple.ca>",
        body="Je confirme, la facture de Marie est en double.",
    )

    third = await post_to(app, gateway, colleague, "facturation@centre.example")

    assert third["duplicate"] is False
    assert third["conversation_id"] == first["conversation_id"]
    held = await messages_in(app, first["conversation_id"])
    assert [message.from_address for message in held] == [
        "marie.tremblay@exemple.ca",
        "marie.tremblay@exemple.ca",
        "paul.roy@exemple.ca",
    ]


def delivered_to(address: str, *, date: str | None = DATE) -> bytes:
    """Marie's email without a Message-ID, as ``address``'s server delivered it; ``date`` is
    its Date header (None: it has none)."""
    raw = email(sender=MARIE, to=BOTH, message_id=None, headers={"Delivered-To": address})
    dated = b"Date: " + date.encode() + b"\r\n" if date else b""
    return raw.replace(b"Date: " + DATE.encode() + b"\r\n", dated, 1)


async def test_an_email_without_a_message_id_is_told_by_its_date(
    app: Running, gateway: str
) -> None:
    """Without a Message-ID, the same Date, sender, subject and text make a copy: the copy
    delivered to the second address answers the first one's receipt and changes nothing."""
    first = await post_to(
        app, gateway, delivered_to("billing@centre.example"), "billing@centre.example"
    )
    version = await version_of(app, first["conversation_id"])
    events = await needs_agent_events(app)

    second = await post_to(
        app, gateway, delivered_to("facturation@centre.example"), "facturation@centre.example"
    )

    assert (second["duplicate"], receipt(second)) == (True, receipt(first))
    assert len(await messages_in(app, first["conversation_id"])) == 1
    assert await version_of(app, first["conversation_id"]) == version
    assert await needs_agent_events(app) == events


@pytest.mark.parametrize(
    "dates",
    [(DATE, "Fri, 20 Nov 2026 14:25:00 +0000"), (None, None)],
    ids=["sent-again-later", "undated"],
)
async def test_an_email_without_a_message_id_sent_again_or_undated_is_kept(
    app: Running, gateway: str, dates: tuple[str | None, str | None]
) -> None:
    """The same text sent again (another Date), or two emails with neither a Message-ID nor a
    Date, are the customer's messages: both are kept in the conversation."""
    first = await post_to(
        app,
        gateway,
        delivered_to("billing@centre.example", date=dates[0]),
        "billing@centre.example",
    )

    second = await post_to(
        app,
        gateway,
        delivered_to("facturation@centre.example", date=dates[1]),
        "facturation@centre.example",
    )

    assert second["duplicate"] is False
    assert second["conversation_id"] == first["conversation_id"]
    assert len(await messages_in(app, first["conversation_id"])) == 2
