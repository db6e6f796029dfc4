"""Machine translation over HTTP, against a local server speaking LibreTranslate's and DeepL's."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from services.translation.models import MachineTranslation
from services.translation.mt.http_providers import DEEPL_FREE_URL, DEEPL_PRO_URL, deepl_base_url
from services.translation.settings import TranslationSettings
from shared.auth import Role
from shared.db import session_scope, utc_now
from tests.fakes.mt_server import FakeMtServer, fake_translation, running_mt_server
from tests.support.apps import SERVICE_TOKEN, Running, running_all_in_one
from tests.support.processes import free_port

URL = "/translation/v1/translate"
NNBSP = "\u202f"
HELLO = {"text": "Hello", "source": "en", "target": "fr"}


def bearer(token: str, language: str = "en") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Language": language}


SERVICE = bearer(SERVICE_TOKEN)


@pytest.fixture
async def server() -> AsyncIterator[FakeMtServer]:
    async with running_mt_server() as fake:
        yield fake


def libretranslate(fake: FakeMtServer, **extra: Any) -> dict[str, Any]:
    return {
        "mt_provider": "libretranslate",
        "libretranslate_url": fake.url,
        "libretranslate_api_key": fake.api_key,
        "mt_timeout_seconds": 0.5,
        **extra,
    }


def deepl(fake: FakeMtServer, **extra: Any) -> dict[str, Any]:
    return {
        "mt_provider": "deepl",
        "deepl_api_key": fake.api_key,
        "deepl_url": fake.url,
        "mt_timeout_seconds": 0.5,
        **extra,
    }


async def cache_rows(app: Running) -> list[MachineTranslation]:
    async with session_scope(app.context("translation").require_sessions()) as session:
        return list(await session.scalars(select(MachineTranslation)))


async def test_translation_is_off_by_default_with_a_clear_501(app: Running) -> None:
    english = await app.client.post(URL, json=HELLO, headers=SERVICE)
    french = await app.client.post(URL, json=HELLO, headers=bearer(SERVICE_TOKEN, "fr"))

    assert english.status_code == french.status_code == 501
    assert english.headers["content-type"] == "application/problem+json"
    assert english.json()["code"] == "translation.not_configured"
    assert "TRANSLATION_MT_PROVIDER" in english.json()["detail"]
    assert french.json()["title"] == "Traduction automatique non configurée"
    assert french.json()["detail"].startswith(
        f"La traduction automatique est désactivée sur ce serveur{NNBSP}:"
    )
    assert await cache_rows(app) == []


async def test_libretranslate_translates_in_its_own_format_then_answers_from_the_cache(
    db_url: str, tmp_path: Path, server: FakeMtServer
) -> None:
    async with running_all_in_one(db_url, tmp_path, **libretranslate(server)) as app:
        agent = await app.token(Role.AGENT, agent_id=uuid.uuid4())
        first = await app.client.post(URL, json=HELLO, headers=bearer(agent))
        second = await app.client.post(URL, json=HELLO, headers=bearer(agent))
        rows = await cache_rows(app)

    assert first.status_code == second.status_code == 200
    assert first.json() == {
        "text": "Bonjour",
        "source": "en",
        "target": "fr",
        "provider": "libretranslate",
        "cached": False,
    }
    assert second.json() == {**first.json(), "cached": True}
    assert [(r.path, r.body) for r in server.received] == [
        (
            "/translate",
            {"q": "Hello", "source": "en", "target": "fr", "format": "text", "api_key": "fake-key"},
        )
    ]
    assert [(r.provider, r.source, r.target, r.text_sha256, r.translated_text) for r in rows] == [
        ("libretranslate", "en", "fr", hashlib.sha256(b"Hello").hexdigest(), "Bonjour")
    ]


async def test_deepl_sends_its_auth_header_and_json_list_and_reads_translations(
    db_url: str, tmp_path: Path, server: FakeMtServer
) -> None:
    text = "Ma facture est erronée."
    async with running_all_in_one(db_url, tmp_path, **deepl(server)) as app:
        # a cached answer of another provider must not answer for DeepL
        async with session_scope(app.context("translation").require_sessions()) as session:
            session.add(
                MachineTranslation(
                    provider="libretranslate",
                    source="fr",
                    target="en",
                    text_sha256=hashlib.sha256(text.encode()).hexdigest(),
                    translated_text="stale answer of another provider",
                    created_at=utc_now(),
                )
            )
        answer = await app.client.post(
            URL, json={"text": text, "source": "fr", "target": "en"}, headers=SERVICE
        )
        to_french = await app.client.post(URL, json=HELLO, headers=SERVICE)

    assert answer.status_code == 200
    assert answer.json()["text"] == fake_translation(text, "fr", "en") == "My invoice is wrong."
    assert (answer.json()["provider"], answer.json()["cached"]) == ("deepl", False)
    assert to_french.json()["text"] == "Bonjour"
    first, second = server.received
    assert first.path == "/v2/translate"
    assert first.headers["authorization"] == "DeepL-Auth-Key fake-key"
    assert first.headers["content-type"] == "application/json"
    assert first.body == {"text": [text], "source_lang": "FR", "target_lang": "EN-US"}
    assert second.body == {"text": ["Hello"], "source_lang": "EN", "target_lang": "FR"}


def test_deepl_free_keys_use_the_free_api_and_others_the_pro_api() -> None:
    assert deepl_base_url("279a2e9d-83b3-c416-7e2d-f721593e42a0:fx") == DEEPL_FREE_URL
    assert deepl_base_url("279a2e9d-83b3-c416-7e2d-f721593e42a0") == DEEPL_PRO_URL
    assert deepl_base_url("key:fx", "http://127.0.0.1:9/") == "http://127.0.0.1:9"
    assert DEEPL_FREE_URL == "https://api-free.deepl.com"
    assert DEEPL_PRO_URL == "https://api.deepl.com"


@pytest.mark.parametrize("settings", [libretranslate, deepl])
async def test_a_failing_provider_is_503_with_retry_after_and_nothing_cached(
    db_url: str, tmp_path: Path, server: FakeMtServer, settings: Any
) -> None:
    server.behaviour = "fail"
    async with running_all_in_one(
        db_url, tmp_path, **settings(server, mt_retry_after_seconds=45)
    ) as app:
        failed = await app.client.post(URL, json=HELLO, headers=bearer(SERVICE_TOKEN, "fr"))
        rows_after_failure = await cache_rows(app)
        server.behaviour = "normal"
        recovered = await app.client.post(URL, json=HELLO, headers=SERVICE)

    assert failed.status_code == 503
    assert failed.headers["retry-after"] == "45"
    assert failed.json()["code"] == "translation.provider_unavailable"
    assert failed.json()["title"] == "Fournisseur de traduction indisponible"
    assert "45" in failed.json()["detail"]
    assert rows_after_failure == []
    assert (recovered.status_code, recovered.json()["cached"]) == (200, False)
    assert len(server.received) == 2


@pytest.mark.parametrize("settings", [libretranslate, deepl])
async def test_a_throttling_provider_passes_its_retry_after_on(
    db_url: str, tmp_path: Path, server: FakeMtServer, settings: Any
) -> None:
    server.behaviour = "throttle"
    async with running_all_in_one(db_url, tmp_path, **settings(server)) as app:
        answer = await app.client.post(URL, json=HELLO, headers=SERVICE)
        rows = await cache_rows(app)

    assert answer.status_code == 503
    assert answer.headers["retry-after"] == server.retry_after == "120"
    assert rows == []


@pytest.mark.parametrize("settings", [libretranslate, deepl])
async def test_a_provider_that_never_answers_is_503_not_a_hang(
    db_url: str, tmp_path: Path, server: FakeMtServer, settings: Any
) -> None:
    server.behaviour = "hang"
    async with running_all_in_one(
        db_url, tmp_path, **settings(server, mt_timeout_seconds=0.2)
    ) as app:
        async with asyncio.timeout(10):  # a hang fails the test instead of blocking the run
            answer = await app.client.post(URL, json=HELLO, headers=SERVICE)
        rows = await cache_rows(app)

    assert answer.status_code == 503
    assert answer.json()["code"] == "translation.provider_unavailable"
    assert int(answer.headers["retry-after"]) > 0
    assert len(server.received) == 1
    assert rows == []


@pytest.mark.parametrize("behaviour", ["garbage", "wrong key", "unreachable"])
async def test_a_provider_answering_nonsense_refusing_or_down_is_503(
    db_url: str, tmp_path: Path, server: FakeMtServer, behaviour: str
) -> None:
    overrides = libretranslate(server)
    if behaviour == "garbage":
        server.behaviour = "garbage"
    elif behaviour == "wrong key":
        overrides = deepl(server, deepl_api_key="not-the-key")
    else:
        overrides["libretranslate_url"] = f"http://127.0.0.1:{free_port()}"
    async with running_all_in_one(db_url, tmp_path, **overrides) as app:
        answer = await app.client.post(URL, json=HELLO, headers=SERVICE)
        rows = await cache_rows(app)

    assert answer.status_code == 503
    assert "retry-after" in answer.headers
    assert "not-the-key" not in answer.text
    assert rows == []


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"text": "Hello", "source": "en", "target": "en"}, "translation.same_language", None),
        ({"text": "", "source": "en", "target": "fr"}, "request.invalid", "text"),
        ({"text": "Hallo", "source": "de", "target": "fr"}, "request.invalid", "source"),
        ({"text": "x" * 30_001, "source": "en", "target": "fr"}, "request.invalid", "text"),
        ({"text": "Hello", "source": "en"}, "request.invalid", "target"),
    ],
)
async def test_bad_requests_are_422_and_reach_no_provider(
    db_url: str,
    tmp_path: Path,
    server: FakeMtServer,
    body: dict[str, Any],
    code: str,
    field: str | None,
) -> None:
    async with running_all_in_one(db_url, tmp_path, **libretranslate(server)) as app:
        answer = await app.client.post(URL, json=body, headers=bearer(SERVICE_TOKEN, "fr"))
        rows = await cache_rows(app)

    assert answer.status_code == 422
    assert answer.json()["code"] == code
    if field is not None:
        assert [error["field"] for error in answer.json()["errors"]] == [field]
    assert server.received == []
    assert rows == []


async def test_only_staff_and_services_may_translate(
    db_url: str, tmp_path: Path, server: FakeMtServer
) -> None:
    async with running_all_in_one(db_url, tmp_path, **libretranslate(server)) as app:
        gateway = await app.token(Role.GATEWAY)
        supervisor = await app.token(Role.SUPERVISOR)
        anonymous = await app.client.post(URL, json=HELLO)
        refused = await app.client.post(URL, json=HELLO, headers=bearer(gateway, "fr"))
        allowed = await app.client.post(URL, json=HELLO, headers=bearer(supervisor))

    assert anonymous.status_code == 401
    assert refused.status_code == 403
    assert refused.json()["code"] == "auth.forbidden"
    assert allowed.status_code == 200
    assert len(server.received) == 1


def test_a_chosen_provider_needs_its_address_or_key_and_keys_stay_secret() -> None:
    with pytest.raises(ValidationError, match="TRANSLATION_LIBRETRANSLATE_URL"):
        TranslationSettings(mt_provider="libretranslate")
    with pytest.raises(ValidationError, match="TRANSLATION_DEEPL_API_KEY"):
        TranslationSettings(mt_provider="deepl")
    with pytest.raises(ValidationError, match="http"):
        TranslationSettings(mt_provider="libretranslate", libretranslate_url="ftp://mt.local")
    settings = TranslationSettings(mt_provider="deepl", deepl_api_key="s3cret:fx")
    assert settings.mt_provider == "deepl"
    assert "s3cret" not in repr(settings)
    assert TranslationSettings().mt_provider == "none"
