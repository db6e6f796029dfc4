"""A caller the route refuses is told so (401, 403) before anything about its request's shape:
a body that cannot be decoded or a NUL character no longer answers 400 or 422 without a token.
With valid credentials the shape's refusal is unchanged, and a refused request changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shared.auth import Role, sign_body
from tests.support.apps import Running, running_all_in_one

SECRET = "whsec-postfix-7f3a"
QUEUE = {"name": "Courriel — VIP", "language": "fr", "channels": ["email"]}
#: Bodies refused for their shape before the route's dependencies run.
MALFORMED = b"\xff"
WITH_NUL = b'{"name": "VIP\\u0000"}'
JSON = {"Content-Type": "application/json"}


def operations(spec: dict[str, Any], *, status: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
        if status in operation.get("responses", {})
    ]


def takes_json(operation: dict[str, Any]) -> bool:
    return "application/json" in operation.get("requestBody", {}).get("content", {})


async def test_without_a_token_every_protected_operation_answers_401_before_the_body(
    app: Running,
) -> None:
    spec: dict[str, Any] = (await app.client.get("/openapi.json")).json()
    # The metrics' token is a setting (none here): they are open, as the README says.
    protected = [
        operation for operation in operations(spec, status="401") if operation[1] != "/metrics"
    ]

    answered: dict[str, tuple[int, str]] = {}
    for method, path, operation in protected:
        url = path.replace("{", "").replace("}", "")
        label = f"{method.upper()} {path}"
        if takes_json(operation):
            for name, body in (("malformed", MALFORMED), ("NUL", WITH_NUL)):
                answer = await app.client.request(method, url, content=body, headers=JSON)
                answered[f"{label} ({name} body)"] = (answer.status_code, answer.json()["code"])
        answer = await app.client.request(method, f"{url}?note=%00")
        answered[f"{label} (NUL in the query)"] = (answer.status_code, answer.json()["code"])

    assert len(protected) > 60
    assert sum("body)" in label for label in answered) > 40
    assert {
        label: found for label, found in answered.items() if found != (401, "auth.unauthenticated")
    } == {}


async def test_a_revoked_or_unknown_token_is_told_so_before_its_malformed_body(
    app: Running,
) -> None:
    answer = await app.client.post(
        "/routing/v1/queues",
        content=MALFORMED,
        headers={**JSON, "Authorization": "Bearer not-a-token", "Accept-Language": "fr"},
    )

    assert answer.status_code == 401
    assert answer.json()["code"] == "auth.invalid_token"
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/routing/v1/queues", "/translation/v1/templates"])
async def test_a_token_longer_than_any_is_unknown_on_every_service(app: Running, path: str) -> None:
    """Routing and translation ask the inbox about a token: one longer than any token is not
    valid (it was a 500 there, and with a malformed body a 422 naming fields)."""
    long_token = {"Authorization": f"Bearer {'x' * 300}"}

    read = await app.client.get(path, headers=long_token)
    posted = await app.client.post(path, content=WITH_NUL, headers={**long_token, **JSON})

    assert (read.status_code, read.json()["code"]) == (401, "auth.invalid_token")
    assert (posted.status_code, posted.json()["code"]) == (401, "auth.invalid_token")
    assert "errors" not in posted.json()


async def test_a_role_the_route_refuses_gets_403_and_an_admitted_one_the_shape_refusal(
    app: Running,
) -> None:
    gateway = {"Authorization": f"Bearer {await app.token(Role.GATEWAY)}", **JSON}
    admin = {"Authorization": f"Bearer {await app.token(Role.ADMIN)}", **JSON}
    queues_before = (await app.client.get("/routing/v1/queues", headers=admin)).json()

    refused = [
        await app.client.post("/routing/v1/queues", content=body, headers=gateway)
        for body in (MALFORMED, WITH_NUL)
    ]
    admitted = [
        await app.client.post("/routing/v1/queues", content=body, headers=admin)
        for body in (MALFORMED, WITH_NUL)
    ]

    assert [(answer.status_code, answer.json()["code"]) for answer in refused] == [
        (403, "auth.forbidden"),
        (403, "auth.forbidden"),
    ]
    assert [(answer.status_code, answer.json()["code"]) for answer in admitted] == [
        (400, "request.malformed_body"),
        (422, "request.invalid"),
    ]
    assert admitted[1].json()["errors"][0]["field"] == "name"
    assert (await app.client.get("/routing/v1/queues", headers=admin)).json() == queues_before
    created = await app.client.post("/routing/v1/queues", json=QUEUE, headers=admin)
    assert created.status_code == 201, created.text


@pytest.fixture
async def signed_app(db_url: str, tmp_path: Path) -> AsyncIterator[Running]:
    async with running_all_in_one(db_url, tmp_path, gateway_secrets={"postfix": SECRET}) as app:
        yield app


async def test_a_gateway_is_checked_by_its_signature_before_its_body(signed_app: Running) -> None:
    """The calls webhook decodes its JSON before its handler runs: a wrong signature is 401."""
    calls = "/inbox/v1/inbound/calls"
    wrong = await signed_app.client.post(
        calls, content=MALFORMED, headers={**JSON, "X-Signature": sign_body("other", MALFORMED)}
    )
    unsigned = await signed_app.client.post(calls, content=MALFORMED, headers=JSON)
    signed = await signed_app.client.post(
        calls, content=MALFORMED, headers={**JSON, "X-Signature": sign_body(SECRET, MALFORMED)}
    )

    assert (wrong.status_code, wrong.json()["code"]) == (401, "auth.bad_signature")
    assert (unsigned.status_code, unsigned.json()["code"]) == (401, "auth.unauthenticated")
    assert (signed.status_code, signed.json()["code"]) == (400, "request.malformed_body")
