"""The detection endpoints: the newly written language, hints when the text says too little."""

from __future__ import annotations

import uuid

import pytest

from services.translation.detection.router import INLINE_CHARS
from shared.auth import Role
from tests.support.apps import Running

REPLY_OVER_QUOTE = (
    "Bonjour, je n'ai toujours pas reçu le remboursement promis la semaine dernière.\n\n"
    "Le mar. 18 nov. 2026 à 10:12, Service <service@centre.example> a écrit :\n"
    "> Hello, thank you for your message. We have issued a refund to your card and you\n"
    "> should see it within five business days. Kind regards, Customer Service\n"
)


@pytest.fixture
async def agent(app: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(Role.AGENT, agent_id=uuid.uuid4())}"}


async def test_the_new_text_decides_not_the_quoted_history(
    app: Running, agent: dict[str, str]
) -> None:
    answer = await app.client.post(
        "/translation/v1/detect", json={"text": REPLY_OVER_QUOTE}, headers=agent
    )

    body = answer.json()
    assert answer.status_code == 200
    assert body["language"] == "fr"
    assert body["evidence"][0] == "text"
    assert body["scores"]["fr"] > body["scores"]["en"]
    assert 0.5 < body["confidence"] <= 1


async def test_long_texts_are_detected_as_short_ones_are(
    app: Running, agent: dict[str, str]
) -> None:
    # Over INLINE_CHARS: detected off the event loop, with the same answer as inline.
    french = "Je vous écris au sujet de ma facture du mois dernier, qui est trop élevée. " * 80
    english = "I am writing about last month's bill, which is far higher than it should be. " * 80
    items = [{"text": french}, {"text": "Merci"}, {"text": english}]

    one = await app.client.post("/translation/v1/detect", json={"text": french}, headers=agent)
    batch = await app.client.post(
        "/translation/v1/detect/batch", json={"items": items}, headers=agent
    )
    bad = await app.client.post(
        "/translation/v1/detect",
        json={"text": english, "hints": {"line_language": "xx"}},
        headers=agent,
    )

    assert len(french) > INLINE_CHARS
    assert one.status_code == 200
    assert one.json()["language"] == "fr"
    assert [item["language"] for item in batch.json()["items"]] == ["fr", "fr", "en"]
    assert batch.json()["items"][0] == one.json()
    assert bad.status_code == 422


async def test_a_short_text_falls_back_on_hints_and_nothing_is_und(
    app: Running, agent: dict[str, str]
) -> None:
    with_hint = await app.client.post(
        "/translation/v1/detect",
        json={"text": "OK", "hints": {"line_language": "fr"}},
        headers=agent,
    )
    without = await app.client.post("/translation/v1/detect", json={"text": "OK"}, headers=agent)
    numbers = await app.client.post(
        "/translation/v1/detect", json={"text": "#A-55310 2026-11-22"}, headers=agent
    )

    assert with_hint.json()["language"] == "fr"
    assert with_hint.json()["evidence"][0].startswith("hint:")
    assert without.json()["language"] == "und"
    assert numbers.json()["language"] == "und"


async def test_the_same_text_always_gets_the_same_answer(
    app: Running, agent: dict[str, str]
) -> None:
    texts = [{"text": t} for t in ("Merci pour votre aide", "Thanks for your help", "Facture")]

    first = await app.client.post(
        "/translation/v1/detect/batch", json={"items": texts}, headers=agent
    )
    second = await app.client.post(
        "/translation/v1/detect/batch", json={"items": texts}, headers=agent
    )

    assert first.status_code == 200
    assert first.json() == second.json()
    assert [item["language"] for item in first.json()["items"]][:2] == ["fr", "en"]


async def test_malformed_hints_are_a_localized_422(app: Running, agent: dict[str, str]) -> None:
    single = await app.client.post(
        "/translation/v1/detect",
        json={"text": "Bonjour", "hints": {"content_language": "not a tag!"}},
        headers={**agent, "Accept-Language": "fr"},
    )
    batch = await app.client.post(
        "/translation/v1/detect/batch",
        json={"items": [{"text": "a"}, {"text": "b", "hints": {"phone_region": "???"}}]},
        headers=agent,
    )
    empty = await app.client.post("/translation/v1/detect/batch", json={"items": []}, headers=agent)

    assert single.status_code == 422
    assert single.json()["title"] == "Demande invalide"
    assert single.json()["errors"] == [
        {
            "field": "hints.content_language",
            "code": "value_error",
            "reason": "Doit être une balise de langue, p.\u00a0ex. fr-CA.",
        }
    ]
    assert batch.status_code == 422
    assert batch.json()["errors"] == [
        {
            "field": "items.1.hints.phone_region",
            "code": "value_error",
            "reason": "Must be a region code such as CA-QC or FR.",
        }
    ]
    assert empty.status_code == 422


async def test_detection_needs_a_token_and_a_reading_role(app: Running) -> None:
    anonymous = await app.client.post("/translation/v1/detect", json={"text": "Bonjour"})
    gateway = await app.client.post(
        "/translation/v1/detect",
        json={"text": "Bonjour"},
        headers={"Authorization": f"Bearer {await app.token(Role.GATEWAY)}"},
    )

    assert anonymous.status_code == 401
    assert gateway.status_code == 403
