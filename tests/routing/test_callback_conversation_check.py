"""A callback scheduled through routing's API is for a conversation the inbox has: routing asks
the inbox first; an id it does not know (the docs' own example, in a new install) is a 422 naming
``conversation_id`` and stores nothing, and while the inbox cannot be asked the answer is 503 with
Retry-After, storing nothing either."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from shared.auth import Role
from shared.clients.inbox import InboxClient
from tests.inbox.builders import email, raw_headers
from tests.routing.scenario import SERVICE, admin, agent_headers, bearer, create_agent, run_engine
from tests.support.apps import Running

URL = "/routing/v1/callbacks"
NNBSP = "\u202f"


@asynccontextmanager
async def inbox_unreachable(app: Running) -> AsyncIterator[None]:
    """While the block runs, routing reaches the inbox at a port nobody listens on."""
    context = app.context("routing")
    inbox = context.extras["inbox"]
    down = InboxClient(base_url="http://127.0.0.1:1", token=None, timeout=1.0)
    context.extras["inbox"] = down
    try:
        yield
    finally:
        context.extras["inbox"] = inbox
        await down.aclose()


async def docs_example(app: Running) -> dict[str, Any]:
    """The request body the OpenAPI docs show for scheduling a callback."""
    spec = (await app.client.get("/openapi.json")).json()
    media = spec["paths"][URL]["post"]["requestBody"]["content"]["application/json"]
    schema = spec["components"]["schemas"][media["schema"]["$ref"].rsplit("/", 1)[1]]
    assert "must exist in the inbox" in schema["properties"]["conversation_id"]["description"]
    example: dict[str, Any] = schema["examples"][0]
    return example


async def inbox_conversation(app: Running) -> str:
    """A conversation the inbox has: a customer's email, received through a gateway."""
    received = await app.client.post(
        "/inbox/v1/inbound/email",
        content=email(),
        headers=raw_headers(await app.token(Role.GATEWAY)),
    )
    assert received.status_code in (200, 201, 202), received.text
    conversation_id: str = received.json()["conversation_id"]
    return conversation_id


async def stored(app: Running, supervisor: dict[str, str], conversation_id: str) -> Any:
    """The callbacks and the conversation's tasks, as a supervisor lists them."""
    listed = await app.client.get(URL, headers=supervisor)
    tasks = await app.client.get(
        "/routing/v1/tasks", params={"conversation_id": conversation_id}, headers=supervisor
    )
    assert (listed.status_code, tasks.status_code) == (200, 200), (listed.text, tasks.text)
    return listed.json()["items"], tasks.json()["items"]


async def test_the_docs_example_conversation_is_refused_in_english_and_french_and_nothing_stored(
    app: Running,
) -> None:
    supervisor = bearer(await app.token(Role.SUPERVISOR))
    marie = await create_agent(app, await admin(app), name="Marie", languages={"fr": 5})
    example = await docs_example(app)
    missing = example["conversation_id"]
    before = await stored(app, supervisor, missing)

    english = await app.client.post(URL, json=example, headers=supervisor)
    french = await app.client.post(
        URL, json=example, headers=await agent_headers(app, marie["id"], "fr")
    )
    by_service = await app.client.post(
        URL, json=example, headers={**SERVICE, "Accept-Language": "fr"}
    )

    for answer in (english, french, by_service):
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == "callback.conversation_not_found"
        assert [e["field"] for e in answer.json()["errors"]] == ["conversation_id"]
    assert english.json()["title"] == "Conversation not found"
    assert english.json()["detail"] == (
        f"The inbox has no conversation {missing} to call back for; nothing was scheduled."
    )
    assert english.json()["errors"][0]["reason"] == "The inbox has no conversation with this id."
    assert french.json()["title"] == "Conversation introuvable"
    assert french.json()["detail"] == (
        f"La boîte de réception n’a aucune conversation {missing} pour laquelle rappeler{NNBSP}; "
        "aucun rappel n’a été planifié."
    )
    assert french.json()["errors"][0]["reason"] == (
        "La boîte de réception n’a aucune conversation avec cet identifiant."
    )
    # Nothing stored: no callback listed, and once the example's due time has passed, no task.
    await run_engine(app, datetime.fromisoformat(example["due_at"]).replace(year=2031))
    assert await stored(app, supervisor, missing) == before == ([], [])


async def test_an_unknown_agent_is_named_beside_the_unknown_conversation(app: Running) -> None:
    supervisor = bearer(await app.token(Role.SUPERVISOR), "fr")
    example = await docs_example(app)

    answer = await app.client.post(
        URL,
        json={**example, "agent_id": "8f14e45f-ceea-4e7a-9b1c-3d2f5a6b7c8d"},
        headers=supervisor,
    )

    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["conversation_id", "agent_id"]
    assert await stored(app, supervisor, example["conversation_id"]) == ([], [])


async def test_a_callback_for_a_conversation_the_inbox_has_is_scheduled(app: Running) -> None:
    supervisor = bearer(await app.token(Role.SUPERVISOR))
    conversation_id = await inbox_conversation(app)
    body = {**await docs_example(app), "conversation_id": conversation_id}

    created = await app.client.post(URL, json=body, headers=supervisor)

    assert created.status_code == 201, created.text
    callbacks, _ = await stored(app, supervisor, conversation_id)
    assert [(c["id"], c["conversation_id"]) for c in callbacks] == [
        (created.json()["id"], conversation_id)
    ]


async def test_while_the_inbox_cannot_be_reached_the_answer_is_503_and_nothing_stored(
    app: Running,
) -> None:
    supervisor = bearer(await app.token(Role.SUPERVISOR))
    conversation_id = await inbox_conversation(app)
    body = {**await docs_example(app), "conversation_id": conversation_id}
    before = await stored(app, supervisor, conversation_id)

    async with inbox_unreachable(app):
        english = await app.client.post(URL, json=body, headers=supervisor)
        french = await app.client.post(
            URL, json=body, headers={**supervisor, "Accept-Language": "fr"}
        )

    for answer in (english, french):
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert int(answer.headers["Retry-After"]) >= 1
        assert answer.json()["code"] == "peer.unavailable"
    assert "inbox" in english.json()["detail"]
    assert english.json()["detail"] != french.json()["detail"]
    assert await stored(app, supervisor, conversation_id) == before
    assert before[0] == []
    # Once the inbox answers again, the same request is scheduled.
    again = await app.client.post(URL, json=body, headers=supervisor)
    assert again.status_code == 201, again.text
