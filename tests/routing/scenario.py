"""Small builders for routing tests: agents and events through the API, the engine by hand."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from services.routing.engine.loop import RoutingEngine
from services.routing.models import OutboxEvent, Task
from shared.auth import Role
from shared.db import utc_now
from tests.support.apps import SERVICE_TOKEN, Running

SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


def bearer(token: str, language: str = "en") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Language": language}


async def admin(app: Running) -> dict[str, str]:
    return bearer(await app.token(Role.ADMIN))


async def agent_headers(app: Running, agent_id: str, language: str = "en") -> dict[str, str]:
    return bearer(await app.token(Role.AGENT, agent_id=uuid.UUID(agent_id)), language)


async def create_agent(
    app: Running,
    headers: dict[str, str],
    *,
    name: str,
    languages: dict[str, int],
    skills: dict[str, int] | None = None,
    capacity: dict[str, int] | None = None,
    status: str = "available",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "email": f"{name.lower().replace(' ', '.')}@example.com",
        "languages": languages,
        "skills": skills or {},
    }
    if capacity is not None:
        body["capacity"] = capacity
    created = await app.client.post("/routing/v1/agents", json=body, headers=headers)
    assert created.status_code == 201, created.text
    agent: dict[str, Any] = created.json()
    if status != "offline":
        changed = await app.client.put(
            f"/routing/v1/agents/{agent['id']}/status", json={"status": status}, headers=headers
        )
        assert changed.status_code == 200, changed.text
        agent = changed.json()
    return agent


def needs_agent(
    *,
    conversation_id: uuid.UUID | None = None,
    channel: str = "email",
    language: str = "fr",
    **extra: Any,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "conversation_id": str(conversation_id or uuid.uuid4()),
        "contact_id": str(uuid.uuid4()),
        "channel": channel,
        "language": language,
        "language_confidence": 0.9,
        "arrived_at": utc_now().isoformat(),
    }
    payload.update(extra)
    return payload


async def post_event(
    app: Running, event_type: str, payload: dict[str, Any], event_id: uuid.UUID | None = None
) -> httpx.Response:
    envelope = {
        "id": str(event_id or uuid.uuid4()),
        "type": event_type,
        "source": "inbox",
        "occurred_at": utc_now().isoformat(),
        "payload": payload,
    }
    return await app.client.post("/routing/v1/events", json=envelope, headers=SERVICE)


async def open_task(app: Running, **fields: Any) -> str:
    """Post ``conversation.needs_agent`` and return the conversation id."""
    payload = needs_agent(**fields)
    answer = await post_event(app, "conversation.needs_agent", payload)
    assert answer.status_code == 200, answer.text
    return str(payload["conversation_id"])


def engine(app: Running) -> RoutingEngine:
    found = app.context("routing").extras["engine"]
    assert isinstance(found, RoutingEngine)
    return found


async def run_engine(app: Running, now: datetime | None = None) -> None:
    await engine(app).run_once(now or utc_now())


async def emitted(app: Running, event_type: str) -> list[dict[str, Any]]:
    """Payloads routing put in its outbox for the inbox, oldest first."""
    async with app.context("routing").require_sessions()() as session:
        rows = await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.type == event_type)
            .order_by(OutboxEvent.occurred_at)
        )
        return [row.payload for row in rows]


async def offers_of(app: Running, agent_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = await app.client.get(f"/routing/v1/agents/{agent_id}/offers", headers=headers)
    assert answer.status_code == 200, answer.text
    result: list[dict[str, Any]] = answer.json()
    return result


async def task_of(app: Running, conversation_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """The conversation's latest task, read through the API."""
    async with app.context("routing").require_sessions()() as session:
        task_id = await session.scalar(
            select(Task.id)
            .where(Task.conversation_id == uuid.UUID(conversation_id))
            .order_by(Task.created_at.desc())
            .limit(1)
        )
    assert task_id is not None
    answer = await app.client.get(f"/routing/v1/tasks/{task_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result
