"""Routing rules as an agent or supervisor sees them: widening, hours, calls, sticky, callbacks."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from services.routing.models import Callback
from services.routing.stream.feed import mark_stream
from shared.db import utc_now
from tests.routing.scenario import (
    SERVICE,
    admin,
    agent_headers,
    create_agent,
    offers_of,
    open_task,
    post_event,
    run_engine,
    task_of,
)
from tests.support.apps import Running
from tests.support.inbox_rows import inbox_has


async def _queue(app: Running, headers: dict[str, str], name: str) -> dict[str, Any]:
    queues = (await app.client.get("/routing/v1/queues", headers=headers)).json()
    found: dict[str, Any] = next(q for q in queues if q["name"] == name)
    return found


async def test_a_french_email_widens_to_a_bilingual_agent_after_a_minute(app: Running) -> None:
    headers = await admin(app)
    bilingual = await create_agent(app, headers, name="Sam", languages={"en": 5, "fr": 3})
    now = utc_now()
    conversation = await open_task(app, language="fr")

    await run_engine(app, now + timedelta(seconds=30))
    before = await task_of(app, conversation, {**headers, "Accept-Language": "fr"})
    await run_engine(app, now + timedelta(seconds=61))

    assert before["state"] == "waiting"
    assert before["wait"]["reason"] == "no_eligible_agent"
    assert before["wait"]["refusals"] == [
        {
            "code": "language",
            "subject": "fr",
            "agents": 1,
            "text": "L’agent ne parle pas français au niveau requis.",
        }
    ]
    assert 25 <= before["wait"]["next_widening_in_seconds"] <= 60
    [offer] = await offers_of(app, bilingual["id"], headers)
    assert offer["why"]["language_step"]["kind"] == "bilingual"
    assert offer["why"]["languages"] == {"en": 5, "fr": 3}


async def test_a_french_call_never_goes_to_an_english_agent(app: Running) -> None:
    headers = await admin(app)
    english = await create_agent(app, headers, name="John", languages={"en": 5})
    await mark_stream(
        app.context("routing").require_sessions(), uuid.UUID(english["id"]), seen=utc_now()
    )
    conversation = await open_task(app, language="fr", channel="phone")

    await run_engine(app, utc_now() + timedelta(hours=2))

    assert await offers_of(app, english["id"], headers) == []
    assert (await task_of(app, conversation, headers))["state"] == "waiting"


async def test_a_call_is_offered_only_to_an_agent_whose_stream_is_connected(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    conversation = await open_task(app, language="fr", channel="phone")

    await run_engine(app)
    unseen = await task_of(app, conversation, headers)
    await mark_stream(
        app.context("routing").require_sessions(), uuid.UUID(marie["id"]), seen=utc_now()
    )
    await run_engine(app)

    assert unseen["state"] == "waiting"
    assert [r["code"] for r in unseen["wait"]["refusals"]] == ["stream_disconnected"]
    [offer] = await offers_of(app, marie["id"], headers)
    assert offer["channel"] == "phone"
    assert offer["conversation_id"] == conversation


async def test_an_agent_whose_stream_dropped_goes_away_after_the_grace(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    sessions = app.context("routing").require_sessions()
    now = utc_now()
    await mark_stream(sessions, uuid.UUID(marie["id"]), seen=now)
    await mark_stream(sessions, uuid.UUID(marie["id"]), dropped=now + timedelta(seconds=1))

    await run_engine(app, now + timedelta(seconds=30))
    within = (await app.client.get(f"/routing/v1/agents/{marie['id']}", headers=headers)).json()
    await run_engine(app, now + timedelta(seconds=62))
    after = (await app.client.get(f"/routing/v1/agents/{marie['id']}", headers=headers)).json()

    assert within["status"] == "available"
    assert after["status"] == "away"
    assert after["away_reason"] == "stream_lost"


async def test_a_closed_queue_keeps_emails_waiting_and_answers_calls_closed(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    today = utc_now().astimezone().date().isoformat()
    for name in ("Courriel — français", "Téléphone — français"):
        queue = await _queue(app, headers, name)
        closed = await app.client.patch(
            f"/routing/v1/queues/{queue['id']}",
            json={"hours": {"time_zone": "UTC", "weekly": {}}},
            headers=headers,
        )
        assert closed.json()["open_now"] is False
    conversation = await open_task(app, language="fr")
    await run_engine(app)

    call = await app.client.post(
        "/routing/v1/availability", json={"channel": "phone", "language": "fr"}, headers=SERVICE
    )
    english_call = await app.client.post(
        "/routing/v1/availability", json={"channel": "phone", "language": "en"}, headers=SERVICE
    )

    assert call.json()["action"] == "closed"
    assert call.json()["reason"] == "outside_hours"
    assert call.json()["queue_name"] == "Téléphone — français"
    assert english_call.json()["action"] == "queued"
    assert await offers_of(app, marie["id"], headers) == []
    task = await task_of(app, conversation, headers)
    assert task["state"] == "waiting"
    assert task["wait"]["reason"] == "queue_closed"
    assert today


async def test_a_holiday_closes_the_queue_for_calls(app: Running) -> None:
    headers = await admin(app)
    queue = await _queue(app, headers, "Phone — English")
    today = utc_now().date().isoformat()
    await app.client.patch(
        f"/routing/v1/queues/{queue['id']}",
        json={"hours": {"time_zone": "UTC", "holidays": [today]}},
        headers=headers,
    )

    answer = await app.client.post(
        "/routing/v1/availability", json={"channel": "phone", "language": "en"}, headers=SERVICE
    )
    refused = await app.client.post(
        "/routing/v1/availability", json={"channel": "telex", "language": "en"}, headers=SERVICE
    )
    as_admin = await app.client.post(
        "/routing/v1/availability", json={"channel": "phone", "language": "en"}, headers=headers
    )

    assert answer.json() == {
        "action": "closed",
        "queue_id": queue["id"],
        "queue_name": "Phone — English",
        "reason": "holiday",
    }
    assert refused.status_code == 422
    assert as_admin.status_code == 403


async def test_a_reply_goes_first_to_the_agent_who_handled_the_conversation(app: Running) -> None:
    headers = await admin(app)
    anne = await create_agent(app, headers, name="Anne", languages={"fr": 5})
    benoit = await create_agent(app, headers, name="Benoit", languages={"fr": 5})
    conversation = await open_task(app, language="fr")
    await run_engine(app)
    first = anne if await offers_of(app, anne["id"], headers) else benoit
    [offer] = await offers_of(app, first["id"], headers)
    first_headers = await agent_headers(app, first["id"])
    await app.client.post(f"/routing/v1/offers/{offer['id']}/accept", headers=first_headers)
    await app.client.post(f"/routing/v1/tasks/{offer['task_id']}/complete", headers=first_headers)

    await open_task(app, language="fr", conversation_id=uuid.UUID(conversation))
    await run_engine(app)

    pending = await offers_of(app, first["id"], headers)
    assert [o["conversation_id"] for o in pending] == [conversation]
    assert pending[0]["why"]["sticky"] is True


async def test_a_callback_becomes_a_call_for_its_agent_when_due(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    await create_agent(app, headers, name="Zoe", languages={"fr": 5})
    marie_headers = await agent_headers(app, marie["id"])
    due = utc_now() + timedelta(minutes=10)
    sessions = app.context("routing").require_sessions()
    await mark_stream(sessions, uuid.UUID(marie["id"]), seen=due)
    conversation = str(uuid.uuid4())
    await inbox_has(app, conversation)

    body = {"conversation_id": conversation, "due_at": due.isoformat(), "language": "fr"}
    created = await app.client.post(
        "/routing/v1/callbacks", json={**body, "phone": "+15145550123"}, headers=marie_headers
    )
    naive = await app.client.post(
        "/routing/v1/callbacks",
        json={**body, "due_at": "2026-11-23T10:00:00"},
        headers=marie_headers,
    )
    not_e164 = await app.client.post(
        "/routing/v1/callbacks", json={**body, "phone": "514-555-0123"}, headers=marie_headers
    )
    await run_engine(app, due - timedelta(seconds=1))
    before = await offers_of(app, marie["id"], headers)
    await run_engine(app, due)
    callback = await app.client.get(
        f"/routing/v1/callbacks/{created.json()['id']}", headers=headers
    )

    assert created.status_code == 201
    assert created.json()["agent_id"] == marie["id"]
    assert created.json()["phone"] == "+15145550123"
    assert naive.status_code == 422
    assert not_e164.status_code == 422
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Callback)) == 1
    assert before == []
    assert callback.json()["state"] == "queued"
    [offer] = await offers_of(app, marie["id"], headers)
    assert offer["task_id"] == callback.json()["task_id"]
    assert offer["channel"] == "phone"


async def test_an_und_email_goes_to_the_bilingual_queue(app: Running) -> None:
    headers = await admin(app)
    both = await create_agent(app, headers, name="Sam", languages={"en": 5, "fr": 4})
    await create_agent(app, headers, name="John", languages={"en": 5})
    conversation = await open_task(app, language="und")
    await run_engine(app)

    [offer] = await offers_of(app, both["id"], headers)
    assert offer["conversation_id"] == conversation
    assert offer["why"]["queue_name"] == "Bilingual — bilingue"


async def test_a_malformed_event_is_refused_and_changes_nothing(app: Running) -> None:
    headers = await admin(app)
    refused = await post_event(app, "conversation.needs_agent", {"channel": "email"})

    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} >= {"conversation_id", "language"}
    queue = await _queue(app, headers, "Courriel — français")
    stats = await app.client.get(f"/routing/v1/queues/{queue['id']}/stats", headers=headers)
    assert stats.json()["waiting"] == 0
