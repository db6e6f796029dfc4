"""A phone number in a template reads as people write it: the callback confirmation shows
« 514 555-0177 » in French and 514-555-0177 in English (Canada), a number of another country in
international form, never "+15145550177"; a value that is no phone number is refused, naming
the variable, in English and French; an install whose callback confirmation was seeded with the
number as text gets the phone type at start-up, unless an administrator wrote it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from services.translation.models import Template, TemplateSeed
from shared.auth import Role
from shared.db import session_scope
from tests.support.apps import SERVICE_TOKEN, Running, running_all_in_one

BASE = "/translation/v1/templates"
KEY = "callback.confirmation"
NBSP = "\u00a0"
NNBSP = "\u202f"
MONTREAL = "+15145550177"
PARIS = "+33123456789"
EARLIER = datetime(2025, 1, 1, tzinfo=UTC)
#: The confirmation's variables as the release before the phone type declared them.
AS_TEXT = [
    {"name": "customer_name", "type": "text"},
    {"name": "reference", "type": "text"},
    {"name": "callback_at", "type": "datetime"},
    {"name": "phone_number", "type": "text"},
]
#: The French text the first release seeded.
FIRST_FRENCH_BODY = (
    "Bonjour {customer_name},\n\n"
    "Comme vous l'avez demandé, un de nos agents vous rappellera au {phone_number} le "
    "{callback_at:datetime:full}. Veuillez vous assurer d'être joignable à ce numéro.\n\n"
    "Si ce moment ne vous convient plus ou si votre numéro a changé, il vous suffit de "
    "répondre à ce courriel en indiquant votre numéro de référence : {reference}.\n\n"
    "Merci,\n\n"
    "Le Service à la clientèle"
)


def headers(language: str = "en") -> dict[str, str]:
    return {"Authorization": f"Bearer {SERVICE_TOKEN}", "Accept-Language": language}


async def render(app: Running, locale: str, phone: object, language: str = "en") -> Any:
    answer = await app.client.post(
        f"{BASE}/{KEY}/render",
        json={
            "locale": locale,
            "variables": {
                "customer_name": "Marie-Ève Tremblay",
                "reference": "CC-2025-004217",
                "callback_at": "2025-03-04T14:30:00+00:00",
                "phone_number": phone,
            },
            "time_zone": "America/Toronto",
        },
        headers=headers(language),
    )
    return answer


def types(version: Any) -> dict[str, str]:
    return {v["name"]: v["type"] for v in version["variables"]}


async def read(app: Running) -> Any:
    answer = await app.client.get(f"{BASE}/{KEY}", headers=headers())
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize(
    ("locale", "phone", "shown"),
    [
        ("fr-CA", MONTREAL, f"vous rappellera au 514{NBSP}555-0177 le mardi"),
        ("en-CA", MONTREAL, "will call you at 514-555-0177 on Tuesday"),
        ("fr-CA", PARIS, f"vous rappellera au +33{NBSP}1{NBSP}23{NBSP}45{NBSP}67{NBSP}89 le"),
        ("en-CA", PARIS, f"will call you at +33{NBSP}1{NBSP}23{NBSP}45{NBSP}67{NBSP}89 on"),
        # written as the customer gave it, read as a number of the locale's country
        ("en-CA", "(514) 555-0177", "will call you at 514-555-0177 on Tuesday"),
        # a bare language formats for the configured territory (Canada)
        ("fr", "514.555.0177", f"vous rappellera au 514{NBSP}555-0177 le mardi"),
        ("fr-CA", "+1 212 555 0123", f"vous rappellera au +1{NBSP}212{NBSP}555-0123 le"),
        ("en-CA", "+1 514-555-0177 ext. 12", "at 514-555-0177, ext.\u00a012 on"),
        ("fr-CA", "+1-514-555-0177;ext=12", f"au 514{NBSP}555-0177, poste{NBSP}12 le"),
    ],
)
async def test_the_callback_confirmation_writes_the_number_as_people_do(
    app: Running, locale: str, phone: str, shown: str
) -> None:
    answer = await render(app, locale, phone)

    assert answer.status_code == 200, answer.text
    assert shown in answer.json()["body"]


async def test_both_languages_in_one_message_each_write_it_their_way(app: Running) -> None:
    answer = await render(app, "und", MONTREAL)

    assert answer.status_code == 200, answer.text
    body = answer.json()["body"]
    assert f"au 514{NBSP}555-0177 le" in body
    assert "at 514-555-0177 on" in body
    assert MONTREAL not in body


@pytest.mark.parametrize(
    "phone", ["+1 514-555-01", "call me", "+999 123 456", "", 15145550177, "1" * 300]
)
async def test_a_value_that_is_no_phone_number_is_refused_in_both_languages(
    app: Running, phone: object
) -> None:
    before = await read(app)

    english = await render(app, "en-CA", phone)
    french = await render(app, "fr-CA", phone, language="fr")

    assert english.status_code == french.status_code == 422
    assert english.headers["content-type"] == "application/problem+json"
    assert english.json()["code"] == french.json()["code"] == "template.variable_invalid"
    assert english.json()["errors"][0]["field"] == "variables.phone_number"
    assert english.json()["detail"] == (
        "Variable 'phone_number' must be a valid phone number, in international form "
        "(+1 514-555-0177) or of the locale's country."
    )
    assert french.json()["errors"][0]["field"] == "variables.phone_number"
    assert french.json()["detail"] == (
        f"La variable «{NNBSP}phone_number{NNBSP}» doit être un numéro de téléphone valide, au "
        f"format international (+1{NBSP}514{NBSP}555-0177) ou du pays des paramètres régionaux."
    )
    assert await read(app) == before


async def test_an_administrators_template_can_declare_a_phone(
    app: Running,
) -> None:
    token = await app.token(Role.SUPERVISOR)
    auth = {"Authorization": f"Bearer {token}"}
    versions = [
        {"locale": locale, "subject": "Ref", "body": body,
         "variables": [{"name": "line", "type": "phone"}]}
        for locale, body in (("en", "Call {line:phone}."), ("fr", "Appelez le {line}."))
    ]  # fmt: skip

    created = await app.client.post(
        BASE, json={"key": "support.line", "versions": versions}, headers=auth
    )
    rendered = await app.client.post(
        f"{BASE}/support.line/render",
        json={"locale": "fr-CA", "variables": {"line": "+1 800 555 0199"}},
        headers=headers(),
    )

    assert created.status_code == 201, created.text
    assert [types(v) for v in created.json()["versions"]] == [{"line": "phone"}] * 2
    assert rendered.json()["body"] == f"Appelez le 800{NBSP}555-0199."


async def as_the_last_release_left_it(app: Running, bodies: dict[str, str] | None = None) -> None:
    """Store the confirmation as a release before the phone type seeded it: the number declared
    as text, in a version created, last written and marked as offered at one moment."""
    async with session_scope(app.context("translation").require_sessions()) as session:
        for locale in ("en", "fr"):
            row = await session.scalar(
                select(Template).where(Template.key == KEY, Template.locale == locale)
            )
            marker = await session.get(TemplateSeed, (KEY, locale))
            assert row is not None
            assert marker is not None
            row.variables = AS_TEXT
            row.body = (bodies or {}).get(locale, row.body)
            row.created_at = row.updated_at = marker.seeded_at = EARLIER


async def test_a_callback_confirmation_seeded_with_a_text_number_gets_the_phone_type(
    db_url: str, tmp_path: Path
) -> None:
    async with running_all_in_one(db_url, tmp_path) as app:
        seeded = await read(app)
        await as_the_last_release_left_it(app, {"fr": FIRST_FRENCH_BODY})
        before = (await render(app, "fr-CA", MONTREAL)).json()["body"]

    async with running_all_in_one(db_url, tmp_path) as app:
        upgraded = await read(app)
        after = await render(app, "fr-CA", MONTREAL)
    async with running_all_in_one(db_url, tmp_path) as app:
        again = await read(app)

    assert f"au {MONTREAL} le" in before
    assert after.status_code == 200, after.text
    assert f"au 514{NBSP}555-0177 le" in after.json()["body"]
    for version, seed in zip(upgraded["versions"], seeded["versions"], strict=True):
        assert types(version)["phone_number"] == "phone"
        assert (version["subject"], version["body"]) == (seed["subject"], seed["body"])
        assert datetime.fromisoformat(version["updated_at"]) > EARLIER
    assert len({v["updated_at"] for v in upgraded["versions"]}) == 1
    assert upgraded["problems"] == []
    assert again == upgraded


async def test_an_edited_callback_confirmation_keeps_its_text_number_in_both_languages(
    db_url: str, tmp_path: Path
) -> None:
    async with running_all_in_one(db_url, tmp_path) as app:
        await as_the_last_release_left_it(app)
        stored = await read(app)
        french = stored["versions"][1]
        token = await app.token(Role.SUPERVISOR)
        edited = await app.client.patch(
            f"{BASE}/{KEY}",
            json={"versions": [{
                "locale": "fr", "subject": french["subject"],
                "body": french["body"].replace("Cordialement", "Merci"), "variables": AS_TEXT,
            }]},
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
        assert edited.status_code == 200, edited.text

    async with running_all_in_one(db_url, tmp_path) as app:
        kept = await read(app)
        english = await render(app, "en-CA", MONTREAL)

    assert kept == edited.json()
    assert [types(v)["phone_number"] for v in kept["versions"]] == ["text", "text"]
    assert f"at {MONTREAL} on" in english.json()["body"]
