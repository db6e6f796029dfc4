"""Templates over HTTP: the seeded set, twin rules on every write, rendering, roles, languages."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from services.translation.templates.render import BILINGUAL_SEPARATOR
from services.translation.templates.schemas import VersionWrite
from services.translation.templates.seed import SEED_EXAMPLES, SEED_TEMPLATES
from services.translation.templates.service import create_template, seed_templates
from shared.auth import Role
from shared.db import session_scope, utc_now
from tests.support.apps import SERVICE_TOKEN, Running, running_all_in_one

BASE = "/translation/v1/templates"
NNBSP = "\u202f"
NBSP = "\u00a0"
SEED_KEYS = sorted({template.key for template in SEED_TEMPLATES})


def bearer(token: str, language: str = "en") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Language": language}


SERVICE = bearer(SERVICE_TOKEN)


def version(locale: str, body: str, *variables: str, **extra: Any) -> dict[str, Any]:
    return {
        "locale": locale,
        "subject": extra.pop("subject", f"Subject {locale}"),
        "body": body,
        "variables": [{"name": name} for name in variables],
        **extra,
    }


PAIR = [version("en", "Hello {name}!", "name"), version("fr", "Bonjour {name} !", "name")]


async def editor(app: Running) -> dict[str, str]:
    return bearer(await app.token(Role.SUPERVISOR))


async def snapshot(app: Running, key: str) -> Any:
    return (await app.client.get(f"{BASE}/{key}", headers=SERVICE)).json()


async def test_the_approved_templates_are_seeded_in_both_languages(app: Running) -> None:
    agent = await app.token(Role.AGENT, agent_id=uuid.uuid4())

    answer = await app.client.get(BASE, headers=bearer(agent))

    assert answer.status_code == 200
    items = answer.json()["items"]
    assert [item["key"] for item in items] == SEED_KEYS
    assert all([v["locale"] for v in item["versions"]] == ["en", "fr"] for item in items)
    assert all(item["problems"] == [] for item in items)
    assert answer.json()["next_cursor"] is None


async def test_seeding_again_keeps_edits_and_deletions(app: Running) -> None:
    headers = await editor(app)
    edited = version(
        "fr",
        "Bonjour {customer_name}, c'est réglé.",
        "customer_name",
        "reference",
        "agent_name",
        subject="Demande {reference} réglée",
    )
    await app.client.patch(
        f"{BASE}/conversation.closing", json={"versions": [edited]}, headers=headers
    )
    await app.client.delete(f"{BASE}/callback.confirmation", headers=headers)

    async with session_scope(app.context("translation").require_sessions()) as session:
        added = await seed_templates(session, now=utc_now())

    keys = [item["key"] for item in (await app.client.get(BASE, headers=SERVICE)).json()["items"]]
    closing = await snapshot(app, "conversation.closing")
    assert added == 0
    assert keys == [key for key in SEED_KEYS if key != "callback.confirmation"]
    assert closing["versions"][1]["body"] == "Bonjour {customer_name}, c'est réglé."


async def test_a_seeded_letter_renders_with_canadian_formats_and_french_typography(
    app: Running,
) -> None:
    agent = await app.token(Role.AGENT, agent_id=uuid.uuid4())
    body = {
        "locale": "fr-CA",
        "variables": SEED_EXAMPLES["letter.payment_arrangement"]["fr"],
    }

    answer = await app.client.post(
        f"{BASE}/letter.payment_arrangement/render", json=body, headers=bearer(agent)
    )

    assert answer.status_code == 200
    message = answer.json()
    assert message["locale"] == "fr-CA"
    assert message["subject"] == "Votre entente de paiement (compte 4417-2290)"
    assert f"Solde visé par l’entente{NNBSP}: 1{NBSP}234,56{NBSP}$\n" in message["body"]
    assert f"Premier versement{NNBSP}: au plus tard le 1er avril 2025\n" in message["body"]


async def test_a_callback_renders_in_the_requested_time_zone(app: Running) -> None:
    variables = SEED_EXAMPLES["callback.confirmation"]["en"]
    body = {"locale": "en-CA", "variables": variables, "time_zone": "America/Toronto"}

    answer = await app.client.post(
        f"{BASE}/callback.confirmation/render", json=body, headers=SERVICE
    )

    assert answer.status_code == 200
    assert f"on Tuesday, March 4, 2025, at 9:30{NNBSP}a.m. (Eastern Time)." in answer.json()["body"]


async def test_a_bare_language_formats_for_the_configured_territory(app: Running) -> None:
    body = {"locale": "fr", "variables": SEED_EXAMPLES["letter.payment_arrangement"]["fr"]}

    answer = await app.client.post(
        f"{BASE}/letter.payment_arrangement/render", json=body, headers=SERVICE
    )

    assert answer.json()["locale"] == "fr-CA"
    assert f"1{NBSP}234,56{NBSP}$\n" in answer.json()["body"]


async def test_und_renders_both_languages_french_first_unless_asked_otherwise(app: Running) -> None:
    variables = SEED_EXAMPLES["conversation.closing"]["en"]
    url = f"{BASE}/conversation.closing/render"

    both = await app.client.post(
        url, json={"locale": "und", "variables": variables}, headers=SERVICE
    )
    english_first = await app.client.post(
        url, json={"locale": "und", "variables": variables, "first": "en"}, headers=SERVICE
    )

    message = both.json()
    assert both.status_code == 200
    assert message["locale"] == "und"
    assert (
        message["subject"] == "Votre demande CC-2025-004217 est réglée / Your request "
        "CC-2025-004217 has been resolved"
    )
    assert message["body"].index("Bonjour") < message["body"].index(BILINGUAL_SEPARATOR)
    assert message["body"].index(BILINGUAL_SEPARATOR) < message["body"].index("Hello")
    assert english_first.json()["body"].index("Hello") < english_first.json()["body"].index(
        "Bonjour"
    )


async def test_values_written_in_each_language_go_to_their_own_text(app: Running) -> None:
    examples = SEED_EXAMPLES["notice.out_of_hours"]
    url = f"{BASE}/notice.out_of_hours/render"
    body = {
        "variables": {"queue_name": "Facturation — Billing"},
        "language_variables": {
            "fr": {"hours": examples["fr"]["hours"]},
            "en": {"hours": examples["en"]["hours"]},
        },
    }

    both = await app.client.post(url, json={"locale": "und", **body}, headers=SERVICE)
    french = await app.client.post(url, json={"locale": "fr", **body}, headers=SERVICE)
    unknown = await app.client.post(
        url,
        json={"locale": "en", **body, "language_variables": {"en": {"hour": "9 to 5"}}},
        headers=SERVICE,
    )
    german = await app.client.post(
        url, json={"locale": "en", **body, "language_variables": {"de": {}}}, headers=SERVICE
    )

    top, bottom = both.json()["body"].split(BILINGUAL_SEPARATOR)
    assert examples["fr"]["hours"] in top
    assert examples["en"]["hours"] in bottom
    assert examples["en"]["hours"] not in top
    assert examples["fr"]["hours"] in french.json()["body"]
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "template.variable_unknown"
    assert german.status_code == 422


async def test_english_first_can_be_the_configured_order(db_url: str, tmp_path: Path) -> None:
    variables = SEED_EXAMPLES["conversation.closing"]["en"]
    async with running_all_in_one(db_url, tmp_path, bilingual_first="en") as app:
        answer = await app.client.post(
            f"{BASE}/conversation.closing/render",
            json={"locale": "und", "variables": variables},
            headers=SERVICE,
        )

    assert answer.json()["subject"].startswith("Your request")


async def test_a_missing_variable_is_a_clear_error_in_both_languages(app: Running) -> None:
    variables = {**SEED_EXAMPLES["conversation.closing"]["en"]}
    del variables["reference"]
    url = f"{BASE}/conversation.closing/render"

    english = await app.client.post(
        url, json={"locale": "en", "variables": variables}, headers=SERVICE
    )
    french = await app.client.post(
        url, json={"locale": "fr", "variables": variables}, headers=bearer(SERVICE_TOKEN, "fr")
    )

    assert english.status_code == french.status_code == 422
    assert english.headers["content-type"] == "application/problem+json"
    assert english.json()["code"] == "template.variable_missing"
    assert english.json()["detail"] == "Variable 'reference' is required."
    assert english.json()["errors"][0]["field"] == "variables.reference"
    assert french.json()["title"] == "Variable manquante"
    assert french.json()["detail"] == f"La variable «{NNBSP}reference{NNBSP}» est requise."


@pytest.mark.parametrize(
    ("key", "body", "status", "code"),
    [
        (
            "conversation.closing",
            {"locale": "de", "variables": {}},
            422,
            "template.locale_unsupported",
        ),
        ("no.such_template", {"locale": "en", "variables": {}}, 404, "template.not_found"),
        (
            "conversation.closing",
            {"locale": "en", "variables": {}, "time_zone": "Mars/Base"},
            422,
            "template.time_zone_unknown",
        ),
        (
            "letter.payment_arrangement",
            {
                "locale": "en",
                "variables": {
                    **SEED_EXAMPLES["letter.payment_arrangement"]["en"],
                    "total_amount": "lots",
                },
            },
            422,
            "template.variable_invalid",
        ),
        (
            "conversation.closing",
            {
                "locale": "en",
                "variables": {**SEED_EXAMPLES["conversation.closing"]["en"], "extra": "x"},
            },
            422,
            "template.variable_unknown",
        ),
    ],
)
async def test_render_refuses_what_it_cannot_render(
    app: Running, key: str, body: dict[str, Any], status: int, code: str
) -> None:
    answer = await app.client.post(f"{BASE}/{key}/render", json=body, headers=SERVICE)

    assert answer.status_code == status
    assert answer.json()["code"] == code


async def test_a_single_language_template_has_no_other_language(app: Running) -> None:
    headers = await editor(app)
    lone = version("en", "Internal note", single_language=True)
    created = await app.client.post(
        BASE, json={"key": "staff.note", "versions": [lone]}, headers=headers
    )

    french = await app.client.post(
        f"{BASE}/staff.note/render", json={"locale": "fr-CA"}, headers=SERVICE
    )
    both = await app.client.post(
        f"{BASE}/staff.note/render", json={"locale": "und"}, headers=SERVICE
    )

    assert created.status_code == 201
    assert created.json()["problems"] == []
    assert french.status_code == 404
    assert french.json()["code"] == "template.version_not_found"
    assert (both.status_code, both.json()["locale"], both.json()["body"]) == (
        200,
        "en-CA",
        "Internal note",
    )


async def test_create_both_languages_then_read_them_back(app: Running) -> None:
    headers = await editor(app)

    created = await app.client.post(
        BASE, json={"key": "billing.notice", "versions": PAIR}, headers=headers
    )
    read = await snapshot(app, "billing.notice")

    assert created.status_code == 201
    assert created.json() == read
    assert [(v["locale"], v["body"], v["variables"]) for v in read["versions"]] == [
        ("en", "Hello {name}!", [{"name": "name", "type": "text", "currency": "CAD"}]),
        ("fr", "Bonjour {name} !", [{"name": "name", "type": "text", "currency": "CAD"}]),
    ]
    rendered = await app.client.post(
        f"{BASE}/billing.notice/render",
        json={"locale": "fr-CA", "variables": {"name": "Zoé"}},
        headers=SERVICE,
    )
    assert rendered.json()["body"] == f"Bonjour Zoé{NNBSP}!"


@pytest.mark.parametrize(
    ("versions", "code", "field"),
    [
        ([PAIR[0]], "template.missing_twin", None),
        ([PAIR[0], version("fr", "Bonjour {nom} !", "nom")], "template.variables_differ", None),
        ([PAIR[0], version("fr", "Bonjour {name !", "name")], "template.syntax", "versions.1.body"),
        (
            [PAIR[0], version("fr", "Bonjour {who} !", "name")],
            "template.variable_unknown",
            "versions.1.variables.who",
        ),
        ([PAIR[0], PAIR[0], PAIR[1]], "template.locale_repeated", None),
        (
            [version("en", "Hi", subject="Two\nlines"), PAIR[1]],
            "template.syntax",
            "versions.0.subject",
        ),
        ([{**PAIR[0], "locale": "de"}, PAIR[1]], "request.invalid", "versions.0.locale"),
    ],
)
async def test_a_bad_new_template_is_refused_and_nothing_is_stored(
    app: Running, versions: list[dict[str, Any]], code: str, field: str | None
) -> None:
    headers = await editor(app)

    answer = await app.client.post(
        BASE, json={"key": "billing.notice", "versions": versions}, headers=headers
    )
    after = await app.client.get(f"{BASE}/billing.notice", headers=SERVICE)

    assert answer.status_code == 422
    assert answer.json()["code"] == code
    if field is not None:
        assert [error["field"] for error in answer.json()["errors"]] == [field]
    assert after.status_code == 404


async def test_a_syntax_error_is_located_in_french_too(app: Running) -> None:
    headers = {**(await editor(app)), "Accept-Language": "fr-CA"}
    broken = [PAIR[0], version("fr", "Bonjour,\n  {name !", "name")]

    answer = await app.client.post(
        BASE, json={"key": "billing.notice", "versions": broken}, headers=headers
    )

    assert answer.json()["title"] == "Modèle invalide"
    assert answer.json()["detail"] == (
        f"versions.1.body{NNBSP}: «{NNBSP}{{{NNBSP}» sans pendant (écrivez «{NNBSP}{{{{{NNBSP}» "
        "pour l’afficher) (ligne 2, colonne 3)."
    )
    assert answer.json()["errors"][0]["reason"] == answer.json()["detail"]


async def test_a_bad_key_is_refused(app: Running) -> None:
    answer = await app.client.post(
        BASE, json={"key": "Billing Notice", "versions": PAIR}, headers=await editor(app)
    )

    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "key"
    listed = (await app.client.get(BASE, headers=SERVICE)).json()["items"]
    assert [item["key"] for item in listed] == SEED_KEYS


async def test_an_existing_key_is_a_conflict_and_stays_as_it_was(app: Running) -> None:
    before = await snapshot(app, "conversation.closing")

    answer = await app.client.post(
        BASE, json={"key": "conversation.closing", "versions": PAIR}, headers=await editor(app)
    )

    assert answer.status_code == 409
    assert answer.json()["code"] == "template.exists"
    assert await snapshot(app, "conversation.closing") == before


async def stored_earlier(app: Running, key: str, hours: int = 2) -> None:
    """A template both of whose versions were written ``hours`` ago."""
    writes = [VersionWrite.model_validate(v) for v in PAIR]
    async with session_scope(app.context("translation").require_sessions()) as session:
        await create_template(
            session, key=key, versions=writes, now=utc_now() - timedelta(hours=hours)
        )


async def test_changing_one_language_reports_its_twin_stale_until_revised(app: Running) -> None:
    await stored_earlier(app, "billing.notice")
    headers = {**(await editor(app)), "Accept-Language": "fr"}
    english = version("en", "Hi {name}, thanks!", "name")

    changed = await app.client.patch(
        f"{BASE}/billing.notice", json={"versions": [english]}, headers=headers
    )
    revised = await app.client.patch(
        f"{BASE}/billing.notice",
        json={"versions": [version("fr", "Salut {name}, merci !", "name")]},
        headers=headers,
    )

    assert changed.status_code == 200
    assert changed.json()["problems"] == [
        {
            "kind": "stale_twin",
            "locale": "fr",
            "twin_locale": "en",
            "detail": f"La version «{NNBSP}fr{NNBSP}» du modèle «{NNBSP}billing.notice{NNBSP}» est "
            f"plus ancienne que son équivalent «{NNBSP}en{NNBSP}»{NNBSP}: révisez-la.",
        }
    ]
    assert revised.json()["problems"] == []


async def test_a_version_sent_unchanged_keeps_its_date(app: Running) -> None:
    await stored_earlier(app, "billing.notice")
    before = await snapshot(app, "billing.notice")

    answer = await app.client.patch(
        f"{BASE}/billing.notice",
        json={"versions": [PAIR[1], version("en", "Hi {name}!", "name")]},
        headers=await editor(app),
    )

    dates = {v["locale"]: v["updated_at"] for v in answer.json()["versions"]}
    assert dates["fr"] == before["versions"][1]["updated_at"]
    assert dates["en"] > before["versions"][0]["updated_at"]
    assert answer.json()["problems"][0]["kind"] == "stale_twin"


@pytest.mark.parametrize(
    ("update", "status", "code"),
    [
        ({"versions": [version("en-CA", "Hi {name}", "name")]}, 422, "template.missing_twin"),
        (
            {"versions": [version("en", "Hi {name} {ref}", "name", "ref")]},
            422,
            "template.variables_differ",
        ),
        ({"remove_locales": ["fr"]}, 422, "template.missing_twin"),
        ({"remove_locales": ["en", "fr"]}, 422, "template.no_versions"),
        ({"remove_locales": ["en-CA"]}, 404, "template.version_not_found"),
        ({"versions": [PAIR[0]], "remove_locales": ["en"]}, 422, "template.locale_repeated"),
        ({"versions": [version("en", "Hi {name", "name")]}, 422, "template.syntax"),
        ({"colour": "blue"}, 422, "request.invalid"),
    ],
)
async def test_a_bad_change_is_refused_and_nothing_changes(
    app: Running, update: dict[str, Any], status: int, code: str
) -> None:
    await stored_earlier(app, "billing.notice")
    before = await snapshot(app, "billing.notice")

    answer = await app.client.patch(
        f"{BASE}/billing.notice", json=update, headers=await editor(app)
    )

    assert answer.status_code == status
    assert answer.json()["code"] == code
    assert await snapshot(app, "billing.notice") == before


async def test_both_languages_change_variables_together_and_regional_pairs_come_and_go(
    app: Running,
) -> None:
    await stored_earlier(app, "billing.notice")
    headers = await editor(app)
    both = [
        version("en", "Hi {name}, ref {ref}", "name", "ref"),
        version("fr", "Bonjour {name}, réf. {ref}", "name", "ref"),
    ]
    regional = [
        version("en-CA", "Hi {name}, eh", "name", "ref"),
        version("fr-CA", "Allô {name}", "name", "ref"),
    ]

    changed = await app.client.patch(
        f"{BASE}/billing.notice", json={"versions": both}, headers=headers
    )
    added = await app.client.patch(
        f"{BASE}/billing.notice", json={"versions": regional}, headers=headers
    )
    removed = await app.client.patch(
        f"{BASE}/billing.notice", json={"remove_locales": ["en-CA", "fr-CA"]}, headers=headers
    )

    assert (changed.status_code, changed.json()["problems"]) == (200, [])
    assert [v["locale"] for v in added.json()["versions"]] == ["en", "fr", "en-CA", "fr-CA"]
    assert [v["locale"] for v in removed.json()["versions"]] == ["en", "fr"]


async def test_delete_removes_every_version_once(app: Running) -> None:
    headers = await editor(app)

    deleted = await app.client.delete(f"{BASE}/conversation.closing", headers=headers)
    again = await app.client.delete(f"{BASE}/conversation.closing", headers=headers)
    read = await app.client.get(f"{BASE}/conversation.closing", headers=SERVICE)

    assert deleted.status_code == 204
    assert (again.status_code, again.json()["code"]) == (404, "template.not_found")
    assert read.status_code == 404


@pytest.mark.parametrize("role", [Role.AGENT, Role.GATEWAY])
async def test_only_admins_and_supervisors_change_templates(app: Running, role: Role) -> None:
    token = await app.token(role, agent_id=uuid.uuid4() if role == Role.AGENT else None)
    before = await snapshot(app, "conversation.closing")

    created = await app.client.post(
        BASE, json={"key": "billing.notice", "versions": PAIR}, headers=bearer(token, "fr")
    )
    deleted = await app.client.delete(f"{BASE}/conversation.closing", headers=bearer(token))

    assert created.status_code == deleted.status_code == 403
    assert created.json()["code"] == deleted.json()["code"] == "auth.forbidden"
    assert (await app.client.get(f"{BASE}/billing.notice", headers=SERVICE)).status_code == 404
    assert await snapshot(app, "conversation.closing") == before


async def test_gateways_may_not_read_and_anonymous_callers_are_401(app: Running) -> None:
    gateway = await app.token(Role.GATEWAY)

    refused = await app.client.get(BASE, headers=bearer(gateway))
    anonymous = await app.client.post(f"{BASE}/conversation.closing/render", json={"locale": "en"})

    assert refused.status_code == 403
    assert anonymous.status_code == 401


async def test_admins_create_and_supervisors_delete(app: Running) -> None:
    admin = bearer(await app.token(Role.ADMIN))

    created = await app.client.post(
        BASE, json={"key": "billing.notice", "versions": PAIR}, headers=admin
    )
    deleted = await app.client.delete(f"{BASE}/billing.notice", headers=await editor(app))

    assert (created.status_code, deleted.status_code) == (201, 204)


async def test_the_list_pages_by_key(app: Running) -> None:
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(len(SEED_KEYS)):
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await app.client.get(BASE, params=params, headers=SERVICE)).json()
        seen += [item["key"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == SEED_KEYS
    assert (await app.client.get(BASE, params={"limit": 0}, headers=SERVICE)).status_code == 422


async def test_every_endpoint_is_documented_with_summary_and_errors(app: Running) -> None:
    spec = (await app.client.get("/openapi.json")).json()
    operations = {
        (method, path): operation
        for path, item in spec["paths"].items()
        if path.startswith(("/translation/v1/templates", "/translation/v1/translate"))
        for method, operation in item.items()
    }

    assert set(operations) == {
        ("get", BASE),
        ("post", BASE),
        ("get", f"{BASE}/{{key}}"),
        ("patch", f"{BASE}/{{key}}"),
        ("delete", f"{BASE}/{{key}}"),
        ("post", f"{BASE}/{{key}}/render"),
        ("post", "/translation/v1/translate"),
    }
    for operation in operations.values():
        assert operation["summary"]
        assert {"401", "403", "422"} <= set(operation["responses"])


async def test_seeding_can_be_turned_off(db_url: str, tmp_path: Path) -> None:
    async with running_all_in_one(db_url, tmp_path, seed_templates=False) as app:
        answer = await app.client.get(BASE, headers=SERVICE)

    assert answer.json() == {"items": [], "next_cursor": None}
