"""Numbers, amounts and durations too large to be real are refused with a clear 422, in English
and French, instead of crashing Babel's formatting."""

from __future__ import annotations

from typing import Any

import pytest

from shared.auth import Role
from tests.support.apps import SERVICE_TOKEN, Running

BASE = "/translation/v1/templates"
NNBSP = "\u202f"
NBSP = "\u00a0"
HUGE_INTEGER = int("9" * 400)
BODY = "{n:number} / {m:money} / {du:duration}"
VARIABLES = [
    {"name": "n", "type": "number"},
    {"name": "m", "type": "money"},
    {"name": "du", "type": "duration"},
]
FINE = {"n": 1, "m": 1, "du": 1}
MILLION_BILLION_EN = "1,000,000,000,000,000"
MILLION_BILLION_FR = NNBSP.join(["1", *["000"] * 5])


def headers(language: str = "en") -> dict[str, str]:
    return {"Authorization": f"Bearer {SERVICE_TOKEN}", "Accept-Language": language}


async def create_figures(app: Running) -> None:
    token = await app.token(Role.SUPERVISOR)
    versions = [
        {"locale": locale, "subject": "Figures", "body": BODY, "variables": VARIABLES}
        for locale in ("en", "fr")
    ]
    created = await app.client.post(
        BASE,
        json={"key": "big.figures", "versions": versions},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201, created.text


async def render(app: Running, variables: dict[str, Any], language: str = "en") -> Any:
    return await app.client.post(
        f"{BASE}/big.figures/render",
        json={"locale": "fr-CA" if language == "fr" else "en-CA", "variables": variables},
        headers=headers(language),
    )


@pytest.mark.parametrize(
    ("variables", "name", "english"),
    [
        (
            {**FINE, "n": 1e308},
            "n",
            "Variable 'n' is out of range: a number must be between "
            f"-{MILLION_BILLION_EN} and {MILLION_BILLION_EN}.",
        ),
        (
            {**FINE, "n": HUGE_INTEGER},
            "n",
            "Variable 'n' is out of range: a number must be between "
            f"-{MILLION_BILLION_EN} and {MILLION_BILLION_EN}.",
        ),
        (
            {**FINE, "m": -1e308},
            "m",
            "Variable 'm' is out of range: an amount must be between "
            f"-{MILLION_BILLION_EN} and {MILLION_BILLION_EN}.",
        ),
        (
            {**FINE, "m": {"amount": str(HUGE_INTEGER), "currency": "EUR"}},
            "m",
            "Variable 'm' is out of range: an amount must be between "
            f"-{MILLION_BILLION_EN} and {MILLION_BILLION_EN}.",
        ),
        (
            {**FINE, "du": 1e308},
            "du",
            f"Variable 'du' is out of range: a duration must be at most {MILLION_BILLION_EN} "
            "seconds.",
        ),
    ],
)
async def test_a_figure_too_large_to_be_real_is_a_422_naming_the_bound(
    app: Running, variables: dict[str, Any], name: str, english: str
) -> None:
    await create_figures(app)

    answer = await render(app, variables)

    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["code"] == "template.variable_invalid"
    assert [(e["field"], e["code"], e["reason"]) for e in problem["errors"]] == [
        (f"variables.{name}", "template.variable_invalid", english)
    ]
    assert problem["detail"] == english
    assert problem["limit"] == 10**15  # the bound as a number, for callers to word it


async def test_the_bound_reads_in_french_and_a_figure_at_the_bound_still_renders(
    app: Running,
) -> None:
    await create_figures(app)

    refused = await render(app, {**FINE, "du": 10**15 + 1}, language="fr")
    at_bound = await render(app, {"n": 10**15, "m": -(10**15), "du": 10**15}, language="fr")

    assert refused.status_code == 422
    assert [e["reason"] for e in refused.json()["errors"]] == [
        f"La variable «{NNBSP}du{NNBSP}» est hors limites{NNBSP}: une durée ne peut dépasser "
        f"{MILLION_BILLION_FR}{NBSP}secondes."
    ]
    assert at_bound.status_code == 200, at_bound.text
    fr_ca = NBSP.join(["1", *["000"] * 5])  # Canadian French groups digits with U+00A0
    assert at_bound.json()["body"] == (
        f"{fr_ca} / -{fr_ca},00{NBSP}$ / 11{NBSP}574{NBSP}074{NBSP}074{NBSP}jours, 1{NBSP}heure, "
        f"46{NBSP}minutes et 40{NBSP}secondes"
    )
