"""Calls from a withheld number, over HTTP: queued and recorded under an unknown caller."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from services.inbox.models import CallEvent, Contact, ContactIdentity, Conversation, Message
from shared.auth import Role
from tests.inbox.test_calls import FRENCH_LINE, IVR_LINE, gateway, outbox, phone_app
from tests.support.apps import Running

__all__ = ["gateway", "phone_app"]

WITHHELD = ["anonymous", "Anonymous", "private", "restricted", "unknown", "unavailable", "", None]


async def ring(app: Running, headers: dict[str, str], caller: str | None, **fields: Any) -> Any:
    body: dict[str, Any] = {"call_id": "w-1", "event": "ringing", "to": FRENCH_LINE, **fields}
    if caller is not None:
        body["from"] = caller
    return await app.client.post("/inbox/v1/inbound/calls", json=body, headers=headers)


async def supervisor_reads(app: Running, path: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}
    answer = await app.client.get(f"/inbox/v1/{path}", headers=headers)
    assert answer.status_code == 200, answer.text
    read: dict[str, Any] = answer.json()
    return read


@pytest.mark.parametrize("caller", WITHHELD)
async def test_a_call_from_a_withheld_number_is_queued_and_recorded_under_an_unknown_caller(
    phone_app: Running, gateway: dict[str, str], caller: str | None
) -> None:
    answer = await ring(phone_app, gateway, caller)

    assert answer.status_code == 200, answer.text
    receipt = answer.json()
    assert (receipt["action"], receipt["language"]) == ("queued", "fr")
    assert receipt["language_evidence"] == ["line"]
    assert [kind for kind, _ in await outbox(phone_app)] == ["conversation.needs_agent"]
    conversation = await supervisor_reads(phone_app, f"conversations/{receipt['conversation_id']}")
    [message] = conversation["messages"]
    assert (message["call"]["caller"], message["call"]["state"]) == (None, "ringing")
    contact = await supervisor_reads(phone_app, f"contacts/{receipt['contact_id']}")
    assert contact["identities"] == []


async def test_two_withheld_callers_are_two_contacts_and_each_call_keeps_its_own(
    phone_app: Running, gateway: dict[str, str]
) -> None:
    first = (await ring(phone_app, gateway, "anonymous", call_id="w-1")).json()
    second = (await ring(phone_app, gateway, "anonymous", call_id="w-2")).json()
    missed = await phone_app.client.post(
        "/inbox/v1/inbound/calls",
        json={"call_id": "w-1", "event": "missed", "from": "Anonymous", "to": FRENCH_LINE},
        headers=gateway,
    )

    assert first["contact_id"] != second["contact_id"]
    assert first["conversation_id"] != second["conversation_id"]
    assert missed.status_code == 200, missed.text
    assert (missed.json()["message_id"], missed.json()["contact_id"]) == (
        first["message_id"],
        first["contact_id"],
    )
    async with phone_app.context("inbox").require_sessions()() as session:
        assert await session.scalar(select(func.count()).select_from(ContactIdentity)) == 0


async def test_a_withheld_callers_language_comes_from_the_ivr_or_is_undetermined(
    phone_app: Running, gateway: dict[str, str]
) -> None:
    chosen = await ring(phone_app, gateway, "private", call_id="i", to=IVR_LINE, ivr_digit="1")
    unknown_line = await ring(phone_app, gateway, "private", call_id="u", to="+16135550000")

    assert (chosen.json()["language"], chosen.json()["language_evidence"]) == ("en", ["ivr_digit"])
    assert (unknown_line.json()["language"], unknown_line.json()["language_evidence"]) == (
        "und",
        ["none"],
    )


@pytest.mark.parametrize("caller", ["12ab", "anonymous caller", "+1 514 555"])
async def test_a_malformed_caller_number_is_422_naming_from_and_stores_nothing(
    phone_app: Running, gateway: dict[str, str], caller: str
) -> None:
    english = await ring(phone_app, gateway, caller)
    french = await phone_app.client.post(
        "/inbox/v1/inbound/calls",
        json={"call_id": "w-2", "event": "ringing", "from": caller, "to": FRENCH_LINE},
        headers={**gateway, "Accept-Language": "fr"},
    )

    assert (english.status_code, french.status_code) == (422, 422)
    assert english.json()["errors"] == [
        {"field": "from", "code": "phone_number", "reason": "Not a phone number."}
    ]
    assert french.json()["errors"][0]["reason"] == "Ce n’est pas un numéro de téléphone valide."
    assert await outbox(phone_app) == []
    async with phone_app.context("inbox").require_sessions()() as session:
        for table in (Message, CallEvent, Conversation, Contact):
            assert await session.scalar(select(func.count()).select_from(table)) == 0
