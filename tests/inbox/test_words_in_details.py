"""Channels, languages, roles and service names read as words in each language's details,
while the machine-readable fields keep their codes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shared.auth import Role
from shared.clients.translation import TranslationClient
from tests.inbox.test_outbound import start_conversation
from tests.inbox.test_quarantine import junk, post
from tests.inbox.test_quarantine_release import release
from tests.support.apps import Running, running_all_in_one
from tests.support.processes import free_port

NNBSP = "\u202f"
FRENCH_LINE = "+15145550100"


def bearer(token: str, language: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Language": language}


async def both(app: Running, method: str, url: str, token: str, **kwargs: Any) -> list[Any]:
    """The same request in English, then in French."""
    return [
        await app.client.request(method, url, headers=bearer(token, language), **kwargs)
        for language in ("en", "fr")
    ]


async def test_a_reply_in_the_other_language_names_both_languages(app: Running) -> None:
    receipt = await start_conversation(app)  # a French email
    supervisor = await app.token(Role.SUPERVISOR)
    url = f"/inbox/v1/conversations/{receipt['conversation_id']}"

    answers = await both(
        app, "POST", f"{url}/replies", supervisor, json={"text": "Hello.", "language": "en"}
    )

    assert [a.status_code for a in answers] == [409, 409]
    assert {a.json()["code"] for a in answers} == {"reply.language_confirmation_required"}
    assert [a.json()["detail"] for a in answers] == [
        "The reply is in English, but the customer writes in French; send it again with "
        "confirm_language: true if this is intended.",
        f"La réponse est en anglais, mais le client écrit en français{NNBSP}; renvoyez-la avec "
        "confirm_language: true si c’est voulu.",
    ]
    conversation = await app.client.get(url, headers=bearer(supervisor, "fr"))
    assert conversation.json()["language"] == "fr"


@pytest.fixture
async def phone_app(db_url: str, tmp_path: Path) -> AsyncIterator[Running]:
    lines = {FRENCH_LINE: {"language": "fr"}}
    async with running_all_in_one(db_url, tmp_path, phone_lines=lines) as running:
        yield running


async def test_an_email_reply_to_a_call_names_the_channel(phone_app: Running) -> None:
    gateway = await phone_app.token(Role.GATEWAY, name="cti")
    call = {"call_id": "call-1", "from": "+15145550123", "to": FRENCH_LINE, "event": "ringing"}
    rang = await phone_app.client.post(
        "/inbox/v1/inbound/calls", json=call, headers=bearer(gateway, "en")
    )
    assert rang.status_code == 200, rang.text
    conversation_id = rang.json()["conversation_id"]
    supervisor = await phone_app.token(Role.SUPERVISOR)

    answers = await both(
        phone_app,
        "POST",
        f"/inbox/v1/conversations/{conversation_id}/replies",
        supervisor,
        json={"text": "Bonjour."},
    )

    assert {a.json()["code"] for a in answers} == {"reply.not_email"}
    assert [a.json()["detail"] for a in answers] == [
        "Replies by email need an email conversation, not a phone conversation.",
        "Une réponse par courriel exige une conversation par courriel, pas une conversation "
        "par téléphone.",
    ]
    conversation = await phone_app.client.get(
        f"/inbox/v1/conversations/{conversation_id}", headers=bearer(supervisor, "fr")
    )
    assert conversation.json()["channel"] == "phone"


async def test_a_refused_role_is_named_in_words(app: Running) -> None:
    supervisor = await app.token(Role.SUPERVISOR)

    tokens = await both(app, "GET", "/inbox/v1/tokens", supervisor)
    calls = await both(app, "POST", "/inbox/v1/inbound/calls", supervisor, json={})

    for answers in (tokens, calls):
        assert [a.status_code for a in answers] == [403, 403]
        assert {a.json()["code"] for a in answers} == {"auth.forbidden"}
        assert [a.json()["detail"] for a in answers] == [
            "Your role (supervisor) may not do this.",
            "Votre rôle (superviseur) ne permet pas cette action.",
        ]


async def test_an_unreachable_service_is_named_in_words(app: Running) -> None:
    receipt = await start_conversation(app)
    supervisor = await app.token(Role.SUPERVISOR)
    extras = app.context("inbox").extras
    working = extras["translation"]
    # A real client to a loopback port nobody listens on: the service is down.
    down = TranslationClient(base_url=f"http://127.0.0.1:{free_port()}", token="x", timeout=2)
    extras["translation"] = down
    try:
        answers = await both(
            app,
            "POST",
            f"/inbox/v1/conversations/{receipt['conversation_id']}/replies",
            supervisor,
            json={"template_key": "conversation.closing"},
        )
    finally:
        extras["translation"] = working
        await down.aclose()

    assert [a.status_code for a in answers] == [503, 503]
    assert {a.json()["code"] for a in answers} == {"peer.unavailable"}
    retry = answers[0].headers["Retry-After"]
    assert [a.json()["detail"] for a in answers] == [
        f"The translation service cannot be reached; retry in {retry} seconds.",
        f"Le service de traduction est injoignable{NNBSP}; réessayez dans {retry}\u00a0secondes.",
    ]


async def test_an_unreadable_email_says_why_in_each_language(app: Running) -> None:
    receipt = await post(app, junk(7))

    answers = [
        await release(app, receipt["message_id"], language=language) for language in ("en", "fr")
    ]

    assert {a.json()["code"] for a in answers} == {"quarantine.still_unparseable"}
    assert [a.json()["detail"] for a in answers] == [
        "The email still cannot be read (it does not start with a header field); nothing was "
        "changed. Send a repaired copy as message/rfc822.",
        "Le courriel ne peut toujours pas être lu (il ne commence pas par un champ d’en-tête)"
        f"{NNBSP}; rien n’a été modifié. Envoyez une copie réparée en message/rfc822.",
    ]
