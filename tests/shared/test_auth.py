"""Tokens and roles over HTTP: 401 and 403 are distinct, localized, and change nothing."""

from __future__ import annotations

import uuid

from shared.auth import Role
from tests.support.apps import Running

NNBSP = "\u202f"


def bearer(token: str, language: str = "en") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Language": language}


async def test_no_token_is_401_in_english_and_french(app: Running) -> None:
    english = await app.client.get("/inbox/v1/tokens")
    french = await app.client.get("/inbox/v1/tokens", headers={"Accept-Language": "fr-CA,fr;q=0.9"})

    assert english.status_code == french.status_code == 401
    assert english.headers["content-type"] == "application/problem+json"
    assert english.headers["www-authenticate"] == "Bearer"
    assert english.json()["code"] == french.json()["code"] == "auth.unauthenticated"
    assert english.json()["title"] == "Authentication required"
    assert french.json()["title"] == "Authentification requise"
    assert french.headers["content-language"] == "fr"
    assert "jeton" in french.json()["detail"]


async def test_unknown_and_revoked_tokens_are_401(app: Running) -> None:
    admin = await app.token(Role.ADMIN)
    victim = await app.token(Role.SUPERVISOR, name="leaving supervisor")
    listed = (await app.client.get("/inbox/v1/tokens", headers=bearer(admin))).json()
    victim_id = next(item["id"] for item in listed if item["name"] == "leaving supervisor")

    unknown = await app.client.get("/inbox/v1/tokens", headers=bearer("ibx_not-a-real-token"))
    revoked = await app.client.delete(f"/inbox/v1/tokens/{victim_id}", headers=bearer(admin))
    after = await app.client.post("/routing/v1/events", json={}, headers=bearer(victim))

    assert unknown.status_code == 401
    assert unknown.json()["code"] == "auth.invalid_token"
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert after.status_code == 401
    assert after.json()["code"] == "auth.invalid_token"


async def test_wrong_role_is_403_in_both_languages(app: Running) -> None:
    agent = await app.token(Role.AGENT, agent_id=uuid.uuid4())

    english = await app.client.get("/inbox/v1/tokens", headers=bearer(agent))
    french = await app.client.get("/inbox/v1/tokens", headers=bearer(agent, "fr"))

    assert english.status_code == french.status_code == 403
    assert english.json()["code"] == "auth.forbidden"
    assert english.json()["detail"] == "Your role (agent) may not do this."
    assert french.json()["title"] == "Action non autorisée"
    assert french.json()["detail"] == "Votre rôle (agent) ne permet pas cette action."


async def test_other_services_check_tokens_through_the_inbox(app: Running) -> None:
    supervisor = await app.token(Role.SUPERVISOR)
    envelope = {
        "id": str(uuid.uuid4()),
        "type": "test.ping",
        "source": "inbox",
        "occurred_at": "2026-11-22T10:00:00Z",
        "payload": {},
    }

    anonymous = await app.client.post("/routing/v1/events", json=envelope)
    wrong_role = await app.client.post(
        "/routing/v1/events", json=envelope, headers=bearer(supervisor)
    )

    assert anonymous.status_code == 401
    assert wrong_role.status_code == 403


async def test_admin_issues_a_token_that_works_once_and_is_stored_hashed(app: Running) -> None:
    admin = await app.token(Role.ADMIN)

    created = await app.client.post(
        "/inbox/v1/tokens", json={"role": "gateway", "name": "Postfix"}, headers=bearer(admin)
    )
    secret = created.json()["token"]
    whoami = await app.client.post("/inbox/v1/auth/whoami", headers=bearer(secret))
    listed = await app.client.get("/inbox/v1/tokens", headers=bearer(admin))

    assert created.status_code == 201
    assert whoami.status_code == 200
    assert whoami.json() == {"role": "gateway", "name": "Postfix", "agent_id": None}
    assert all("token" not in item for item in listed.json())
    assert secret not in listed.text


async def test_agent_token_without_agent_id_is_refused_and_nothing_is_created(app: Running) -> None:
    admin = await app.token(Role.ADMIN)
    before = (await app.client.get("/inbox/v1/tokens", headers=bearer(admin))).json()

    refused = await app.client.post(
        "/inbox/v1/tokens", json={"role": "agent", "name": "Chloé"}, headers=bearer(admin, "fr")
    )
    unknown_role = await app.client.post(
        "/inbox/v1/tokens", json={"role": "root", "name": "x"}, headers=bearer(admin)
    )
    after = (await app.client.get("/inbox/v1/tokens", headers=bearer(admin))).json()

    assert refused.status_code == 422
    assert refused.json()["code"] == "request.invalid"
    assert refused.json()["title"] == "Demande invalide"
    assert unknown_role.status_code == 422
    assert unknown_role.json()["errors"][0]["field"] == "role"
    assert after == before


async def test_revoking_an_unknown_token_is_404(app: Running) -> None:
    admin = await app.token(Role.ADMIN)

    missing = await app.client.delete(f"/inbox/v1/tokens/{uuid.uuid4()}", headers=bearer(admin))

    assert missing.status_code == 404
    assert missing.json()["code"] == "token.not_found"
