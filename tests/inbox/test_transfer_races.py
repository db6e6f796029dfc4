"""A transfer racing a resolve or an accept: the inbox and routing end up telling the same story.

Driven over HTTP through the all-in-one app, the outbox relays run by hand so that events
arrive in the order that used to hurt: a resolve routing heard of only after the transfer was
made, an accept's ``conversation.assigned`` delivered after the transfer that ended its task.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from shared.auth import Role
from shared.clients.routing import RoutingClient
from tests.inbox.builders import email, raw_headers
from tests.routing.scenario import (
    SERVICE,
    admin,
    agent_headers,
    create_agent,
    offers_of,
    run_engine,
)
from tests.routing.test_requeue import (
    BILLING,
    TIER_TWO,
    assigned_conversation,
    create_queue,
    deliver,
    inbox_agent,
)
from tests.support.apps import SERVICE_TOKEN, Running

BILLING_NAME = "Courriel — facturation"
NNBSP = "\u202f"


async def supervisor(app: Running, language: str = "en") -> dict[str, str]:
    token = await app.token(Role.SUPERVISOR, name="Sophie")
    return {"Authorization": f"Bearer {token}", "Accept-Language": language}


async def read(app: Running, conversation_id: str, headers: dict[str, str]) -> httpx.Response:
    return await app.client.get(f"/inbox/v1/conversations/{conversation_id}", headers=headers)


async def tasks(
    app: Running, conversation_id: str, headers: dict[str, str]
) -> list[dict[str, Any]]:
    """The conversation's tasks as routing lists them, oldest first."""
    answer = await app.client.get(
        "/routing/v1/tasks", params={"conversation_id": conversation_id}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return list(reversed(answer.json()["items"]))


async def timeline_kinds(app: Running, conversation_id: str, headers: dict[str, str]) -> list[str]:
    answer = await app.client.get(
        f"/inbox/v1/conversations/{conversation_id}/timeline", headers=headers
    )
    assert answer.status_code == 200, answer.text
    return [entry["kind"] for entry in answer.json()]


async def accept(app: Running, agent_id: str) -> dict[str, Any]:
    """The agent accepts its one pending offer; routing's events stay undelivered."""
    headers = await admin(app)
    [offer] = [o for o in await offers_of(app, agent_id, headers) if o["state"] == "pending"]
    accepted = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/accept", headers=await agent_headers(app, agent_id)
    )
    assert accepted.status_code == 200, accepted.text
    return offer


async def reply(app: Running, conversation_id: str, agent_id: str) -> httpx.Response:
    return await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/replies",
        json={"text": "Bonjour, je m’en occupe."},
        headers=await inbox_agent(app, agent_id),
    )


class BeforeHandoverCheck(httpx.AsyncBaseTransport):
    """The inbox's way to routing, which runs ``step`` once just before routing is asked
    whether a transfer may go where it asks: what happens while a request is under way."""

    def __init__(self, app: Running, step: Callable[[], Awaitable[None]]) -> None:
        self._inner = httpx.ASGITransport(app=app.app)
        self._step: Callable[[], Awaitable[None]] | None = step

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/routing/v1/handovers/check" and self._step is not None:
            step, self._step = self._step, None
            await step()
        return await self._inner.handle_async_request(request)


async def test_a_transfer_right_after_a_resolve_reaches_routing_and_is_offered(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, marie)
    url = f"/inbox/v1/conversations/{conversation_id}"

    # The resolve is committed, but routing has not heard of it when the transfer is made.
    resolved = await app.client.post(
        f"{url}/resolve", json={}, headers=await inbox_agent(app, marie["id"])
    )
    moved = await app.client.post(
        f"{url}/transfer", json={"to_agent_id": luc["id"]}, headers=await supervisor(app)
    )
    await app.deliver_all()

    assert resolved.status_code == 200, resolved.text
    assert moved.status_code == 200, moved.text
    first, second = await tasks(app, conversation_id, headers)
    assert first["state"] in ("wrap_up", "completed")
    assert (second["state"], second["agent_id"]) == ("offered", luc["id"])
    [offer] = await offers_of(app, luc["id"], headers)
    assert (offer["task_id"], offer["state"]) == (second["id"], "pending")
    seen = (await read(app, conversation_id, await supervisor(app))).json()
    assert (seen["status"], seen["routing_status"]) == ("open", "queued")
    assert seen["assignee_agent_id"] is None

    await accept(app, luc["id"])
    await app.deliver_all()
    taken = (await read(app, conversation_id, await supervisor(app))).json()
    assert (taken["routing_status"], taken["assignee_agent_id"]) == ("assigned", luc["id"])


