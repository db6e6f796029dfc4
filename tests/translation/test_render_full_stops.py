"""A value ending with a full stop ("9 a.m.", « etc. ») before the template's own full stop reads
with one, not two; ellipses, in the template or in a value, stay as written. Over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from shared.auth import Role
from tests.support.apps import SERVICE_TOKEN, Running

BASE = "/translation/v1/templates"
SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
NBSP = "\u00a0"
NNBSP = "\u202f"


async def render(app: Running, key: str, locale: str, variables: dict[str, Any]) -> Any:
    answer = await app.client.post(
        f"{BASE}/{key}/render",
        json={"locale": locale, "variables": variables, "time_zone": "America/Toronto"},
        headers={**SERVICE, "Accept-Language": locale},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def create(app: Running, key: str, subject: str, body: str) -> None:
    token = await app.token(Role.SUPERVISOR)
    variables = [{"name": "at", "type": "time"}, {"name": "note"}]
    versions = [
        {"locale": locale, "subject": subject, "body": body, "variables": variables}
        for locale in ("en", "fr")
    ]
    created = await app.client.post(
        BASE,
        json={"key": key, "versions": versions},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201, created.text


@pytest.mark.parametrize(
    ("locale", "hours", "sentence"),
    [
        (
            "en-CA",
            "Monday to Friday, 9 a.m. to 5 p.m.",
            "Our business hours are: Monday to Friday, 9 a.m. to 5 p.m.\n\n",
        ),
        (
            "fr-CA",
            "du lundi au vendredi, de 9 h à 17 h, sauf les jours fériés, etc.",
            f"Nos heures d’ouverture sont les suivantes{NNBSP}: du lundi au vendredi, "
            "de 9 h à 17 h, sauf les jours fériés, etc.\n\n",
        ),
    ],
)
async def test_the_seeded_notice_ends_hours_ending_with_a_full_stop_with_one(
    app: Running, locale: str, hours: str, sentence: str
) -> None:
    rendered = await render(
        app, "notice.out_of_hours", locale, {"queue_name": "Email", "hours": hours}
    )

    assert sentence in rendered["body"]
    assert ".." not in rendered["body"]


async def test_a_time_at_the_end_of_a_sentence_has_one_full_stop(app: Running) -> None:
    await create(app, "test.at", "See you at {at}.", "At {at}. {note}.")

    english = await render(app, "test.at", "en-CA", {"at": "09:00", "note": "Bring the form"})
    french = await render(
        app, "test.at", "fr-CA", {"at": "09:00", "note": "Apportez le formulaire"}
    )
    both = await render(app, "test.at", "und", {"at": "17:30", "note": "Etc."})

    assert (english["subject"], english["body"]) == (
        f"See you at 9{NNBSP}a.m.",
        f"At 9{NNBSP}a.m. Bring the form.",
    )
    assert (french["subject"], french["body"]) == (
        f"See you at 9{NBSP}h.",
        f"At 9{NBSP}h. Apportez le formulaire.",
    )
    assert f"At 5:30{NNBSP}p.m. Etc." in both["body"]
    assert f"At 17{NBSP}h{NBSP}30. Etc." in both["body"]
    assert f"See you at 5:30{NNBSP}p.m." in both["subject"]
    assert ".." not in both["body"] + both["subject"]


async def test_ellipses_stay_as_written(app: Running) -> None:
    await create(app, "test.ellipsis", "Later...", "At {at}... {note}.")

    english = await render(app, "test.ellipsis", "en-CA", {"at": "09:00", "note": "Wait..."})
    french = await render(app, "test.ellipsis", "fr-CA", {"at": "09:00", "note": "etc..."})

    # the template's "..." after a time, and a value's own "..." before a full stop, unchanged
    assert english["body"] == f"At 9{NNBSP}a.m.... Wait...."
    assert french["body"] == f"At 9{NBSP}h... etc...."
    assert english["subject"] == "Later..."
