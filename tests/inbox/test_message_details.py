"""What an agent reads of a call, a voicemail and a fax in GET /inbox/v1/conversations/{id}."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from shared.auth import Role
from tests.inbox.builders import email, raw_headers
from tests.support.apps import Running

CALLER = "+14165550123"
LINE = "+18005550100"


@pytest.fixture
async def gateway(app: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(Role.GATEWAY, name='cti')}"}


async def call_event(app: Running, gateway: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"call_id": "CA-1", "from": CALLER, "to": LINE, **fields}
    answer = await app.client.post("/inbox/v1/inbound/calls", json=body, headers=gateway)
    assert answer.status_code == 200, answer.text
    receipt: dict[str, Any] = answer.json()
    return receipt


async def read_message(app: Running, receipt: dict[str, Any]) -> dict[str, Any]:
    """The receipt's message as a supervisor reads it in its conversation."""
    answer = await app.client.get(
        f"/inbox/v1/conversations/{receipt['conversation_id']}",
        headers={"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"},
    )
    assert answer.status_code == 200, answer.text
    [message] = [m for m in answer.json()["messages"] if m["id"] == receipt["message_id"]]
    found: dict[str, Any] = message
    return found


async def test_an_answered_and_completed_call_shows_its_state_duration_and_recording(
    app: Running, gateway: dict[str, str]
) -> None:
    await call_event(
        app, gateway, event="ringing", ivr_digit="2", occurred_at="2026-12-04T14:00:00Z"
    )
    await call_event(app, gateway, event="answered", occurred_at="2026-12-04T14:01:05Z")
    receipt = await call_event(
        app,
        gateway,
        event="completed",
        occurred_at="2026-12-04T14:06:47Z",
        duration_seconds=342,
        recording_url="https://rec.example/CA-1.wav",
    )

    message = await read_message(app, receipt)

    assert message["kind"] == "call"
    assert message["fax"] is None
    assert message["call"] == {
        "call_id": "CA-1",
        "state": "completed",
        "caller": CALLER,
        "dialed": LINE,
        "ivr_digit": "2",
        "duration_seconds": 342,
        "recording_url": "https://rec.example/CA-1.wav",
        "transcribed": False,
        "events": [
            {"event": "ringing", "at": "2026-12-04T14:00:00Z"},
            {"event": "answered", "at": "2026-12-04T14:01:05Z"},
            {"event": "completed", "at": "2026-12-04T14:06:47Z"},
        ],
    }


async def test_a_call_still_ringing_shows_it_and_nothing_it_does_not_know_yet(
    app: Running, gateway: dict[str, str]
) -> None:
    receipt = await call_event(app, gateway, event="ringing")

    call = (await read_message(app, receipt))["call"]

    assert call["state"] == "ringing"
    assert (call["duration_seconds"], call["recording_url"], call["ivr_digit"]) == (None,) * 3
    assert [e["event"] for e in call["events"]] == ["ringing"]


async def test_a_voicemail_shows_its_recording_and_that_its_text_is_a_transcription(
    app: Running, gateway: dict[str, str]
) -> None:
    await call_event(app, gateway, event="ringing")
    receipt = await call_event(
        app,
        gateway,
        event="voicemail",
        duration_seconds=21,
        recording_url="https://rec.example/vm-1.wav",
        transcription="Bonjour, rappelez-moi au sujet de ma facture.",
    )

    message = await read_message(app, receipt)

    assert message["kind"] == "voicemail"
    assert message["text"] == "Bonjour, rappelez-moi au sujet de ma facture."
    assert message["call"]["state"] == "voicemail"
    assert message["call"]["recording_url"] == "https://rec.example/vm-1.wav"
    assert message["call"]["duration_seconds"] == 21
    assert message["call"]["transcribed"] is True
    assert message["fax"] is None


async def test_a_fax_shows_its_pages_numbers_and_document(
    app: Running, gateway: dict[str, str]
) -> None:
    answer = await app.client.post(
        "/inbox/v1/inbound/faxes",
        json={
            "fax_id": "FX-9",
            "from": "418 555 0199",
            "to": "+15145550111",
            "pages": 3,
            "document": base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode(),
        },
        headers=gateway,
    )
    assert answer.status_code == 202, answer.text

    message = await read_message(app, answer.json())

    assert message["kind"] == "fax"
    assert message["call"] is None
    assert message["fax"] == {
        "fax_id": "FX-9",
        "pages": 3,
        "sender": "+14185550199",
        "dialed": "+15145550111",
        "document_id": message["attachments"][0]["id"],
    }


async def test_an_email_has_neither_call_nor_fax_details(app: Running) -> None:
    answer = await app.client.post(
        "/inbox/v1/inbound/email",
        content=email(),
        headers=raw_headers(await app.token(Role.GATEWAY)),
    )
    assert answer.status_code == 202, answer.text

    message = await read_message(app, answer.json())

    assert message["kind"] == "email"
    assert (message["call"], message["fax"]) == (None, None)