async def racing_transfer(
    app: Running,
    url: str,
    body: dict[str, Any],
    *,
    resolver: dict[str, str],
    language: str,
    action: str = "transfer",
) -> tuple[httpx.Response, httpx.Response, dict[str, Any]]:
    """A supervisor's transfer (or escalation: ``action``) during which, after the inbox read
    the conversation and before it locks it, the agent's resolve is committed: (resolve,
    transfer, the conversation as the supervisor read it before both)."""
    boss = await supervisor(app, language)
    before = (await app.client.get(url, headers=boss)).json()
    answers: list[httpx.Response] = []

    async def resolve() -> None:
        answers.append(await app.client.post(f"{url}/resolve", json={}, headers=resolver))

    context = app.context("inbox")
    routing = context.extras["routing"]
    racing = RoutingClient(
        base_url="http://routing.internal",
        token=SERVICE_TOKEN,
        transport=BeforeHandoverCheck(app, resolve),
    )
    context.extras["routing"] = racing
    try:
        moved = await app.client.post(f"{url}/{action}", json=body, headers=boss)
    finally:
        context.extras["routing"] = routing
        await racing.aclose()
    [resolved] = answers
    return resolved, moved, before


async def test_a_transfer_under_way_when_the_conversation_is_resolved_is_409_and_changes_nothing(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, marie)
    url = f"/inbox/v1/conversations/{conversation_id}"
    body = {"to_agent_id": luc["id"], "note": "Pour Luc"}

    resolved, refused, before = await racing_transfer(
        app, url, body, resolver=await inbox_agent(app, marie["id"]), language="en"
    )
    await app.deliver_all()

    assert resolved.status_code == 200, resolved.text
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["code"] == "conversation.changed"
    assert problem["title"] == "Conversation changed"
    version = resolved.json()["version"]
    assert problem["detail"] == (
        f"The conversation changed since you read it (version {before['version']}, now "
        f"{version}); reload it and try again."
    )
    assert (problem["current"]["status"], problem["current"]["version"]) == ("resolved", version)
    boss = await supervisor(app)
    seen = (await read(app, conversation_id, boss)).json()
    assert seen["version"] == version
    assert (seen["status"], seen["routing_status"]) == ("resolved", "none")
    assert "transferred" not in await timeline_kinds(app, conversation_id, boss)
    assert (await app.client.get(f"{url}/notes", headers=boss)).json() == []
    [task] = await tasks(app, conversation_id, headers)
    assert task["state"] in ("wrap_up", "completed")
    assert await offers_of(app, luc["id"], headers) == []

    # Asked again, knowing it is resolved, the transfer reopens it (as documented) and
    # routing offers it to Luc.
    again = await app.client.post(f"{url}/transfer", json=body, headers=boss)
    await app.deliver_all()
    assert again.status_code == 200, again.text
    assert (await read(app, conversation_id, boss)).json()["status"] == "open"
    assert [t["state"] for t in await tasks(app, conversation_id, headers)][1:] == ["offered"]


