"""The all-in-one's own paths (outside every service's prefix) answer errors as the services do:
problem+json in the caller's language, with a request id; and its health checks are documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.translation.app import create_app
from services.translation.settings import TranslationSettings
from tests.support.apps import Running, serving, settings_for

FRENCH = {"Accept-Language": "fr-CA,fr;q=0.9"}


def without_where(problem: dict[str, Any]) -> dict[str, Any]:
    """The problem less what names the request (its path and id)."""
    return {k: v for k, v in problem.items() if k not in ("instance", "request_id")}


@pytest.mark.parametrize("path", ["/nope", "/docs/x", "/healthz/x", "/inboxes"])
@pytest.mark.parametrize("language", ["en", "fr"])
async def test_an_unknown_path_at_the_root_is_the_services_not_found_problem(
    app: Running, path: str, language: str
) -> None:
    headers = {"Accept-Language": language, "X-Request-ID": "root-404"}

    answer = await app.client.get(path, headers=headers)
    service = await app.client.get("/inbox/v1/nope", headers=headers)

    assert answer.status_code == service.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["content-language"] == language
    assert answer.headers["x-request-id"] == "root-404"
    assert without_where(answer.json()) == without_where(service.json())
    assert answer.json()["instance"] == path
    assert answer.json()["request_id"] == "root-404"
    assert answer.json()["code"] == "route.not_found"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/healthz"),
        ("DELETE", "/readyz"),
        ("PUT", "/metrics"),
        ("POST", "/openapi.json"),
        ("PATCH", "/docs"),
    ],
)
async def test_a_wrong_method_at_the_root_is_405_naming_the_methods_allowed(
    app: Running, method: str, path: str
) -> None:
    answer = await app.client.request(method, path, headers=FRENCH)
    service = await app.client.put("/inbox/v1/tokens", headers=FRENCH)

    assert answer.status_code == service.status_code == 405
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["content-language"] == "fr"
    assert answer.headers["allow"] == "GET, HEAD"
    assert without_where(answer.json()) == without_where(service.json())
    assert answer.json()["title"] == "Méthode non autorisée"
    # the path still answers its own method
    assert (await app.client.get(path)).status_code == 200


async def test_health_and_readiness_are_documented(app: Running) -> None:
    spec: dict[str, Any] = (await app.client.get("/openapi.json")).json()

    alive = spec["paths"]["/healthz"]["get"]
    ready = spec["paths"]["/readyz"]["get"]

    assert alive["summary"]
    assert ready["summary"]
    assert alive["tags"] == ready["tags"] == ["health"]
    assert "200" in alive["responses"]
    assert {"200", "503"} <= set(ready["responses"])
    assert "application/problem+json" in ready["responses"]["503"]["content"]
    assert "security" not in alive
    assert "security" not in ready


async def test_a_standalone_service_names_the_methods_of_its_undocumented_paths(
    db_url: str, tmp_path: Path
) -> None:
    settings = TranslationSettings(**settings_for(db_url, tmp_path, inbox_url="http://127.0.0.1:9"))
    async with serving(create_app(settings), "http://translation") as client:
        answers = [
            await client.request(method, path, headers=FRENCH)
            for method, path in (("PUT", "/openapi.json"), ("POST", "/docs"))
        ]

    for answer in answers:
        assert answer.status_code == 405
        assert answer.json()["code"] == "route.method_not_allowed"
        assert answer.headers["allow"] == "GET, HEAD"
