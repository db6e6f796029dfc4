"""Callbacks released before callbacks followed their call get the state their task says."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from services import migrate
from services.routing.models import Callback, Task
from tests.shared.test_migrations import fresh_url  # noqa: F401 (a fixture)
from tests.support.database import run_in_transaction

BEFORE = "a1c0de00000d"  # the revision before callbacks followed their call
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def test_callbacks_released_before_take_their_tasks_outcome(fresh_url: str) -> None:  # noqa: F811
    tasks = {
        "made": ("completed", "resolved"),
        "wrapping_up": ("wrap_up", "resolved"),
        "never_taken": ("canceled", "resolved"),
        "transferred": ("canceled", "transferred"),
        "ringing": ("offered", None),
    }
    ids = {name: uuid.uuid4() for name in tasks}
    migrate.upgrade(fresh_url, BEFORE)

    def seed(connection: Any) -> None:
        for name, (state, reason) in tasks.items():
            connection.execute(insert(Task), [_task(ids[name], state, reason)])
            connection.execute(insert(Callback), [_callback(name, ids[name])])
        connection.execute(insert(Callback), [_callback("later", None, "scheduled")])

    run_in_transaction(fresh_url, seed)
    migrate.upgrade(fresh_url)
    upgraded = _states(fresh_url)
    migrate.downgrade(fresh_url, BEFORE)
    downgraded = _states(fresh_url)

    assert upgraded == {
        "made": "completed",
        "wrapping_up": "completed",
        "never_taken": "canceled",
        "transferred": "queued",
        "ringing": "queued",
        "later": "scheduled",
    }
    assert downgraded == {**dict.fromkeys(tasks, "queued"), "later": "scheduled"}


def _task(task_id: uuid.UUID, state: str, reason: str | None) -> dict[str, Any]:
    return {
        "id": task_id,
        "conversation_id": uuid.uuid4(),
        "channel": "phone",
        "language": "fr",
        "skills": {},
        "attributes": {},
        "priority": 0,
        "arrived_at": NOW,
        "queued_at": NOW,
        "state": state,
        "route": {},
        "needs_translation": False,
        "end_reason": reason,
    }


def _callback(note: str, task_id: uuid.UUID | None, state: str = "queued") -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "conversation_id": uuid.uuid4(),
        "language": "fr",
        "skills": {},
        "priority": 0,
        "note": note,
        "due_at": NOW,
        "state": state,
        "task_id": task_id,
        "created_at": NOW,
    }


def _states(url: str) -> Any:
    def read(connection: Any) -> dict[str, str]:
        rows = connection.execute(select(Callback.note, Callback.state))
        return {note: state for note, state in rows}

    return run_in_transaction(url, read)