async def test_the_refusal_of_a_transfer_overtaken_by_a_resolve_reads_in_french(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, marie)
    url = f"/inbox/v1/conversations/{conversation_id}"

    resolved, refused, before = await racing_transfer(
        app,
        url,
        {"to_agent_id": luc["id"]},
        resolver=await inbox_agent(app, marie["id"]),
        language="fr-CA",
    )

    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert (problem["code"], problem["title"]) == ("conversation.changed", "Conversation modifiée")
    assert problem["detail"] == (
        f"La conversation a changé depuis votre lecture (version {before['version']}, "
        f"maintenant {resolved.json()['version']}){NNBSP}; rechargez-la et réessayez."
    )
    seen = (await read(app, conversation_id, await supervisor(app))).json()
    assert (seen["status"], seen["version"]) == ("resolved", resolved.json()["version"])


async def test_an_escalation_under_way_when_the_conversation_is_resolved_is_409(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    await create_queue(app, headers, TIER_TWO)
    conversation_id = await assigned_conversation(app, headers, marie)
    url = f"/inbox/v1/conversations/{conversation_id}"

    resolved, refused, _ = await racing_transfer(
        app,
        url,
        {"reason": "Remboursement hors de ma portée"},
        resolver=await inbox_agent(app, marie["id"]),
        language="en",
        action="escalate",
    )
    await app.deliver_all()

    assert resolved.status_code == 200, resolved.text
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "conversation.changed"
    boss = await supervisor(app)
    seen = (await read(app, conversation_id, boss)).json()
    assert (seen["status"], seen["version"]) == ("resolved", resolved.json()["version"])
    assert "escalated" not in await timeline_kinds(app, conversation_id, boss)
    assert (await app.client.get(f"{url}/notes", headers=boss)).json() == []
    assert [t["state"] for t in await tasks(app, conversation_id, headers)] in (
        ["wrap_up"],
        ["completed"],
    )


async def test_a_resolve_and_a_transfer_at_once_leave_the_inbox_and_routing_agreeing(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, marie)
    url = f"/inbox/v1/conversations/{conversation_id}"
    agent, boss = await inbox_agent(app, marie["id"]), await supervisor(app)

    resolved, moved = await asyncio.gather(
        app.client.post(f"{url}/resolve", json={}, headers=agent),
        app.client.post(f"{url}/transfer", json={"to_agent_id": luc["id"]}, headers=boss),
    )
    await app.deliver_all()

    seen = (await read(app, conversation_id, boss)).json()
    open_tasks = [
        task
        for task in await tasks(app, conversation_id, headers)
        if task["state"] in ("waiting", "offered", "assigned")
    ]
    assert resolved.status_code in (200, 404), resolved.text
    assert moved.status_code in (200, 409), moved.text
    if moved.status_code == 200:
        # The transfer stands (before the resolve, or on a conversation already resolved):
        # routing offers it to Luc and the inbox shows it waiting for him.
        assert (seen["status"], seen["routing_status"]) == ("open", "queued")
        [task] = open_tasks
        assert (task["state"], task["agent_id"]) == ("offered", luc["id"])
    else:
        assert resolved.status_code == 200
        assert moved.json()["code"] == "conversation.changed"
        assert (seen["status"], seen["routing_status"]) == ("resolved", "none")
        assert open_tasks == []


async def test_an_assignment_delivered_after_the_transfer_does_not_bring_the_old_agent_back(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5}, status="away")
    billing = await create_queue(app, headers, BILLING)
    await app.client.patch(
        f"/routing/v1/agents/{luc['id']}", json={"skills": {"billing": 3}}, headers=headers
    )
    gateway = await app.token(Role.GATEWAY)
    received = await app.client.post(
        "/inbox/v1/inbound/email", content=email(), headers=raw_headers(gateway)
    )
    conversation_id: str = received.json()["conversation_id"]
    await deliver(app, "inbox")
    await run_engine(app)
    await deliver(app, "routing")  # the inbox hears where it waits
    boss = await supervisor(app)
    waiting = (await read(app, conversation_id, boss)).json()
    assert waiting["routing_status"] == "queued"

    await accept(app, marie["id"])
    moved = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/transfer",
        json={"to_queue_id": billing},
        headers=boss,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["routing_status"] == "needs_agent"
    await deliver(app, "inbox")  # routing ends Marie's task and queues a new one in billing
    # One event at a time: routing delivers a conversation's next event only after the last.
    await deliver(app, "routing")  # Marie's accept, after the transfer

    late = (await read(app, conversation_id, boss)).json()
    assert (late["routing_status"], late["assignee_agent_id"]) == ("needs_agent", None)
    assert late["version"] == moved.json()["version"]
    hers = await inbox_agent(app, marie["id"])
    assert (await read(app, conversation_id, hers)).status_code == 404
    listed = await app.client.get("/inbox/v1/conversations", headers=hers)
    assert conversation_id not in [c["id"] for c in listed.json()["items"]]
    refused = await reply(app, conversation_id, marie["id"])
    assert refused.status_code == 404, refused.text

    await deliver(app, "routing")  # the new task's queue
    queued = (await read(app, conversation_id, boss)).json()
    assert (queued["routing_status"], queued["assignee_agent_id"]) == ("queued", None)
    assert (queued["queue_id"], queued["queue_name"]) == (billing, BILLING_NAME)
    assert (await reply(app, conversation_id, marie["id"])).status_code == 404

    await app.client.put(
        f"/routing/v1/agents/{luc['id']}/status", json={"status": "available"}, headers=headers
    )
    await run_engine(app)
    await accept(app, luc["id"])
    await app.deliver_all()
    taken = (await read(app, conversation_id, boss)).json()
    assert (taken["routing_status"], taken["assignee_agent_id"]) == ("assigned", luc["id"])
    assert (taken["queue_id"], taken["queue_name"]) == (billing, BILLING_NAME)
    assert (await reply(app, conversation_id, luc["id"])).status_code == 201
    assert (await reply(app, conversation_id, marie["id"])).status_code == 404


