"""Templates the inbox sends by key: never deleted through the API, restored at start if absent."""

from __future__ import annotations

from collections.abc import Callable
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


def editable(version: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A stored version as PATCH takes it, with some fields changed."""
    fields = ("locale", "subject", "body", "variables", "single_language")
    return {**{name: version[name] for name in fields}, **changes}


def declared(version: dict[str, Any]) -> str:
    """The version's declared variables as the refusal lists them."""
    return ", ".join(f"{v['name']} ({v['type']})" for v in version["variables"])


async def renders(app: Running, key: str) -> list[tuple[int, Any]]:
    """The template rendered in English and in French, as the inbox asks for it."""
    answers = [await render(app, key, language) for language in ("en", "fr")]
    return [(answer.status_code, answer.json()) for answer in answers]


async def refused_twice(
    app: Running, key: str, change: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The change asked in English then in French: both must be 409, and nothing may change."""
    before, rendered = await snapshot(app, key), await renders(app, key)

    english = await app.client.patch(f"{BASE}/{key}", json=change, headers=await admin(app))
    french = await app.client.patch(f"{BASE}/{key}", json=change, headers=await admin(app, "fr-CA"))

    assert (english.status_code, french.status_code) == (409, 409), english.json()
    assert english.headers["content-type"] == "application/problem+json"
    assert await snapshot(app, key) == before
    assert await renders(app, key) == rendered
    assert [status for status, _ in rendered] == [200, 200]
    return english.json(), french.json()


def lone(version: dict[str, Any]) -> dict[str, Any]:
    return editable(version, single_language=True)


Version = dict[str, Any]
LANGUAGE_LOSSES: dict[str, Callable[[Version, Version], dict[str, Any]]] = {
    "French removed, English single-language": lambda en, fr: {
        "remove_locales": ["fr"],
        "versions": [lone(en)],
    },
    "English removed, French single-language": lambda en, fr: {
        "remove_locales": ["en"],
        "versions": [lone(fr)],
    },
    "French removed": lambda en, fr: {"remove_locales": ["fr"]},
    "both removed": lambda en, fr: {"remove_locales": ["en", "fr"]},
}


@pytest.mark.parametrize("loss", LANGUAGE_LOSSES)
@pytest.mark.parametrize("key", ["email.acknowledgement", "notice.out_of_hours"])
async def test_a_required_template_keeps_an_english_and_a_french_version(
    app: Running, key: str, loss: str
) -> None:
    en, fr = (await snapshot(app, key))["versions"]

    english, french = await refused_twice(app, key, LANGUAGE_LOSSES[loss](en, fr))

    assert english["code"] == french["code"] == "template.required_locales"
    assert english["detail"] == (
        f"Template '{key}' must keep an English and a French version: the inbox sends it to "
        "customers automatically in their language."
    )
    assert french["title"] == "Langues du modèle indispensables"
    assert french["detail"] == (
        f"Le modèle «{NNBSP}{key}{NNBSP}» doit garder une version anglaise et une version "
        f"française{NNBSP}: la boîte de réception l’envoie automatiquement aux clients dans "
        "leur langue."
    )


def with_variables(version: dict[str, Any], variables: list[dict[str, str]]) -> dict[str, Any]:
    """The version declaring ``variables`` and using each in its body (as a valid one would)."""
    body = "Text: " + ", ".join(f"{{{v['name']}}}" for v in variables) + "."
    return editable(version, subject="Subject", body=body, variables=variables)


Declarations = list[dict[str, str]]
VARIABLE_CHANGES: dict[str, Callable[[Declarations], Declarations]] = {
    "one more": lambda seeded: [*seeded, {"name": "agent_name", "type": "text"}],
    "one fewer": lambda seeded: seeded[:-1],
    "another type": lambda seeded: [*seeded[:-1], {**seeded[-1], "type": "number"}],
    "renamed": lambda seeded: [*seeded[:-1], {**seeded[-1], "name": "renamed"}],
}


@pytest.mark.parametrize("change", VARIABLE_CHANGES)
@pytest.mark.parametrize("key", ["email.acknowledgement", "notice.out_of_hours"])
async def test_a_required_template_keeps_the_variables_the_inbox_supplies(
    app: Running, key: str, change: str
) -> None:
    en, fr = (await snapshot(app, key))["versions"]
    variables = VARIABLE_CHANGES[change](
        [{k: v[k] for k in ("name", "type")} for v in en["variables"]]
    )
    both = {"versions": [with_variables(en, variables), with_variables(fr, variables)]}

    english, french = await refused_twice(app, key, both)

    assert english["code"] == french["code"] == "template.required_variables"
    assert english["detail"] == (
        f"Template '{key}' must declare exactly the variables the inbox supplies: "
        f"{declared(en)}. Change its subject and body, not its variables."
    )
    assert french["title"] == "Variables du modèle indispensables"
    assert french["detail"] == (
        f"Le modèle «{NNBSP}{key}{NNBSP}» doit déclarer exactement les variables que fournit "
        f"la boîte de réception{NNBSP}: {declared(en)}. Modifiez son objet et son corps, pas "
        "ses variables."
    )


async def test_other_variables_in_one_language_or_a_regional_version_are_refused_too(
    app: Running,
) -> None:
    key = "email.acknowledgement"
    en, fr = (await snapshot(app, key))["versions"]
    extra = [*en["variables"], {"name": "agent_name", "type": "text"}]
    regional = [
        with_variables({**en, "locale": "en-CA"}, extra),
        with_variables({**fr, "locale": "fr-CA"}, extra),
    ]

    one_language = await refused_twice(app, key, {"versions": [with_variables(en, extra)]})
    twins_added = await refused_twice(app, key, {"versions": regional})

    assert {one_language[0]["code"], twins_added[0]["code"]} == {"template.required_variables"}


async def test_a_required_template_s_subject_and_body_change_and_render_as_edited(
    app: Running,
) -> None:
    key = "email.acknowledgement"
    headers = await admin(app)
    en, fr = (await snapshot(app, key))["versions"]
    text = {
        "en": ("Got it: {reference}", "Hi {customer_name}, we answer within {response_time}."),
        "fr": ("Bien reçu : {reference}", "Bonjour {customer_name}, réponse sous {response_time}."),
    }
    # the same variables, declared in another order: what the inbox passes still fits
    edited = [
        editable(v, subject=subject, body=body, variables=v["variables"][::-1])
        for v, (subject, body) in ((en, text["en"]), (fr, text["fr"]))
    ]
    with_extra = [{**v, "variables": [*v["variables"], {"name": "agent_name"}]} for v in edited]

    changed = await app.client.patch(f"{BASE}/{key}", json={"versions": edited}, headers=headers)
    refused = await app.client.patch(
        f"{BASE}/{key}", json={"versions": with_extra}, headers=headers
    )

    assert (changed.status_code, changed.json()["problems"]) == (200, [])
    assert refused.status_code == 409
    [(_, english), (_, french)] = await renders(app, key)
    assert (english["subject"], english["body"]) == (
        "Got it: CC-2025-004217",
        "Hi Jordan Smith, we answer within 4 hours.",
    )
    assert (french["subject"], french["body"]) == (
        f"Bien reçu{NNBSP}: CC-2025-004217",
        "Bonjour Marie-Ève Tremblay, réponse sous 4\u00a0heures.",
    )


async def test_other_templates_may_still_lose_a_language_or_change_variables(
    app: Running,
) -> None:
    headers = await admin(app)
    changes = {}
    for key in ("callback.confirmation", "email.acknowledgement"):
        en, fr = (await snapshot(app, key))["versions"]
        extra = [*en["variables"], {"name": "extra_note", "type": "text"}]
        changes[key] = [
            {"versions": [with_variables(en, extra), with_variables(fr, extra)]},
            {"remove_locales": ["fr"], "versions": [lone(with_variables(en, extra))]},
        ]

    other = [
        await app.client.patch(f"{BASE}/callback.confirmation", json=change, headers=headers)
        for change in changes["callback.confirmation"]
    ]
    required = [
        await app.client.patch(f"{BASE}/email.acknowledgement", json=change, headers=headers)
        for change in changes["email.acknowledgement"]
    ]

    assert [answer.status_code for answer in other] == [200, 200]
    assert [answer.status_code for answer in required] == [409, 409]
    final = await snapshot(app, "callback.confirmation")
    assert [(v["locale"], v["single_language"]) for v in final["versions"]] == [("en", True)]
    assert final["versions"][0]["variables"][-1]["name"] == "extra_note"


async def test_a_required_template_found_absent_is_created_only_whole(app: Running) -> None:
    key = "notice.out_of_hours"
    en, fr = (await snapshot(app, key))["versions"]
    async with session_scope(app.context("translation").require_sessions()) as session:
        await session.execute(delete(Template).where(Template.key == key))
    headers = await admin(app)
    extra = [*en["variables"], {"name": "agent_name", "type": "text"}]
    attempts = [
        [lone(en)],
        [with_variables(en, extra), with_variables(fr, extra)],
    ]

    refused = [
        await app.client.post(BASE, json={"key": key, "versions": versions}, headers=headers)
        for versions in attempts
    ]
    absent = await app.client.get(f"{BASE}/{key}", headers=SERVICE)
    created = await app.client.post(
        BASE, json={"key": key, "versions": [editable(en), editable(fr)]}, headers=headers
    )

    assert [(r.status_code, r.json()["code"]) for r in refused] == [
        (409, "template.required_locales"),
        (409, "template.required_variables"),
    ]
    assert absent.status_code == 404
    assert created.status_code == 201
    assert [status for status, _ in await renders(app, key)] == [200, 200]


async def test_the_refusals_of_a_change_are_documented(app: Running) -> None:
    spec = (await app.client.get("/openapi.json")).json()

    patch = spec["paths"][f"{BASE}/{{key}}"]["patch"]

    assert "application/problem+json" in patch["responses"]["409"]["content"]
    assert "template.required_locales" in patch["description"]
    assert "template.required_variables" in patch["description"]
