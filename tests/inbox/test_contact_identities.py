"""Supervisors join what is one customer: they add another email address or number to a contact,
and merge a contact made for the customer's other address into theirs. What arrives afterwards
from any of the addresses threads into the customer's conversations."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shared.auth import Role
from tests.inbox.builders import email, raw_headers
from tests.support.apps import Running

MARIE = "Marie Tremblay <marie.tremblay@exemple.ca>"
MARIE_AT_WORK = "marie.tremblay@travail.example"


@pytest.fixture
async def gateway(app: Running) -> str:
    return await app.token(Role.GATEWAY, name="postfix")


@pytest.fixture
async def supervisor(app: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR, name='Chloé')}"}


async def receive(app: Running, gateway: str, sender: str, subject: str) -> dict[str, Any]:
    """The inbox's receipt of an email from ``sender``."""
    answer = await app.client.post(
        "/inbox/v1/inbound/email",
        content=email(sender=sender, subject=subject),
        headers=raw_headers(gateway),
    )
    assert answer.status_code == 202, answer.text
    receipt: dict[str, Any] = answer.json()
    return receipt


async def read(app: Running, path: str, headers: dict[str, str]) -> Any:
    answer = await app.client.get(f"/inbox/v1/{path}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_an_added_address_brings_the_next_email_to_the_contact_and_its_conversation(
    app: Running, gateway: str, supervisor: dict[str, str]
) -> None:
    first = await receive(app, gateway, MARIE, "Facture erronée")
    contact_id = first["contact_id"]

    added = await app.client.post(
        f"/inbox/v1/contacts/{contact_id}/identities",
        json={"kind": "email", "value": "  Marie.Tremblay@Travail.EXAMPLE "},
        headers=supervisor,
    )
    again = await app.client.post(
        f"/inbox/v1/contacts/{contact_id}/identities",
        json={"kind": "email", "value": MARIE_AT_WORK},
        headers=supervisor,
    )
    phone = await app.client.post(
        f"/inbox/v1/contacts/{contact_id}/identities",
        json={"kind": "phone", "value": "514 555-0123"},
        headers=supervisor,
    )
    later = await receive(app, gateway, f"Marie T. <{MARIE_AT_WORK}>", "RE : Facture erronée")

    assert added.status_code == 201, added.text
    assert added.json()["identities"] == [
        {"kind": "email", "value": "marie.tremblay@exemple.ca"},
        {"kind": "email", "value": MARIE_AT_WORK},
    ]
    assert again.status_code == 200
    assert again.json() == added.json()
    assert phone.status_code == 201
    assert phone.json()["identities"][-1] == {"kind": "phone", "value": "+15145550123"}
    assert later["contact_id"] == contact_id
    assert later["conversation_id"] == first["conversation_id"]


async def test_an_address_of_another_contact_is_409_naming_it_and_changes_nothing(
    app: Running, gateway: str, supervisor: dict[str, str]
) -> None:
    marie = (await receive(app, gateway, MARIE, "Facture"))["contact_id"]
    other = (await receive(app, gateway, MARIE_AT_WORK, "Livraison"))["contact_id"]
    before = [await read(app, f"contacts/{c}", supervisor) for c in (marie, other)]

    refused = {
        language: await app.client.post(
            f"/inbox/v1/contacts/{marie}/identities",
            json={"kind": "email", "value": MARIE_AT_WORK.upper()},
            headers={**supervisor, "Accept-Language": language},
        )
        for language in ("en", "fr")
    }

    for answer in refused.values():
        assert answer.status_code == 409
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == "contact.identity_taken"
        assert answer.json()["contact_id"] == other
    assert refused["en"].json()["detail"] == (
        f"{MARIE_AT_WORK} belongs to contact {other}; nothing was changed. To join them, "
        "merge that contact into this one."
    )
    assert refused["fr"].json()["detail"] == (
        f"{MARIE_AT_WORK} appartient au contact {other}\u202f; rien n’a été modifié. "
        "Pour les réunir, fusionnez ce contact dans celui-ci."
    )
    assert [await read(app, f"contacts/{c}", supervisor) for c in (marie, other)] == before


@pytest.mark.parametrize(
    ("kind", "value", "code", "reason_en", "reason_fr"),
    [
        ("email", "marie.tremblay@", "email_address", "Must be an email address.",
         "Doit être une adresse courriel."),
        ("email", "marie tremblay@exemple.ca", "email_address", "Must be an email address.",
         "Doit être une adresse courriel."),
        ("phone", "pas un numéro", "phone_number", "Not a phone number.",
         "Ce n’est pas un numéro de téléphone valide."),
        ("fax", "12", "phone_number", "Not a phone number.",
         "Ce n’est pas un numéro de téléphone valide."),
    ],
)  # fmt: skip
async def test_a_value_that_is_no_address_or_number_is_422_naming_value_and_changes_nothing(
    app: Running,
    gateway: str,
    supervisor: dict[str, str],
    kind: str,
    value: str,
    code: str,
    reason_en: str,
    reason_fr: str,
) -> None:
    contact_id = (await receive(app, gateway, MARIE, "Facture"))["contact_id"]
    before = await read(app, f"contacts/{contact_id}", supervisor)

    for language, reason in (("en", reason_en), ("fr", reason_fr)):
        refused = await app.client.post(
            f"/inbox/v1/contacts/{contact_id}/identities",
            json={"kind": kind, "value": value},
            headers={**supervisor, "Accept-Language": language},
        )

        assert refused.status_code == 422
        assert refused.json()["errors"] == [{"field": "value", "code": code, "reason": reason}]
    assert await read(app, f"contacts/{contact_id}", supervisor) == before


