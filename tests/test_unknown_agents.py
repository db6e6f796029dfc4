"""An agent id routing does not know (never created, or deleted) is refused everywhere.

Its offers are 404 like its other sub-resources; a callback for it, and an agent token bound
to it, are 422 on ``agent_id`` and store nothing.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from services.routing.models import Callback
from shared.db import utc_now
from tests.routing.scenario import admin, agent_headers, bearer, create_agent
from tests.support.apps import Running, routing_unreachable
from tests.support.inbox_rows import inbox_has

NO_AGENT = {
    "field": "agent_id",
    "code": "agent_not_found",
    "reason": "Aucun agent n’a cet identifiant.",
}


async def deleted_agent(app: Running, headers: dict[str, str]) -> str:
    agent = await create_agent(app, headers, name="Luc Gagnon", languages={"fr": 5})
    deleted = await app.client.delete(f"/routing/v1/agents/{agent['id']}", headers=headers)
    assert deleted.status_code == 204
    return str(agent["id"])


async def test_the_offers_of_an_unknown_or_deleted_agent_are_404(app: Running) -> None:
    headers = await admin(app)
    french = {**headers, "Accept-Language": "fr"}
    gone = await deleted_agent(app, headers)
    marie = await create_agent(app, headers, name="Marie Tremblay", languages={"fr": 5})
    nobody = uuid.uuid4()
    gone_own = await agent_headers(app, gone)

    unknown = await app.client.get(f"/routing/v1/agents/{nobody}/offers", headers=french)
    deleted = await app.client.get(f"/routing/v1/agents/{gone}/offers?state=all", headers=headers)
    own = await app.client.get(f"/routing/v1/agents/{gone}/offers", headers=gone_own)
    known = await app.client.get(f"/routing/v1/agents/{marie['id']}/offers", headers=headers)

    assert unknown.status_code == 404
    assert unknown.json()["code"] == "agent.not_found"
    assert unknown.json()["detail"] == f"Aucun agent n’a l’identifiant {nobody}."
    assert (deleted.status_code, deleted.json()["code"]) == (404, "agent.not_found")
    assert (own.status_code, own.json()["code"]) == (404, "agent.not_found")
    assert (known.status_code, known.json()) == (200, [])


async def callbacks(app: Running) -> int:
    async with app.context("routing").require_sessions()() as session:
        return int(await session.scalar(select(func.count()).select_from(Callback)) or 0)


#: The conversation the callbacks are about; each test gives the inbox one with this id.
CONVERSATION = str(uuid.uuid4())


def callback(**fields: Any) -> dict[str, Any]:
    return {
        "conversation_id": CONVERSATION,
        "due_at": (utc_now() + timedelta(hours=2)).isoformat(),
        "language": "fr",
        "phone": "+15145550123",
        **fields,
    }


async def test_a_callback_for_an_agent_routing_does_not_know_is_refused(app: Running) -> None:
    headers = await admin(app)
    french = {**headers, "Accept-Language": "fr"}
    gone = await deleted_agent(app, headers)
    marie = await create_agent(app, headers, name="Marie Tremblay", languages={"fr": 5})
    await inbox_has(app, CONVERSATION)

    unknown = await app.client.post(
        "/routing/v1/callbacks", json=callback(agent_id=str(uuid.uuid4())), headers=french
    )
    deleted = await app.client.post(
        "/routing/v1/callbacks", json=callback(agent_id=gone), headers=french
    )
    by_deleted = await app.client.post(
        "/routing/v1/callbacks", json=callback(), headers=await agent_headers(app, gone, "fr")
    )
    stored_after_refusals = await callbacks(app)
    known = await app.client.post(
        "/routing/v1/callbacks", json=callback(agent_id=marie["id"]), headers=headers
    )
    unassigned = await app.client.post("/routing/v1/callbacks", json=callback(), headers=headers)

    for refused in (unknown, deleted, by_deleted):
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"] == [NO_AGENT]
    assert stored_after_refusals == 0
    assert (known.status_code, known.json()["agent_id"]) == (201, marie["id"])
    assert (unassigned.status_code, unassigned.json()["agent_id"]) == (201, None)
    assert await callbacks(app) == 2


async def token_ids(app: Running, headers: dict[str, str]) -> list[str]:
    return [row["id"] for row in (await app.client.get("/inbox/v1/tokens", headers=headers)).json()]


async def test_an_agent_token_for_an_agent_routing_does_not_know_is_refused(app: Running) -> None:
    headers = await admin(app)
    gone = await deleted_agent(app, headers)
    marie = await create_agent(app, headers, name="Marie Tremblay", languages={"fr": 5})
    before = await token_ids(app, headers)

    answers = [
        await app.client.post(
            "/inbox/v1/tokens",
            json={"role": "agent", "name": "Poste 12", "agent_id": agent_id},
            headers={**headers, "Accept-Language": language},
        )
        for agent_id, language in ((str(uuid.uuid4()), "fr"), (gone, "fr-CA"))
    ]
    after = await token_ids(app, headers)
    created = await app.client.post(
        "/inbox/v1/tokens",
        json={"role": "agent", "name": "Marie", "agent_id": marie["id"]},
        headers=headers,
    )
    works = await app.client.get(
        f"/routing/v1/agents/{marie['id']}/offers", headers=bearer(created.json()["token"])
    )

    for refused in answers:
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"] == [NO_AGENT]
    assert after == before
    assert (created.status_code, created.json()["agent_id"]) == (201, marie["id"])
    assert works.status_code == 200


async def test_while_routing_is_down_an_agent_token_is_503_and_not_created(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie Tremblay", languages={"fr": 5})
    before = await token_ids(app, headers)
    async with routing_unreachable(app):
        refused = await app.client.post(
            "/inbox/v1/tokens",
            json={"role": "agent", "name": "Marie", "agent_id": marie["id"]},
            headers=headers,
        )
        # Other roles bind no agent: routing is not asked.
        gateway = await app.client.post(
            "/inbox/v1/tokens", json={"role": "gateway", "name": "Postfix"}, headers=headers
        )

    assert refused.status_code == 503
    assert refused.json()["code"] == "peer.unavailable"
    assert int(refused.headers["Retry-After"]) > 0
    assert gateway.status_code == 201
    assert set(await token_ids(app, headers)) == {gateway.json()["id"], *before}
