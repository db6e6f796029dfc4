"""Gateways may sign the raw body instead of sending a token; wrong or stale is refused."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.auth import sign_body, verify_signature
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
    ("secret", "age", "tamper"),
    [
        ("wrong-secret", 0, False),
        (SECRET, 400, False),
        (SECRET, -400, False),
        (SECRET, 0, True),
    ],
    ids=["wrong-secret", "stale", "future", "tampered-body"],
)
async def test_a_wrong_or_stale_signature_is_401(
    signed_app: Running, secret: str, age: int, tamper: bool
) -> None:
    body = b'{"hello": "bonjour"}'
    header = sign_body(secret, body, timestamp=int(time.time()) - age)
    sent = body + b" " if tamper else body

    answer = await signed_app.client.post(
        "/inbox/v1/auth/whoami",
        content=sent,
        headers={"X-Signature": header, "Accept-Language": "fr"},
    )

    assert answer.status_code == 401
    assert answer.json()["code"] == "auth.bad_signature"
    assert answer.json()["title"] == "Signature invalide"


def test_malformed_signature_headers_verify_to_nothing() -> None:
    secrets = {"postfix": SECRET}
    for header in ("", "garbage", "t=abc,v1=00", "v1=00", f"t={int(time.time())}"):
        assert verify_signature(header, b"x", secrets) is None


def test_signature_within_five_minutes_is_accepted() -> None:
    now = 1_800_000_000
    header = sign_body(SECRET, b"body", timestamp=now - 299)

    assert verify_signature(header, b"body", {"postfix": SECRET}, now=now) == "postfix"
