"""Gateways may sign the raw body instead of sending a token; wrong or stale is refused."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.auth import SignatureCheck, check_signature, sign_body
from tests.support.apps import Running, running_all_in_one

SECRET = "whsec-postfix-7f3a"


@pytest.fixture
async def signed_app(db_url: str, tmp_path: Path) -> AsyncIterator[Running]:
    async with running_all_in_one(
        db_url, tmp_path, gateway_secrets={"postfix": SECRET, "sendgrid": "whsec-other"}
    ) as running:
        yield running


async def test_a_correct_signature_identifies_the_gateway(signed_app: Running) -> None:
    body = b'{"hello": "bonjour"}'

    answer = await signed_app.client.post(
        "/inbox/v1/auth/whoami", content=body, headers={"X-Signature": sign_body(SECRET, body)}
    )

    assert answer.status_code == 200
    assert answer.json()["role"] == "gateway"
    assert answer.json()["name"] == "postfix"


@pytest.mark.parametrize(
    ("secret", "age", "tamper", "english", "french"),
    [
        (
            "wrong-secret",
            0,
            False,
            "matches this body with no gateway's secret",
            "ne correspond à ce corps avec le secret d’aucune passerelle",
        ),
        (
            SECRET,
            400,
            False,
            # The clock moves between signing and checking: 399 to 401 seconds.
            "is (399|400|401) seconds away from this server's clock, more than the 300 seconds "
            "allowed: check the gateway's clock",
            "s’écarte de (399|400|401)\u00a0secondes de l’horloge de ce serveur, au-delà des "
            "300\u00a0secondes admises\u202f: vérifiez l’horloge de la passerelle.",
        ),
        (SECRET, -400, False, "is (399|400|401) seconds away", "s’écarte de (399|400|401)\u00a0s"),
        (
            SECRET,
            0,
            True,
            "matches this body with no gateway's secret",
            "ne correspond à ce corps",
        ),
    ],
    ids=["wrong-secret", "stale", "future", "tampered-body"],
)
async def test_a_wrong_or_stale_signature_is_401_saying_which(
    signed_app: Running, secret: str, age: int, tamper: bool, english: str, french: str
) -> None:
    body = b'{"hello": "bonjour"}'
    header = sign_body(secret, body, timestamp=int(time.time()) - age)
    sent = body + b" " if tamper else body

    answers = {
        language: await signed_app.client.post(
            "/inbox/v1/auth/whoami",
            content=sent,
            headers={"X-Signature": header, "Accept-Language": language},
        )
        for language in ("en", "fr")
    }

    assert {answer.status_code for answer in answers.values()} == {401}
    assert {answer.json()["code"] for answer in answers.values()} == {"auth.bad_signature"}
    assert answers["fr"].json()["title"] == "Signature invalide"
    assert re.search(english, answers["en"].json()["detail"])
    assert re.search(french, answers["fr"].json()["detail"])


async def test_a_malformed_signature_header_is_401_naming_the_form(signed_app: Running) -> None:
    answer = await signed_app.client.post(
        "/inbox/v1/auth/whoami", content=b"{}", headers={"X-Signature": "sha256=00ff"}
    )

    assert answer.status_code == 401
    assert answer.json()["code"] == "auth.bad_signature"
    assert "t=<unix seconds>,v1=<hex HMAC-SHA256>" in answer.json()["detail"]


def test_malformed_signature_headers_verify_to_nothing() -> None:
    secrets = {"postfix": SECRET}
    for header in ("", "garbage", "t=abc,v1=00", "v1=00", f"t={int(time.time())}"):
        assert check_signature(header, b"x", secrets) == SignatureCheck(None, "malformed")


def test_signature_within_five_minutes_is_accepted() -> None:
    now = 1_800_000_000
    header = sign_body(SECRET, b"body", timestamp=now - 299)

    assert check_signature(header, b"body", {"postfix": SECRET}, now=now).gateway == "postfix"
