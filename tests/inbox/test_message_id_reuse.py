"""Some mailers and web forms give every email one Message-ID. A second customer's email with
the first one's Message-ID is an email of its own, never a re-post of the first: it is kept."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from services import migrate
from services.inbox.ingest import service
from services.inbox.ingest.mime import parse_email
from shared.auth import Role
from tests.inbox.builders import email
from tests.inbox.test_copies_to_two_addresses import messages_in, post_to
from tests.shared.test_migrations import fresh_url  # noqa: F401 (a fixture)
from tests.support.apps import Running
from tests.support.database import run_in_transaction

ALAIN = "Alain Roy <alain.roy@exemple.ca>"
BRIGITTE = "Brigitte Paré <b.pare@exemple.ca>"
INBOX = "service@centre.example"


@pytest.fixture
async def gateway(app: Running) -> str:
    return await app.token(Role.GATEWAY)


async def test_another_senders_email_with_the_same_message_id_is_kept(
    app: Running, gateway: str
) -> None:
    alains = email(sender=ALAIN, message_id="<1@localhost>", body="Ma facture est erronée.")
    brigittes = email(sender=BRIGITTE, message_id="<1@localhost>", body="Mon colis est perdu.")

    first = await post_to(app, gateway, alains, INBOX)
    second = await post_to(app, gateway, brigittes, INBOX)
    again = [await post_to(app, gateway, raw, INBOX) for raw in (alains, brigittes)]

    assert second["duplicate"] is False
    assert second["contact_id"] != first["contact_id"]
    assert [message.text for message in await messages_in(app, second["conversation_id"])] == [
        "Mon colis est perdu."
    ]
    # Each one's re-post is still told a duplicate, with its own ids.
    assert [(answer["duplicate"], answer["message_id"]) for answer in again] == [
        (True, first["message_id"]),
        (True, second["message_id"]),
    ]


BEFORE = "a1c0de00000c"  # the revision before Message-ID keys named the sender


def test_emails_stored_before_keep_their_duplicate_answer(fresh_url: str) -> None:  # noqa: F811
    """The migration rewrites the keys stored before it: a gateway re-posting such an email
    is still told it is a duplicate (and a downgrade gives the old keys back)."""
    raw = email(sender=ALAIN, message_id="<7@exemple.ca>")
    parsed = parse_email(raw)
    inbound = service.InboundEmail(
        dedupe_key=f"mid:{INBOX}:7@exemple.ca",  # as this release's predecessor wrote it
        raw_sha256="0" * 64,
        raw_size=len(raw),
        gateway="gw",
        inbox_address=INBOX,
        parsed=parsed,
        parse_error=None,
    )
    row = {"id": uuid.uuid4(), **service._message_values(inbound, None, datetime.now(UTC))}

    migrate.upgrade(fresh_url, BEFORE)
    run_in_transaction(
        fresh_url, lambda connection: connection.execute(service.MESSAGE.insert(), row)
    )
    migrate.upgrade(fresh_url)
    upgraded = _key(fresh_url)
    migrate.downgrade(fresh_url, BEFORE)
    downgraded = _key(fresh_url)

    assert upgraded == service.dedupe_key(
        parsed=parsed,
        inbox_address=INBOX,
        gateway="gw",
        gateway_message_id=None,
        idempotency_key=None,
        raw_sha256="1" * 64,
    )
    assert upgraded == f"mid:{INBOX}:alain.roy@exemple.ca:7@exemple.ca"
    assert downgraded == f"mid:{INBOX}:7@exemple.ca"


def _key(url: str) -> Any:
    return run_in_transaction(
        url, lambda connection: connection.scalar(select(service.MESSAGE.c.dedupe_key))
    )