async def test_a_transfer_before_the_inbox_heard_of_the_task_ends_in_the_new_queue(
    app: Running,
) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    billing = await create_queue(app, headers, BILLING)
    gateway = await app.token(Role.GATEWAY)
    received = await app.client.post(
        "/inbox/v1/inbound/email", content=email(), headers=raw_headers(gateway)
    )
    conversation_id: str = received.json()["conversation_id"]
    await deliver(app, "inbox")
    await run_engine(app)
    await accept(app, marie["id"])  # queued and assigned both still undelivered
    boss = await supervisor(app)

    moved = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/transfer",
        json={"to_queue_id": billing},
        headers=boss,
    )
    assert moved.status_code == 200, moved.text
    await app.deliver_all()

    seen = (await read(app, conversation_id, boss)).json()
    assert (seen["routing_status"], seen["assignee_agent_id"]) == ("queued", None)
    assert (seen["queue_id"], seen["queue_name"]) == (billing, BILLING_NAME)
    assert (await reply(app, conversation_id, marie["id"])).status_code == 404
    [task] = [t for t in await tasks(app, conversation_id, headers) if t["state"] == "waiting"]
    assert task["queue_id"] == billing


async def test_an_assignment_event_without_the_queue_name_is_still_applied(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"fr": 5})
    conversation_id = await assigned_conversation(app, headers, marie)
    boss = await supervisor(app)
    before = (await read(app, conversation_id, boss)).json()

    # As a routing from before the event named its queue would send it, for a later task.
    envelope = {
        "id": str(uuid.uuid4()),
        "type": "conversation.assigned",
        "source": "routing",
        "occurred_at": "2026-12-05T10:00:00+00:00",
        "payload": {
            "conversation_id": conversation_id,
            "task_id": str(uuid.uuid4()),
            "agent_id": luc["id"],
            "queue_id": before["queue_id"],
            "needs_translation": False,
            "assigned_at": "2026-12-05T10:00:00+00:00",
        },
    }
    applied = await app.client.post("/inbox/v1/events", json=envelope, headers=SERVICE)

    assert applied.status_code == 200, applied.text
    assert applied.json()["applied"] is True
    after = (await read(app, conversation_id, boss)).json()
    assert (after["routing_status"], after["assignee_agent_id"]) == ("assigned", luc["id"])
    assert (after["queue_id"], after["queue_name"]) == (before["queue_id"], before["queue_name"])
