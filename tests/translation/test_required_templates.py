"""Templates the inbox sends by key: never deleted through the API, restored at start if absent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from services.inbox.outbound.automatic import ACKNOWLEDGEMENT_TEMPLATE, OUT_OF_HOURS_TEMPLATE
from services.translation.models import Template
from services.translation.templates.seed import REQUIRED_KEYS, SEED_EXAMPLES, SEED_TEMPLATES
from shared.auth import Role
from shared.db import session_scope
from tests.support.apps import SERVICE_TOKEN, Running, running_all_in_one

BASE = "/translation/v1/templates"
NNBSP = "\u202f"
SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


async def admin(app: Running, language: str = "en") -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(Role.ADMIN)}", "Accept-Language": language}


async def snapshot(app: Running, key: str) -> Any:
    return (await app.client.get(f"{BASE}/{key}", headers=SERVICE)).json()


async def render(app: Running, key: str, language: str) -> Any:
    body = {"locale": language, "variables": SEED_EXAMPLES[key][language]}
    return await app.client.post(f"{BASE}/{key}/render", json=body, headers=SERVICE)


def test_the_templates_the_inbox_renders_by_key_are_required_and_seeded() -> None:
    seeded = {version.key for version in SEED_TEMPLATES}

    assert {ACKNOWLEDGEMENT_TEMPLATE, OUT_OF_HOURS_TEMPLATE} <= REQUIRED_KEYS <= seeded


@pytest.mark.parametrize("key", ["email.acknowledgement", "notice.out_of_hours"])
async def test_deleting_a_template_the_inbox_sends_is_refused_and_it_still_renders(
    app: Running, key: str
) -> None:
    before = await snapshot(app, key)

    english = await app.client.delete(f"{BASE}/{key}", headers=await admin(app))
    french = await app.client.delete(f"{BASE}/{key}", headers=await admin(app, "fr-CA"))

    assert english.status_code == french.status_code == 409
    assert english.headers["content-type"] == "application/problem+json"
    assert english.json()["code"] == french.json()["code"] == "template.required"
    assert english.json()["detail"] == (
        f"Template '{key}' cannot be deleted: the inbox sends it to customers automatically. "
        "Change its text with PATCH instead."
    )
    assert french.json()["title"] == "Modèle indispensable"
    assert french.json()["detail"] == (
        f"Le modèle «{NNBSP}{key}{NNBSP}» ne peut pas être supprimé{NNBSP}: la boîte de "
        "réception l’envoie automatiquement aux clients. Modifiez plutôt son texte avec PATCH."
    )
    assert await snapshot(app, key) == before
    assert (await render(app, key, "fr")).status_code == 200


async def test_a_required_template_refused_deletion_is_still_edited_with_patch(
    app: Running,
) -> None:
    key = "email.acknowledgement"
    headers = await admin(app)
    [english, french] = (await snapshot(app, key))["versions"]
    edited = {name: french[name] for name in ("locale", "subject", "variables")}
    edited["body"] = "Bonjour {customer_name}, réf. {reference}, réponse sous {response_time}."

    refused = await app.client.delete(f"{BASE}/{key}", headers=headers)
    changed = await app.client.patch(f"{BASE}/{key}", json={"versions": [edited]}, headers=headers)
    rendered = await render(app, key, "fr")

    assert (refused.status_code, changed.status_code) == (409, 200)
    assert rendered.json()["body"].startswith("Bonjour Marie-Ève Tremblay, réf. CC-2025-004217")
    assert (await snapshot(app, key))["versions"][0] == english


async def test_only_the_templates_the_inbox_sends_are_protected(app: Running) -> None:
    headers = await admin(app)

    other = await app.client.delete(f"{BASE}/callback.confirmation", headers=headers)
    required = await app.client.delete(f"{BASE}/email.acknowledgement", headers=headers)

    assert (other.status_code, required.status_code) == (204, 409)
    assert (await snapshot(app, "callback.confirmation"))["code"] == "template.not_found"
    assert (await snapshot(app, "email.acknowledgement"))["key"] == "email.acknowledgement"


async def test_the_refusal_is_documented(app: Running) -> None:
    spec = (await app.client.get("/openapi.json")).json()

    responses = spec["paths"][f"{BASE}/{{key}}"]["delete"]["responses"]

    assert "application/problem+json" in responses["409"]["content"]
    assert "409" not in spec["paths"][f"{BASE}/{{key}}"]["get"]["responses"]


async def test_start_up_restores_an_absent_required_template_and_nothing_else(
    db_url: str, tmp_path: Path
) -> None:
    async with running_all_in_one(db_url, tmp_path) as app:
        # as a deletion made before deletions were refused left it
        async with session_scope(app.context("translation").require_sessions()) as session:
            await session.execute(delete(Template).where(Template.key == "email.acknowledgement"))
        headers = await admin(app)
        english = (await snapshot(app, "notice.out_of_hours"))["versions"][0]
        edited = {k: english[k] for k in ("locale", "subject", "variables")}
        edited["body"] = "We are closed: {queue_name}, {hours}."
        await app.client.patch(
            f"{BASE}/notice.out_of_hours", json={"versions": [edited]}, headers=headers
        )
        await app.client.delete(f"{BASE}/conversation.closing", headers=headers)
        absent = await app.client.get(f"{BASE}/email.acknowledgement", headers=SERVICE)
        notice = await snapshot(app, "notice.out_of_hours")

    async with running_all_in_one(db_url, tmp_path) as app:
        restored = await snapshot(app, "email.acknowledgement")
        rendered = await render(app, "email.acknowledgement", "en")
        closing = await app.client.get(f"{BASE}/conversation.closing", headers=SERVICE)
        assert await snapshot(app, "notice.out_of_hours") == notice

    seeded = [v for v in SEED_TEMPLATES if v.key == "email.acknowledgement"]
    assert absent.status_code == 404
    assert [(v["locale"], v["body"]) for v in restored["versions"]] == [
        (v.locale, v.body) for v in seeded
    ]
    assert rendered.status_code == 200
    assert notice["versions"][0]["body"] == "We are closed: {queue_name}, {hours}."
    assert closing.status_code == 404
