"""A contact's name is a person's name: an address repeated as the display name is none, nor are
Outlook's single quotes part of it; the name the customer gives later becomes theirs, and a
name once known is kept."""

from __future__ import annotations

from typing import Any

import pytest

from shared.auth import Role
from tests.inbox.builders import email, raw_headers
from tests.support.apps import Running


@pytest.fixture
async def gateway(app: Running) -> str:
    return await app.token(Role.GATEWAY, name="postfix")


async def contact_after(app: Running, gateway: str, *senders: str) -> dict[str, Any]:
    """The contact as an agent reads it after an email from each sender, in turn."""
    receipt: dict[str, Any] = {}
    for number, sender in enumerate(senders):
        answer = await app.client.post(
            "/inbox/v1/inbound/email",
            content=email(sender=sender, subject=f"Demande {number}"),
            headers=raw_headers(gateway),
        )
        assert answer.status_code == 202, answer.text
        receipt = answer.json()
    reader = {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}
    read = await app.client.get(f"/inbox/v1/contacts/{receipt['contact_id']}", headers=reader)
    assert read.status_code == 200
    body: dict[str, Any] = read.json()
    return body


@pytest.mark.parametrize(
    "sender",
    [
        '"marie.tremblay@exemple.ca" <marie.tremblay@exemple.ca>',
        "'Marie.Tremblay@exemple.ca' <marie.tremblay@exemple.ca>",
        "marie.tremblay@exemple.ca",
    ],
)
async def test_an_address_given_as_the_name_is_no_name(
    app: Running, gateway: str, sender: str
) -> None:
    contact = await contact_after(app, gateway, sender)

    assert contact["display_name"] is None
    assert contact["identities"] == [{"kind": "email", "value": "marie.tremblay@exemple.ca"}]


async def test_the_name_given_after_an_address_as_name_becomes_the_contacts(
    app: Running, gateway: str
) -> None:
    contact = await contact_after(
        app,
        gateway,
        '"marie.tremblay@exemple.ca" <marie.tremblay@exemple.ca>',
        "Marie Tremblay <marie.tremblay@exemple.ca>",
    )

    assert contact["display_name"] == "Marie Tremblay"


async def test_a_known_name_is_kept_when_the_customer_writes_with_another_or_none(
    app: Running, gateway: str
) -> None:
    contact = await contact_after(
        app,
        gateway,
        "Marie Tremblay <marie.tremblay@exemple.ca>",
        "M. T. <marie.tremblay@exemple.ca>",
        '"marie.tremblay@exemple.ca" <marie.tremblay@exemple.ca>',
    )

    assert contact["display_name"] == "Marie Tremblay"


async def test_a_name_with_an_at_sign_among_words_is_a_name(app: Running, gateway: str) -> None:
    contact = await contact_after(app, gateway, '"Marie @ Acme" <marie.tremblay@exemple.ca>')

    assert contact["display_name"] == "Marie @ Acme"


async def test_a_name_in_single_quotes_as_outlook_writes_it_is_the_name_without_them(
    app: Running, gateway: str
) -> None:
    contact = await contact_after(
        app, gateway, "'Marie Tremblay' <marie.tremblay@exemple.ca>, 'Luc' <luc@exemple.ca>"
    )

    assert contact["display_name"] == "Marie Tremblay"
    assert contact["identities"] == [{"kind": "email", "value": "marie.tremblay@exemple.ca"}]


@pytest.mark.parametrize(
    ("sender", "name"),
    [
        ("=?utf-8?q?'H=C3=A9l=C3=A8ne_C=C3=B4t=C3=A9'?= <helene.cote@exemple.ca>", "Hélène Côté"),
        ("\"'Jean Roy' (jean.roy@exemple.ca)\" <jean.roy@exemple.ca>", "Jean Roy"),
        ('"Jean Roy [jean.roy@exemple.ca]" <jean.roy@exemple.ca>', "Jean Roy"),
        ('"Marie (Ventes)" <marie@exemple.ca>', "Marie (Ventes)"),
        ('"Siobhan O\'Brien" <siobhan@exemple.ca>', "Siobhan O'Brien"),
    ],
)
async def test_what_mailers_wrap_around_a_name_is_not_part_of_it(
    app: Running, gateway: str, sender: str, name: str
) -> None:
    contact = await contact_after(app, gateway, sender)

    assert contact["display_name"] == name
