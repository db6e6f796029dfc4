"""Telephony events over HTTP: one message per call, idempotent, any order, language by rule."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.inbox.models import Conversation, Message, OutboxEvent
from shared.auth import Role
from tests.support.apps import Running, running_all_in_one

FRENCH_LINE = "+15145550100"
IVR_LINE = "+18005550100"
TORONTO = "+14165550123"
MONTREAL = "+15145550123"


@pytest.fixture
async def phone_app(db_url: str, tmp_path: Path) -> AsyncIterator[Running]:
    lines = {FRENCH_LINE: {"language": "fr"}, IVR_LINE: {"ivr_digits": {"1": "en", "2": "fr"}}}
    async with running_all_in_one(db_url, tmp_path, phone_lines=lines) as running:
        yield running


@pytest.fixture
async def gateway(phone_app: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {await phone_app.token(Role.GATEWAY, name='cti')}"}


async def event(app: Running, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"call_id": "call-1", "from": TORONTO, "to": IVR_LINE, **fields}
    answer = await app.client.post("/inbox/v1/inbound/calls", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def outbox(app: Running) -> list[tuple[str, dict[str, Any]]]:
    async with app.context("inbox").require_sessions()() as session:
        rows = (await session.scalars(select(OutboxEvent).order_by(OutboxEvent.occurred_at))).all()
    return [(row.type, row.payload) for row in rows]


async def call_message(app: Running) -> Message:
    async with app.context("inbox").require_sessions()() as session:
        message: Message | None = await session.scalar(select(Message))
    assert message is not None
    return message


async def test_a_ringing_call_is_queued_with_a_voice_task(
    phone_app: Running, gateway: dict[str, str]
) -> None:
    ringing = await event(phone_app, gateway, event="ringing", ivr_digit="2")

    events = await outbox(phone_app)
    assert ringing["action"] == "queued"
    assert ringing["language"] == "fr"
    assert ringing["language_evidence"] == ["ivr_digit"]
    assert [kind for kind, _ in events] == ["conversation.needs_agent"]
    assert events[0][1]["channel"] == "phone"
    assert events[0][1]["language"] == "fr"
    assert events[0][1]["attributes"]["message_kind"] == "call"


async def test_a_whole_call_is_one_message_and_repeats_change_nothing(
    phone_app: Running, gateway: dict[str, str]
) -> None:
    first = await event(phone_app, gateway, event="ringing")
    await event(phone_app, gateway, event="answered")
    completed = await event(
        phone_app,
        gateway,
        event="completed",
        duration_seconds=312,
        recording_url="https://rec.example/c1.wav",
    )
    repeat = await event(phone_app, gateway, event="answered")

    message = await call_message(phone_app)
    assert completed["message_id"] == first["message_id"] == repeat["message_id"]
    assert repeat["duplicate"] is True
    assert message.kind == "call"
    assert message.details["state"] == "completed"
    assert message.details["events"]["completed"]["duration_seconds"] == 312
    # Answered before routing said whose it is: no agent is to be offered it but the one
    # (if any) who took it.
    assert await outbox(phone_app) == [
        ("conversation.needs_agent", (await outbox(phone_app))[0][1]),
        (
            "conversation.canceled",
            {
                "conversation_id": first["conversation_id"],
                "reason": "answered",
                "waiting_only": True,
            },
        ),
    ]


async def test_events_out_of_order_never_move_a_call_backwards(
    phone_app: Running, gateway: dict[str, str]
) -> None:
    completed = await event(phone_app, gateway, event="completed", duration_seconds=40)
    late_ringing = await event(phone_app, gateway, event="ringing")

    message = await call_message(phone_app)
    assert completed["action"] == late_ringing["action"] == "recorded"
    assert message.details["state"] == "completed"
    assert await outbox(phone_app) == []


async def test_language_order_ivr_then_line_then_contact_then_region(
    phone_app: Running, gateway: dict[str, str]
) -> None:
    ivr = await event(
        phone_app, gateway, call_id="a", event="ringing", to=FRENCH_LINE, language="en"
    )
    line = await event(phone_app, gateway, call_id="b", event="ringing", to=FRENCH_LINE)
    region = await event(
        phone_app, gateway, call_id="c", event="ringing", **{"from": MONTREAL, "to": "+16135550000"}
    )
    nothing = await event(
        phone_app,
        gateway,
        call_id="d",
        event="ringing",
        **{"from": "+4930123456", "to": "+16135550000"},
    )

    assert (ivr["language"], ivr["language_evidence"]) == ("en", ["ivr"])
    assert (line["language"], line["language_evidence"]) == ("fr", ["line"])
    assert (region["language"], region["language_evidence"]) == ("fr", ["caller_region"])
    assert (nothing["language"], nothing["language_evidence"]) == ("und", ["none"])


async def test_the_same_caller_is_one_contact_in_one_open_phone_conversation(
    phone_app: Running, gateway: dict[str, str]
) -> None:
    first = await event(
        phone_app, gateway, call_id="x1", event="ringing", **{"from": "(416) 555-0123"}
    )
    second = await event(phone_app, gateway, call_id="x2", event="ringing")

    assert first["contact_id"] == second["contact_id"]
    assert first["conversation_id"] == second["conversation_id"]
    assert first["message_id"] != second["message_id"]


async def test_a_missed_call_cancels_its_task_and_a_voicemail_becomes_one(
    phone_app: Running, gateway: dict[str, str]
) -> None:
    await event(phone_app, gateway, event="ringing", to=FRENCH_LINE)
    await event(phone_app, gateway, event="missed", to=FRENCH_LINE)
    await event(phone_app, gateway, call_id="vm", event="ringing", to=FRENCH_LINE)
    voicemail = await event(
        phone_app,
        gateway,
        call_id="vm",
        event="voicemail",
        to=FRENCH_LINE,
        transcription="Bonjour, rappelez-moi au sujet de ma facture.",
        recording_url="https://rec.example/vm.wav",
    )

    kinds = [
        (kind, payload.get("attributes", {}).get("message_kind"))
        for kind, payload in await outbox(phone_app)
    ]
    assert kinds == [
        ("conversation.needs_agent", "call"),
        ("conversation.canceled", None),
        ("conversation.needs_agent", "call"),
        ("conversation.canceled", None),
        ("conversation.needs_agent", "voicemail"),
    ]
    async with phone_app.context("inbox").require_sessions()() as session:
        message = await session.get(Message, uuid.UUID(voicemail["message_id"]))
    assert message is not None
    assert message.kind == "voicemail"
    assert message.text == "Bonjour, rappelez-moi au sujet de ma facture."


async def test_bad_events_are_refused_and_store_nothing(
    phone_app: Running, gateway: dict[str, str]
) -> None:
    cases = [
        {"call_id": "z", "event": "ringing", "from": "not a number"},
        {"call_id": "z", "event": "exploded", "from": TORONTO},
        {"call_id": "", "event": "ringing", "from": TORONTO},
        {"call_id": "z", "event": "completed", "from": TORONTO, "duration_seconds": -5},
    ]
    answers = [
        await phone_app.client.post("/inbox/v1/inbound/calls", json=body, headers=gateway)
        for body in cases
    ]

    assert [answer.status_code for answer in answers] == [422, 422, 422, 422]
    assert answers[0].json()["errors"][0]["field"] == "from"
    async with phone_app.context("inbox").require_sessions()() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0
        assert await session.scalar(select(func.count()).select_from(Conversation)) == 0


async def close_phone_queue(app: Running, name: str) -> None:
    """Open the queue 9:30 to 17:00 (UTC) every day, today and tomorrow (UTC) holidays: closed
    now whatever the clock says."""
    headers = {"Authorization": f"Bearer {await app.token(Role.ADMIN)}"}
    queues = (await app.client.get("/routing/v1/queues", headers=headers)).json()
    [queue] = [q for q in queues if q["name"] == name]
    today = datetime.now(UTC).date()
    day = [{"start": "09:30", "end": "17:00"}]
    hours = {
        "time_zone": "UTC",
        "weekly": dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), day),
        "holidays": [today.isoformat(), (today + timedelta(days=1)).isoformat()],
    }
    answer = await app.client.patch(
        f"/routing/v1/queues/{queue['id']}", json={"hours": hours}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["open_now"] is False


async def test_each_event_answers_its_own_action_and_a_repeated_ringing_the_first_answer(
    phone_app: Running, gateway: dict[str, str]
) -> None:
    ringing = await event(phone_app, gateway, event="ringing")
    answered = await event(phone_app, gateway, event="answered")
    completed = await event(phone_app, gateway, event="completed", duration_seconds=342)
    ringing_again = await event(phone_app, gateway, event="ringing")
    answered_again = await event(phone_app, gateway, event="answered")

    assert ringing["action"] == "queued"
    assert (answered["action"], completed["action"]) == ("recorded", "recorded")
    assert (ringing_again["action"], ringing_again["duplicate"]) == ("queued", True)
    assert (answered_again["action"], answered_again["duplicate"]) == ("recorded", True)
    assert [kind for kind, _ in await outbox(phone_app)] == [
        "conversation.needs_agent",
        "conversation.canceled",
    ]


async def test_a_call_to_a_closed_queue_is_told_closed_and_its_later_events_recorded(
    phone_app: Running, gateway: dict[str, str]
) -> None:
    await close_phone_queue(phone_app, "Téléphone — français")

    ringing = await event(phone_app, gateway, event="ringing", to=FRENCH_LINE)
    missed = await event(phone_app, gateway, event="missed", to=FRENCH_LINE)
    ringing_again = await event(phone_app, gateway, event="ringing", to=FRENCH_LINE)

    assert (ringing["action"], missed["action"]) == ("closed", "recorded")
    assert (ringing_again["action"], ringing_again["duplicate"]) == ("closed", True)
    assert await outbox(phone_app) == []


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Content-Type": "application/x-www-form-urlencoded"}, "call_id=f&event=ringing"),
        ({"Content-Type": "text/plain"}, '{"call_id": "f", "event": "ringing"}'),
        ({}, '{"call_id": "f", "event": "ringing"}'),
    ],
)
async def test_a_call_event_not_sent_as_json_is_415_naming_json_and_stores_nothing(
    phone_app: Running, gateway: dict[str, str], headers: dict[str, str], body: str
) -> None:
    answers = {
        language: await phone_app.client.post(
            "/inbox/v1/inbound/calls",
            content=body.replace('"f"', f'"f-{language}"').replace("=f&", f"=f-{language}&"),
            headers={**gateway, **headers, "Accept-Language": language},
        )
        for language in ("en", "fr")
    }

    assert [answer.status_code for answer in answers.values()] == [415, 415]
    assert answers["en"].json()["code"] == "request.unsupported_media_type"
    assert answers["en"].json()["detail"] == (
        "Send the call event as JSON, with the media type application/json."
    )
    assert answers["fr"].json()["detail"] == (
        "Envoyez l’événement d’appel en JSON, avec le type de contenu application/json."
    )
    async with phone_app.context("inbox").require_sessions()() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0


async def test_a_call_event_without_a_token_is_401_before_its_media_type_is_looked_at(
    phone_app: Running,
) -> None:
    answer = await phone_app.client.post(
        "/inbox/v1/inbound/calls",
        content="call_id=f&event=ringing",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert answer.status_code == 401


async def test_a_language_chosen_in_the_ivr_is_the_callers_next_time(
    phone_app: Running, gateway: dict[str, str]
) -> None:
    """A Toronto caller (English by region) who pressed French on the IVR is French the
    next time they call a line that does not ask, and their contact says so."""
    plain_line = {"to": "+16135550000"}
    chose = await event(phone_app, gateway, call_id="m1", event="ringing", ivr_digit="2")
    again = await event(phone_app, gateway, call_id="m2", event="ringing", **plain_line)
    contact = await phone_app.client.get(
        f"/inbox/v1/contacts/{chose['contact_id']}",
        headers={"Authorization": f"Bearer {await phone_app.token(Role.ADMIN, name='ops')}"},
    )

    assert (chose["language"], chose["language_evidence"]) == ("fr", ["ivr_digit"])
    assert (again["language"], again["language_evidence"]) == ("fr", ["contact"])
    assert contact.json()["language"] == "fr"

    switched = await event(
        phone_app, gateway, call_id="m3", event="ringing", language="en", **plain_line
    )
    after = await event(phone_app, gateway, call_id="m4", event="ringing", **plain_line)
    assert (switched["language"], after["language"], after["language_evidence"]) == (
        "en",
        "en",
        ["contact"],
    )


async def test_a_language_given_by_the_line_is_not_taken_for_the_callers_choice(
    phone_app: Running, gateway: dict[str, str]
) -> None:
    await event(phone_app, gateway, call_id="l1", event="ringing", to=FRENCH_LINE)
    later = await event(phone_app, gateway, call_id="l2", event="ringing", to="+16135550000")

    assert (later["language"], later["language_evidence"]) == ("en", ["caller_region"])