async def test_a_merge_moves_the_other_contacts_identities_and_conversations(
    app: Running, gateway: str, supervisor: dict[str, str]
) -> None:
    kept = await receive(app, gateway, "marie.tremblay@exemple.ca", "Facture")
    merged = await receive(app, gateway, f"Marie Tremblay <{MARIE_AT_WORK}>", "Livraison")

    answer = await app.client.post(
        f"/inbox/v1/contacts/{kept['contact_id']}/merge",
        json={"contact_id": merged["contact_id"]},
        headers=supervisor,
    )

    assert answer.status_code == 200, answer.text
    contact = answer.json()
    assert contact["display_name"] == "Marie Tremblay"  # the merged one's name fills an empty one
    assert contact["merged_into_id"] is None
    assert {i["value"] for i in contact["identities"]} == {
        "marie.tremblay@exemple.ca",
        MARIE_AT_WORK,
    }
    moved = await read(app, f"conversations/{merged['conversation_id']}", supervisor)
    assert moved["contact"]["id"] == kept["contact_id"]
    listing = await read(app, f"conversations?contact_id={kept['contact_id']}", supervisor)
    assert {c["id"] for c in listing["items"]} == {
        kept["conversation_id"],
        merged["conversation_id"],
    }
    timeline = await read(app, f"conversations/{merged['conversation_id']}/timeline", supervisor)
    assert [e["kind"] for e in timeline if e["kind"] == "contact_merged"] == ["contact_merged"]
    left = await read(app, f"contacts/{merged['contact_id']}", supervisor)
    assert left["merged_into_id"] == kept["contact_id"]
    assert left["identities"] == []
    empty = await read(app, f"conversations?contact_id={merged['contact_id']}", supervisor)
    assert empty["items"] == []
    # The next email from the merged address threads by subject into the customer's conversation.
    later = await receive(app, gateway, MARIE_AT_WORK, "RE: Livraison")
    assert later["contact_id"] == kept["contact_id"]
    assert later["conversation_id"] == merged["conversation_id"]


async def test_an_email_from_a_moved_address_during_a_merge_is_never_left_behind(
    app: Running, gateway: str, supervisor: dict[str, str]
) -> None:
    for round_ in range(3):
        kept = (await receive(app, gateway, MARIE, f"Facture {round_}"))["contact_id"]
        address = f"marie.{round_}@travail.example"
        other = (await receive(app, gateway, address, "Livraison"))["contact_id"]

        merged, arrived = await asyncio.gather(
            app.client.post(
                f"/inbox/v1/contacts/{kept}/merge", json={"contact_id": other}, headers=supervisor
            ),
            receive(app, gateway, address, f"Nouvelle demande {round_}"),
        )

        assert merged.status_code == 200, merged.text
        left = await read(app, f"conversations?contact_id={other}", supervisor)
        assert left["items"] == []
        mine = await read(app, f"conversations?contact_id={kept}", supervisor)
        assert arrived["conversation_id"] in {c["id"] for c in mine["items"]}


async def test_a_merge_again_into_itself_or_of_an_unknown_contact_is_refused(
    app: Running, gateway: str, supervisor: dict[str, str]
) -> None:
    kept = (await receive(app, gateway, MARIE, "Facture"))["contact_id"]
    other = (await receive(app, gateway, MARIE_AT_WORK, "Livraison"))["contact_id"]
    merge = f"/inbox/v1/contacts/{kept}/merge"
    assert (await app.client.post(merge, json={"contact_id": other}, headers=supervisor)).is_success
    before = [await read(app, f"contacts/{c}", supervisor) for c in (kept, other)]

    again = await app.client.post(
        merge, json={"contact_id": other}, headers={**supervisor, "Accept-Language": "fr"}
    )
    back = await app.client.post(
        f"/inbox/v1/contacts/{other}/merge", json={"contact_id": kept}, headers=supervisor
    )
    itself = await app.client.post(
        merge, json={"contact_id": kept}, headers={**supervisor, "Accept-Language": "fr"}
    )
    unknown = await app.client.post(
        merge, json={"contact_id": "0b9d6c1e-3f0a-4c55-9b1e-2f6a8d4c7e10"}, headers=supervisor
    )

    assert again.status_code == 409
    assert again.json()["code"] == "contact.merged"
    assert again.json()["detail"] == (
        f"Le contact {other} a été fusionné dans le contact {kept}\u202f; rien n’a été modifié."
    )
    assert back.status_code == 409
    assert itself.status_code == 422
    assert itself.json()["errors"] == [
        {
            "field": "contact_id",
            "code": "same_contact",
            "reason": "Doit être un autre contact que celui dans lequel il est fusionné.",
        }
    ]
    assert unknown.status_code == 404
    assert [await read(app, f"contacts/{c}", supervisor) for c in (kept, other)] == before


async def test_agents_may_neither_add_an_identity_nor_merge(
    app: Running, gateway: str, supervisor: dict[str, str]
) -> None:
    kept = (await receive(app, gateway, MARIE, "Facture"))["contact_id"]
    other = (await receive(app, gateway, MARIE_AT_WORK, "Livraison"))["contact_id"]
    before = [await read(app, f"contacts/{c}", supervisor) for c in (kept, other)]
    agent = {"Authorization": f"Bearer {await app.token(Role.AGENT)}"}

    added = await app.client.post(
        f"/inbox/v1/contacts/{kept}/identities",
        json={"kind": "email", "value": "autre@exemple.ca"},
        headers=agent,
    )
    merged = await app.client.post(
        f"/inbox/v1/contacts/{kept}/merge", json={"contact_id": other}, headers=agent
    )

    assert added.status_code == 403
    assert merged.status_code == 403
    assert [await read(app, f"contacts/{c}", supervisor) for c in (kept, other)] == before
