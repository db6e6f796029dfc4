"""The callback list: supervisors see all and filter them, an agent sees the callbacks it may
read one by one; pages follow a cursor, soonest due first; bad filters are refused."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from services.routing.stream.feed import mark_stream
from shared.auth import Role
from shared.db import utc_now
from tests.routing.scenario import admin, agent_headers, bearer, create_agent, offers_of, run_engine
from tests.routing.test_callback_access import read, schedule
from tests.routing.test_queue_offerable import queue_named
from tests.support.apps import Running

URL = "/routing/v1/callbacks"


def at(minutes: int) -> str:
    return (utc_now() + timedelta(minutes=minutes)).isoformat()


async def listed(app: Running, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every callback of the list, page after page."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = await app.client.get(URL, params=query, headers=headers)
        assert page.status_code == 200, page.text
        items.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


async def test_a_supervisor_lists_every_callback_soonest_due_first_and_filters_them(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"en": 5}, status="offline")
    supervisor = bearer(await app.token(Role.SUPERVISOR))
    later_fr = await schedule(app, supervisor, due_at=at(90), agent_id=marie["id"])
    soon_en = await schedule(app, supervisor, due_at=at(30), language="en", agent_id=luc["id"])
    due_fr = await schedule(app, supervisor, due_at=at(5))
    tomorrow_fr = await schedule(app, supervisor, due_at=at(24 * 60))
    # The first falls due: it becomes a call in the French phone queue.
    await run_engine(app, utc_now() + timedelta(minutes=10))
    phone_fr = await queue_named(app, headers, "Téléphone — français")

    everything = await listed(app, supervisor)
    in_pages = await listed(app, supervisor, limit=1)
    scheduled = await listed(app, supervisor, state="scheduled")
    queued = await listed(app, supervisor, state="queued")
    in_english = await listed(app, supervisor, language="en")
    in_phone_fr = await listed(app, supervisor, queue_id=phone_fr)
    for_marie = await listed(app, supervisor, agent_id=marie["id"])
    next_two_hours = await listed(
        app, supervisor, due_after=at(0), due_before=at(120), state="scheduled"
    )

    assert ids(everything) == [due_fr, soon_en, later_fr, tomorrow_fr]
    assert ids(in_pages) == ids(everything)
    assert ids(scheduled) == [soon_en, later_fr, tomorrow_fr]
    assert ids(queued) == ids(in_phone_fr) == [due_fr]
    assert queued[0]["queue_id"] == phone_fr
    assert queued[0]["task_id"] is not None
    assert {item["queue_id"] for item in scheduled} == {None}
    assert ids(in_english) == [soon_en]
    assert ids(for_marie) == [later_fr]
    assert ids(next_two_hours) == [soon_en, later_fr]
    # Each item reads as the callback itself does.
    for item in everything:
        assert (await read(app, item["id"], supervisor)).json() == item
    admins = await listed(app, headers)
    assert ids(admins) == ids(everything)


async def test_an_agent_lists_the_callbacks_it_may_read_and_no_others(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="offline")
    marie_headers = await agent_headers(app, marie["id"], "fr")
    luc_headers = await agent_headers(app, luc["id"])
    supervisor = bearer(await app.token(Role.SUPERVISOR))
    # Calls are offered only to agents whose stream is connected when the engine runs.
    engine_at = utc_now() + timedelta(minutes=10)
    await mark_stream(
        app.context("routing").require_sessions(), uuid.UUID(marie["id"]), seen=engine_at
    )
    own = await schedule(app, marie_headers, due_at=at(60))
    asked_for_luc = await schedule(app, marie_headers, due_at=at(70), agent_id=luc["id"])
    given_to_marie = await schedule(app, supervisor, due_at=at(80), agent_id=marie["id"])
    lucs = await schedule(app, supervisor, due_at=at(90), agent_id=luc["id"])
    nobodys = await schedule(app, supervisor, due_at=at(100))
    offered = await schedule(app, supervisor, due_at=at(5))
    await run_engine(app, engine_at)
    [offer] = await offers_of(app, marie["id"], marie_headers)

    marie_sees = await listed(app, marie_headers)
    luc_sees = await listed(app, luc_headers)
    marie_asks_for_lucs = await listed(app, marie_headers, agent_id=luc["id"])

    assert offer["task_id"] == (await read(app, offered, supervisor)).json()["task_id"]
    assert ids(marie_sees) == [offered, own, asked_for_luc, given_to_marie]
    assert ids(luc_sees) == [asked_for_luc, lucs]
    # A filter narrows what the agent sees; it never widens it.
    assert ids(marie_asks_for_lucs) == [asked_for_luc]
    # The list holds exactly what the agent may read one by one.
    for callback_id in (own, asked_for_luc, given_to_marie, lucs, nobodys, offered):
        answer = await read(app, callback_id, marie_headers)
        assert (answer.status_code == 200) == (callback_id in ids(marie_sees))


def forged(when: str, ident: str) -> str:
    payload = json.dumps([when, ident]).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


async def test_bad_filters_and_cursors_are_refused_with_the_field_and_change_nothing(
    app: Running,
) -> None:
    headers = await admin(app)
    supervisor = bearer(await app.token(Role.SUPERVISOR), "fr")
    first = await schedule(app, supervisor, due_at=at(30))
    second = await schedule(app, supervisor, due_at=at(60))
    before = await listed(app, supervisor)
    naive = datetime.now().replace(microsecond=0).isoformat()  # noqa: DTZ005 - no offset on purpose

    refused: dict[str, dict[str, Any]] = {
        "state": {"state": "done"},
        "language": {"language": "de"},
        "queue_id": {"queue_id": "phone"},
        "agent_id": {"agent_id": "me"},
        "due_after": {"due_after": naive},
        "due_before": {"due_before": "tomorrow"},
        "limit": {"limit": 0},
    }
    answers = {
        field: await app.client.get(URL, params=params, headers=supervisor)
        for field, params in refused.items()
    }
    too_many = await app.client.get(URL, params={"limit": 201}, headers=supervisor)
    cursors = [
        "not-ours",
        forged(naive, str(uuid.uuid4())),
        forged("0001-01-01T00:00:00+05:00", str(uuid.uuid4())),
        forged(at(0), "not-an-id"),
    ]
    bad_cursors = [
        await app.client.get(URL, params={"cursor": cursor}, headers=supervisor)
        for cursor in cursors
    ]

    for field, answer in answers.items():
        assert answer.status_code == 422, (field, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == "request.invalid"
        assert [error["field"] for error in answer.json()["errors"]] == [field]
    assert too_many.status_code == 422
    for answer in bad_cursors:
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "request.invalid_cursor"
        assert answer.json()["title"] == "Curseur invalide"
    # Nothing changed: the same callbacks, read the same way.
    assert await listed(app, supervisor) == before
    assert ids(before) == [first, second]
    assert (await app.client.get(URL, headers=headers)).json()["items"] == before


async def test_the_list_answers_who_may_ask(app: Running) -> None:
    anonymous = await app.client.get(URL)
    service = await app.client.get(URL, headers=bearer(await app.token(Role.SERVICE)))

    assert anonymous.status_code == 401
    assert service.status_code == 403
