"""A waiting task says no agent is available when none has a free place on its channel (all
away or offline, or all full), instead of « waiting for the next routing pass » or an old
reason; the engine writes that only when it changes. Driven over HTTP, the engine by hand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event

from shared.db import utc_now
from tests.routing.scenario import admin, create_agent, offers_of, open_task, run_engine, task_of
from tests.support.apps import Running

NOBODY = {
    "en": "No agent is available with spare capacity on this channel.",
    "fr": "Aucun agent disponible n’a de capacité libre sur ce canal.",
}


async def wait_of(app: Running, conversation_id: str, language: str = "en") -> dict[str, Any]:
    task = await task_of(app, conversation_id, {**await admin(app), "Accept-Language": language})
    assert task["state"] == "waiting"
    wait: dict[str, Any] = task["wait"]
    return wait


async def set_status(app: Running, agent: dict[str, Any], status: str) -> None:
    changed = await app.client.put(
        f"/routing/v1/agents/{agent['id']}/status",
        json={"status": status},
        headers=await admin(app),
    )
    assert changed.status_code == 200, changed.text


@contextmanager
def task_rows_written(app: Running) -> Iterator[list[int]]:
    """How many task rows each UPDATE of routing's tasks changed meanwhile."""
    engine = app.context("routing").engine
    assert engine is not None
    written: list[int] = []

    def record(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE ROUTING_TASK"):
            written.append(cursor.rowcount)

    event.listen(engine.sync_engine, "after_cursor_execute", record)
    try:
        yield written
    finally:
        event.remove(engine.sync_engine, "after_cursor_execute", record)


async def test_with_every_agent_away_or_offline_a_task_says_no_agent_is_available(
    app: Running,
) -> None:
    headers = await admin(app)
    await create_agent(app, headers, name="Marie", languages={"fr": 5}, status="away")
    await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="offline")
    conversation_id = await open_task(app, language="fr")

    await run_engine(app)

    english, french = await wait_of(app, conversation_id), await wait_of(app, conversation_id, "fr")
    assert (english["reason"], english["text"]) == ("no_agent_available", NOBODY["en"])
    assert (french["reason"], french["text"]) == ("no_agent_available", NOBODY["fr"])
    assert english["queue_open"] is True


async def test_a_task_no_available_agent_could_take_says_so_once_that_agent_leaves(
    app: Running,
) -> None:
    headers = await admin(app)
    sam = await create_agent(app, headers, name="Sam", languages={"en": 5})
    conversation_id = await open_task(app, language="fr")
    await run_engine(app)
    unsuitable = await wait_of(app, conversation_id)

    await set_status(app, sam, "away")
    await run_engine(app)
    gone = await wait_of(app, conversation_id, "fr")
    await set_status(app, sam, "available")
    await run_engine(app)
    back = await wait_of(app, conversation_id)

    assert unsuitable["reason"] == "no_eligible_agent"
    assert (gone["reason"], gone["text"]) == ("no_agent_available", NOBODY["fr"])
    assert back["reason"] == "no_eligible_agent"
    assert await offers_of(app, sam["id"], headers) == []


async def test_a_call_with_no_free_phone_place_says_so_while_an_email_is_offered(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(
        app,
        headers,
        name="Marie",
        languages={"fr": 5},
        capacity={"phone": 0, "email": 3, "fax": 2},
    )
    call = await open_task(app, language="fr", channel="phone")
    written = await open_task(app, language="fr")

    await run_engine(app)

    [offer] = await offers_of(app, marie["id"], headers)
    assert offer["conversation_id"] == written
    wait = await wait_of(app, call)
    assert (wait["reason"], wait["text"]) == ("no_agent_available", NOBODY["en"])


async def test_a_pass_writes_only_the_tasks_whose_reason_changes(app: Running) -> None:
    headers = await admin(app)
    await create_agent(app, headers, name="Marie", languages={"fr": 5}, status="away")
    older = await open_task(app, language="fr")
    start = utc_now()

    with task_rows_written(app) as first:
        await run_engine(app, start)
    with task_rows_written(app) as idle:
        await run_engine(app, start)
    newer = await open_task(app, language="fr", channel="phone")
    with task_rows_written(app) as arrival:
        await run_engine(app, start + timedelta(seconds=2))
    with task_rows_written(app) as later:
        await run_engine(app, start + timedelta(seconds=4))

    assert sum(first) == 1
    assert sum(idle) == 0
    # The new task only: the older one already said so.
    assert sum(arrival) == 1
    assert sum(later) == 0
    for conversation_id in (older, newer):
        assert (await wait_of(app, conversation_id))["reason"] == "no_agent_available"
