"""The seeded templates as customers read them, rendered over HTTP in English and French."""

from __future__ import annotations

import re
from typing import Any

import pytest

from services.translation.templates.seed import SEED_EXAMPLES, SEED_TEMPLATES
from tests.support.apps import SERVICE_TOKEN, Running

BASE = "/translation/v1/templates"
SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
NNBSP = "\u202f"
NBSP = "\u00a0"
SEED_KEYS = sorted({template.key for template in SEED_TEMPLATES})
LOCALES = ("en", "fr", "en-CA", "fr-CA")


async def render(app: Running, key: str, locale: str, **variables: Any) -> str:
    """The body of the seeded ``key`` for ``locale``, with its examples and ``variables``."""
    body = {"locale": locale, "variables": {**SEED_EXAMPLES[key][locale[:2]], **variables}}
    answer = await app.client.post(f"{BASE}/{key}/render", json=body, headers=SERVICE)
    assert answer.status_code == 200, answer.text
    text: str = answer.json()["body"]
    return text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("key", SEED_KEYS)
async def test_every_seed_is_signed_by_the_department_without_an_article(
    app: Running, key: str, locale: str
) -> None:
    text = await render(app, key, locale)

    signature = "Service à la clientèle" if locale.startswith("fr") else "Customer Service"
    assert text.endswith(f"\n{signature}")
    assert "Le Service" not in text
    assert "The Customer" not in text
    assert re.search("[{}]", text) is None


@pytest.mark.parametrize("locale", LOCALES)
async def test_the_out_of_hours_notice_names_no_queue(app: Running, locale: str) -> None:
    text = await render(
        app, "notice.out_of_hours", locale, queue_name="Courriel — français (niveau 2)"
    )

    assert "Courriel" not in text
    assert "niveau 2" not in text
    if locale.startswith("fr"):
        assert (
            "Merci de nous avoir écrit. Votre message nous est parvenu en dehors de nos heures "
            "d’ouverture.\n" in text
        )
    else:
        assert (
            "Thank you for contacting us. Your message reached us outside our business hours.\n"
            in text
        )


async def test_the_notice_reads_well_with_the_hours_and_the_reopening(app: Running) -> None:
    french = await render(app, "notice.out_of_hours", "fr-CA")
    english = await render(app, "notice.out_of_hours", "en-CA")

    assert (
        f"Nos heures d’ouverture sont les suivantes{NNBSP}: du lundi au vendredi, de 8{NBSP}h à "
        f"23{NBSP}h{NNBSP}; le samedi et le dimanche, de 9{NBSP}h à 17{NBSP}h (heure de l’Est). "
        f"Nous rouvrons le lundi 3 mars 2025 à 8{NBSP}h.\n" in french
    )
    assert (
        f"Our business hours are: Monday to Friday, 8{NNBSP}a.m. to 11{NNBSP}p.m.; Saturday and "
        f"Sunday, 9{NNBSP}a.m. to 5{NNBSP}p.m. (Eastern Time). We reopen at 8{NNBSP}a.m. on "
        "Monday, March 3, 2025.\n" in english
    )


@pytest.mark.parametrize(
    ("locale", "greeting"), [("en", "Hello,\n"), ("en-CA", "Hello,\n"), ("fr", "Bonjour,\n")]
)
async def test_a_customer_without_a_name_is_greeted_without_one(
    app: Running, locale: str, greeting: str
) -> None:
    for key in ("email.acknowledgement", "callback.confirmation", "conversation.closing"):
        text = await render(app, key, locale, customer_name="")

        assert text.startswith(greeting), key


async def test_a_named_customer_is_greeted_by_name(app: Running) -> None:
    assert (await render(app, "email.acknowledgement", "fr")).startswith(
        "Bonjour Marie-Ève Tremblay,\n"
    )


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fr-CA", f"le mardi 4 mars 2025 à 9{NBSP}h{NBSP}30 (heure de l’Est)."),
        ("fr", f"le mardi 4 mars 2025 à 9{NBSP}h{NBSP}30 (heure de l’Est)."),
        ("en-CA", f"on Tuesday, March 4, 2025, at 9:30{NNBSP}a.m. (Eastern Time)."),
    ],
)
async def test_a_callback_time_is_given_in_the_default_zone_with_at(
    app: Running, locale: str, expected: str
) -> None:
    # the request names no zone: the configured default (the seeded queues' zone) applies
    text = await render(app, "callback.confirmation", locale)

    assert expected in text
    assert "UTC" not in text
    assert "-0500" not in text
    assert "HNE" not in text


async def test_a_callback_names_the_zone_the_request_asks_for(app: Running) -> None:
    body = {
        "locale": "fr-CA",
        "variables": SEED_EXAMPLES["callback.confirmation"]["fr"],
        "time_zone": "America/Vancouver",
    }

    answer = await app.client.post(
        f"{BASE}/callback.confirmation/render", json=body, headers=SERVICE
    )

    assert f"le mardi 4 mars 2025 à 6{NBSP}h{NBSP}30 (heure du Pacifique)." in answer.json()["body"]


@pytest.mark.parametrize(
    ("locale", "lines"),
    [
        (
            "en-CA",
            "you made with Sophie Gagnon on March 4, 2025, for account 4417-2290.\n\n"
            "Balance covered by this arrangement: $1,234.56\n"
            "Number of payments: 1\n"
            "Amount of each payment: $1,234.56\n",
        ),
        (
            "fr-CA",
            "La présente confirme l’entente de paiement que vous avez conclue avec Sophie Gagnon "
            "le 4 mars 2025 pour le compte 4417-2290.\n\n"
            f"Solde visé par l’entente{NNBSP}: 1{NBSP}234,56{NBSP}$\n"
            f"Nombre de versements{NNBSP}: 1\n"
            f"Montant de chaque versement{NNBSP}: 1{NBSP}234,56{NBSP}$\n",
        ),
    ],
)
async def test_a_single_payment_reads_in_the_singular(
    app: Running, locale: str, lines: str
) -> None:
    one = {"installment_count": 1, "installment_amount": "1234.56"}

    text = await render(app, "letter.payment_arrangement", locale, **one)

    assert lines in text
    assert "1 instalments" not in text
    assert "1 versements" not in text


async def test_the_french_seeds_are_neutral_for_europe_and_canada(app: Running) -> None:
    acknowledgement = await render(app, "email.acknowledgement", "fr")
    callback = await render(app, "callback.confirmation", "fr")
    closing = await render(app, "conversation.closing", "fr")

    assert "Merci de nous avoir écrit." in acknowledgement
    assert "Il est inutile de répondre à ce message." in acknowledgement
    assert "l’un de nos agents vous rappellera" in callback
    assert "Merci de nous avoir écrit." in closing
    for text in (acknowledgement, callback, closing):
        assert "communiqué avec nous" not in text
        assert "Vous n’avez pas à" not in text


async def test_the_stored_french_texts_admins_read_are_typeset(app: Running) -> None:
    answer = await app.client.get(f"{BASE}/notice.out_of_hours", headers=SERVICE)

    [french] = [v for v in answer.json()["versions"] if v["locale"] == "fr"]
    assert f"Nos heures d’ouverture sont les suivantes{NNBSP}: {{hours}}." in french["body"]
    assert f"réouverture{NNBSP}; il est inutile" in french["body"]
    assert "'" not in french["body"] + french["subject"]
    # the inbox still passes queue_name: the notice keeps declaring it though it no longer shows it
    assert {v["name"] for v in french["variables"]} == {"queue_name", "hours"}
