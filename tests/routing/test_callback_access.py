"""Who reads a callback: supervisors and admins any, an agent those it is to make or was offered
(any other is 404 to it, as an unknown id)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from services.routing.stream.feed import mark_stream
from shared.auth import Role
from shared.db import utc_now
from tests.routing.scenario import admin, agent_headers, bearer, create_agent, offers_of, run_engine
from tests.support.apps import Running
from tests.support.inbox_rows import inbox_has


def callback_body(**extra: Any) -> dict[str, Any]:
    return {
        "conversation_id": str(uuid.uuid4()),
        "due_at": (utc_now() + timedelta(hours=1)).isoformat(),
        "language": "fr",
        "phone": "+15145550123",
        "note": "Rappeler après 14 h",
        **extra,
    }


async def schedule(app: Running, headers: dict[str, str], **extra: Any) -> str:
    body = callback_body(**extra)
    await inbox_has(app, body["conversation_id"])
    created = await app.client.post("/routing/v1/callbacks", json=body, headers=headers)
    assert created.status_code == 201, created.text
    callback_id: str = created.json()["id"]
    return callback_id


async def read(app: Running, callback_id: str, headers: dict[str, str]) -> Any:
    return await app.client.get(f"/routing/v1/callbacks/{callback_id}", headers=headers)


async def test_an_agent_reads_its_own_callbacks_and_no_one_elses(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5}, status="offline")
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="offline")
    marie_headers = await agent_headers(app, marie["id"], "fr")
    luc_headers = await agent_headers(app, luc["id"], "fr")
    supervisor = bearer(await app.token(Role.SUPERVISOR))
    # Marie schedules one for herself; a supervisor one for Luc, and one for nobody in particular.
    marie_own = await schedule(app, marie_headers)
    lucs = await schedule(app, supervisor, agent_id=luc["id"])
    anyones = await schedule(app, supervisor)

    own = await read(app, marie_own, marie_headers)
    not_hers = await read(app, lucs, marie_headers)
    unassigned = await read(app, anyones, marie_headers)
    luc_reads_hers = await read(app, marie_own, luc_headers)
    luc_own = await read(app, lucs, luc_headers)
    nowhere = await read(app, str(uuid.uuid4()), marie_headers)

    assert own.status_code == luc_own.status_code == 200
    assert own.json()["agent_id"] == marie["id"]
    assert own.json()["phone"] == "+15145550123"
    assert luc_own.json()["agent_id"] == luc["id"]
    # Another agent's callback answers as one that does not exist: 404.
    for refused in (not_hers, unassigned, luc_reads_hers):
        assert refused.status_code == 404
        assert refused.json()["code"] == "callback.not_found"
        assert "5550123" not in refused.text
        assert "Rappeler" not in refused.text
    assert nowhere.status_code == 404
    assert nowhere.json()["code"] == "callback.not_found"
    for role in (Role.SUPERVISOR, Role.ADMIN):
        manager = bearer(await app.token(role))
        for callback_id in (marie_own, lucs, anyones):
            answer = await read(app, callback_id, manager)
            assert answer.status_code == 200
            assert answer.json()["id"] == callback_id


async def test_an_agent_reads_a_callback_whose_call_was_offered_to_it(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="offline")
    due = utc_now() + timedelta(minutes=10)
    # Calls are offered only to agents whose stream is connected.
    await mark_stream(app.context("routing").require_sessions(), uuid.UUID(marie["id"]), seen=due)
    callback_id = await schedule(app, headers, due_at=due.isoformat())
    marie_headers = await agent_headers(app, marie["id"], "fr")
    before = await read(app, callback_id, marie_headers)

    await run_engine(app, due)
    [offer] = await offers_of(app, marie["id"], marie_headers)
    after = await read(app, callback_id, marie_headers)
    task = await app.client.get(f"/routing/v1/tasks/{offer['task_id']}", headers=marie_headers)
    luc_headers = await agent_headers(app, luc["id"], "fr")
    by_luc = await read(app, callback_id, luc_headers)
    lucs_task = await app.client.get(f"/routing/v1/tasks/{offer['task_id']}", headers=luc_headers)

    assert before.status_code == 404
    assert after.status_code == task.status_code == 200
    assert after.json()["task_id"] == offer["task_id"] == task.json()["id"]
    assert by_luc.status_code == lucs_task.status_code == 404
    assert by_luc.json()["code"] == "callback.not_found"
    assert lucs_task.json()["code"] == "task.not_found"
