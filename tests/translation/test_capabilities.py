"""GET /translation/v1/capabilities: whether machine translation is on, and its provider."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shared.auth import Role
from tests.fakes.mt_server import FakeMtServer, running_mt_server
from tests.support.apps import SERVICE_TOKEN, Running, running_all_in_one
from tests.translation.test_mt import deepl, libretranslate

URL = "/translation/v1/capabilities"


def bearer(token: str, language: str = "en") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Language": language}


@pytest.fixture
async def server() -> AsyncIterator[FakeMtServer]:
    async with running_mt_server() as fake:
        yield fake


async def test_off_by_default_for_every_role_that_may_translate(app: Running) -> None:
    tokens = [
        SERVICE_TOKEN,
        await app.token(Role.ADMIN),
        await app.token(Role.SUPERVISOR),
        await app.token(Role.AGENT, agent_id=uuid.uuid4()),
    ]

    answers = [await app.client.get(URL, headers=bearer(token)) for token in tokens]

    assert [answer.status_code for answer in answers] == [200] * 4
    assert [answer.json() for answer in answers] == [
        {"machine_translation": False, "provider": "none"}
    ] * 4


async def test_a_gateway_or_no_token_is_refused(app: Running) -> None:
    gateway = await app.client.get(URL, headers=bearer(await app.token(Role.GATEWAY), "fr"))
    anonymous = await app.client.get(URL)

    assert gateway.status_code == 403
    assert gateway.headers["content-type"] == "application/problem+json"
    assert anonymous.status_code == 401
    assert "machine_translation" not in anonymous.json()


@pytest.mark.parametrize(
    ("settings", "name"), [(libretranslate, "libretranslate"), (deepl, "deepl")]
)
async def test_on_names_the_provider_without_calling_it(
    db_url: str, tmp_path: Path, server: FakeMtServer, settings: Any, name: str
) -> None:
    async with running_all_in_one(db_url, tmp_path, **settings(server)) as app:
        answer = await app.client.get(URL, headers=bearer(SERVICE_TOKEN))

    assert answer.status_code == 200
    assert answer.json() == {"machine_translation": True, "provider": name}
    assert server.received == []


async def test_documented_with_its_errors(app: Running) -> None:
    spec: dict[str, Any] = (await app.client.get("/openapi.json")).json()
    operation = spec["paths"][URL]["get"]
    translate = spec["paths"]["/translation/v1/translate"]["post"]

    assert operation["summary"]
    assert {"401", "403", "422", "503"} <= set(operation["responses"])
    assert "501" not in operation["responses"]
    assert "501" in translate["responses"]
