"""A time the clocks show twice (the hour repeated when they go back in the autumn) is written
with the zone's specific name, standard or daylight, so that the customer can tell which one is
meant; every other time keeps the generic name (« heure de l’Est », "Eastern Time")."""

from __future__ import annotations

import pytest

from tests.support.apps import SERVICE_TOKEN, Running

NNBSP = "\u202f"


async def clock(app: Running, locale: str, instant: str) -> str:
    """The callback confirmation's body as rendered for a call at ``instant``, in Toronto."""
    answer = await app.client.post(
        "/translation/v1/templates/callback.confirmation/render",
        json={
            "locale": locale,
            "variables": {
                "customer_name": "Marie",
                "reference": "C-7K3M9QXA",
                "callback_at": instant,
                "phone_number": "+15145550177",
            },
            "time_zone": "America/Toronto",
        },
        headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
    )
    assert answer.status_code == 200, answer.text
    body: str = answer.json()["body"]
    return body


@pytest.mark.parametrize(
    ("locale", "first", "second"),
    [
        ("fr-CA", "1 h 30 (heure avancée de l’Est)", "1 h 30 (heure normale de l’Est)"),
        ("en-CA", "1:30 a.m. (Eastern Daylight Time)", "1:30 a.m. (Eastern Standard Time)"),
    ],
)
async def test_the_repeated_hour_names_which_time_it_is(
    app: Running, locale: str, first: str, second: str
) -> None:
    before = await clock(app, locale, "2026-11-01T05:30:00Z")
    after = await clock(app, locale, "2026-11-01T06:30:00Z")

    assert first in before.replace("\u00a0", " ").replace(NNBSP, " ")
    assert second in after.replace("\u00a0", " ").replace(NNBSP, " ")


@pytest.mark.parametrize(
    ("locale", "text"), [("fr-CA", "(heure de l’Est)"), ("en-CA", "(Eastern Time)")]
)
async def test_any_other_time_keeps_the_generic_name(app: Running, locale: str, text: str) -> None:
    body = await clock(app, locale, "2026-11-01T08:30:00Z")

    assert text in body
    assert "normale" not in body
    assert "Standard" not in body
