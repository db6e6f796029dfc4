"""A task never shows a negative wait, whatever the clocks say: in its wait, its offer's why
and its assignment.

Waits are counted from when routing queued the task, on routing's clock: a gateway whose clock
runs ahead does not shorten them, and two routing processes whose clocks are apart count 0 s
where one queued the task "after" the other's now.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from shared.db import utc_now
from tests.routing.scenario import (
    admin,
    agent_headers,
    create_agent,
    offers_of,
    open_task,
    run_engine,
    task_of,
)
from tests.support.apps import Running, running_all_in_one
from tests.support.inbox_rows import inbox_has


async def test_a_task_arriving_ahead_of_routings_clock_never_waited_less_than_nothing(
    app: Running,
) -> None:
    headers = await admin(app)
    ahead = (utc_now() + timedelta(minutes=2)).isoformat()
    conversation = await open_task(app, language="fr", arrived_at=ahead)
    waiting = await task_of(app, conversation, headers)
    marie = await create_agent(app, headers, name="Marie Tremblay", languages={"fr": 5})
    await run_engine(app)
    [offer] = await offers_of(app, marie["id"], headers)
    accepted = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/accept", headers=await agent_headers(app, marie["id"])
    )
    assigned = await task_of(app, conversation, headers)

    assert waiting["state"] == "waiting"
    assert waiting["wait"]["waited_seconds"] >= 0
    assert offer["why"]["waited_seconds"] >= 0
    assert accepted.status_code == 200, accepted.text
    assert assigned["route"]["assignment"]["waited_seconds"] >= 0


async def test_an_engine_pass_behind_the_clock_that_queued_the_task_offers_it_at_0_s(
    app: Running,
) -> None:
    headers = await admin(app)
    conversation = await open_task(app, language="fr")
    marie = await create_agent(app, headers, name="Marie Tremblay", languages={"fr": 5})
    # Another routing process, whose clock is 30 s behind, runs the pass.
    await run_engine(app, now=utc_now() - timedelta(seconds=30))
    [offer] = await offers_of(app, marie["id"], headers)

    assert offer["conversation_id"] == conversation
    assert offer["why"]["waited_seconds"] == 0


async def test_a_callback_released_by_a_clock_ahead_has_waited_0_s_without_a_queue(
    db_url: str, tmp_path: Path
) -> None:
    async with running_all_in_one(db_url, tmp_path, seed_default_queues=False) as app:
        headers = await admin(app)
        conversation = str(uuid.uuid4())
        await inbox_has(app, conversation)
        scheduled = await app.client.post(
            "/routing/v1/callbacks",
            json={
                "conversation_id": conversation,
                "due_at": (utc_now() + timedelta(minutes=1)).isoformat(),
                "language": "fr",
                "phone": "+15145550123",
            },
            headers=headers,
        )
        assert scheduled.status_code == 201, scheduled.text
        # A routing process whose clock is 2 minutes ahead releases it.
        await run_engine(app, now=utc_now() + timedelta(minutes=2))
        task = await task_of(app, scheduled.json()["conversation_id"], headers)

    assert (task["state"], task["wait"]["reason"]) == ("waiting", "no_queue")
    assert task["wait"]["waited_seconds"] == 0
