"""Times inside rendered templates read like the weekly hours of the out-of-hours notice:
« 9 h », « 9 h 30 », « 12 h » and "9 a.m.", "9:30 a.m.", "noon", "midnight", over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from shared.auth import Role
from tests.support.apps import SERVICE_TOKEN, Running

BASE = "/translation/v1/templates"
NBSP = "\u00a0"
NNBSP = "\u202f"
VARIABLES = [{"name": "at", "type": "time"}, {"name": "when", "type": "datetime"}]


async def create_times(app: Running) -> None:
    token = await app.token(Role.SUPERVISOR)
    versions = [
        {
            "locale": locale,
            "subject": "Times",
            "body": "{at} | {when:datetime:full}",
            "variables": VARIABLES,
        }
        for locale in ("en", "fr")
    ]
    created = await app.client.post(
        BASE,
        json={"key": "test.times", "versions": versions},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201, created.text


async def render(app: Running, locale: str, at: str, when: str) -> Any:
    answer = await app.client.post(
        f"{BASE}/test.times/render",
        json={
            "locale": locale,
            "variables": {"at": at, "when": when},
            "time_zone": "America/Toronto",
        },
        headers={"Authorization": f"Bearer {SERVICE_TOKEN}", "Accept-Language": locale},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["body"]


@pytest.mark.parametrize(
    ("at", "when", "english", "french"),
    [
        (
            "09:00",
            "2025-03-04T14:00:00+00:00",
            f"9{NNBSP}a.m. | Tuesday, March 4, 2025, at 9{NNBSP}a.m. (Eastern Time)",
            f"9{NBSP}h | mardi 4 mars 2025 à 9{NBSP}h (heure de l’Est)",
        ),
        (
            "09:30",
            "2025-03-04T14:30:00+00:00",
            f"9:30{NNBSP}a.m. | Tuesday, March 4, 2025, at 9:30{NNBSP}a.m. (Eastern Time)",
            f"9{NBSP}h{NBSP}30 | mardi 4 mars 2025 à 9{NBSP}h{NBSP}30 (heure de l’Est)",
        ),
        (
            "12:00",
            "2025-03-04T17:00:00+00:00",
            "noon | Tuesday, March 4, 2025, at noon (Eastern Time)",
            f"12{NBSP}h | mardi 4 mars 2025 à 12{NBSP}h (heure de l’Est)",
        ),
        (
            "00:00",
            "2025-03-05T05:00:00+00:00",
            "midnight | Wednesday, March 5, 2025, at midnight (Eastern Time)",
            f"0{NBSP}h | mercredi 5 mars 2025 à 0{NBSP}h (heure de l’Est)",
        ),
        (
            "17:05",
            "2025-07-01T21:05:00+00:00",
            f"5:05{NNBSP}p.m. | Tuesday, July 1, 2025, at 5:05{NNBSP}p.m. (Eastern Time)",
            f"17{NBSP}h{NBSP}05 | mardi 1er juillet 2025 à 17{NBSP}h{NBSP}05 (heure de l’Est)",
        ),
    ],
)
async def test_times_read_like_the_business_hours_in_both_languages(
    app: Running, at: str, when: str, english: str, french: str
) -> None:
    await create_times(app)

    # a bare language formats for the configured territory (Canada), as a regional tag does
    for locale in ("en", "en-CA"):
        assert await render(app, locale, at, when) == english
    for locale in ("fr", "fr-CA"):
        assert await render(app, locale, at, when) == french


async def test_a_24_hour_locale_keeps_babels_own_format(app: Running) -> None:
    await create_times(app)

    body = await render(app, "fr-FR", "09:00", "2025-03-04T17:00:00+00:00")

    assert body == "09:00 | mardi 4 mars 2025 à 12:00 (heure de l’Est nord-américain)"
