"""Liveness and readiness: readiness fails, as a 503 problem, when the database is gone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from services.inbox.app import create_app
from services.inbox.settings import InboxSettings
from tests.support.apps import Running, serving, settings_for

UNREACHABLE = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"


async def test_health_and_readiness_need_no_token(app: Running) -> None:
    assert (await app.client.get("/healthz")).json() == {"status": "ok"}
    assert (await app.client.get("/readyz")).json() == {"status": "ready"}


async def _standalone_inbox(database_url: str, data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = InboxSettings(
        **settings_for(
            database_url,
            data_dir,
            routing_url="http://127.0.0.1:9",
            translation_url="http://127.0.0.1:9",
        )
    )
    app = create_app(settings)
    async with serving(app, "http://inbox") as client:
        yield client


async def test_readiness_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    async for client in _standalone_inbox(UNREACHABLE, tmp_path):
        alive = await client.get("/healthz")
        ready = await client.get("/readyz", headers={"Accept-Language": "fr"})

        assert alive.status_code == 200
        assert ready.status_code == 503
        assert ready.headers["retry-after"] == "5"
        assert ready.json()["code"] == "database.unavailable"
        assert ready.json()["title"] == "Base de données indisponible"


async def test_an_api_call_without_database_is_503_not_500(tmp_path: Path) -> None:
    async for client in _standalone_inbox(UNREACHABLE, tmp_path):
        answer = await client.get("/inbox/v1/tokens", headers={"Authorization": "Bearer ibx_x"})
        french = await client.get(
            "/inbox/v1/tokens",
            headers={"Authorization": "Bearer ibx_x", "Accept-Language": "fr-CA"},
        )

        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "5"
        assert answer.json()["code"] == "database.unavailable"
        assert answer.json()["detail"] == "The database cannot be reached; retry in 5 seconds."
        assert french.json()["detail"] == (
            "La base de données est injoignable\u202f; réessayez dans 5\u00a0secondes."
        )


async def test_all_in_one_readiness_reports_the_database_down(tmp_path: Path) -> None:
    from tests.support.apps import running_all_in_one

    async with running_all_in_one(UNREACHABLE, tmp_path) as running:
        ready = await running.client.get("/readyz")

    assert ready.status_code == 503
    assert ready.json()["code"] == "database.unavailable"
