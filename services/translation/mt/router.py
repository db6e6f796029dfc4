"""HTTP endpoints for machine translation, and whether it is on."""

from __future__ import annotations

from fastapi import APIRouter

from services.translation.deps import (
    ProviderDep,
    ReaderDep,
    SessionsDep,
    SettingsDep,
    TranslatorDep,
)
from services.translation.mt import service
from services.translation.mt.schemas import TranslateRequest, TranslateResult
from shared.contracts.translation import TranslationCapabilities
from shared.db import utc_now
from shared.schemas import problem_responses

router = APIRouter(
    prefix="/translation/v1",
    tags=["machine translation"],
    responses=problem_responses(401, 403, 422, 503),
)


@router.post(
    "/translate",
    summary="Translate a text between English and French",
    description="Through the configured provider (LibreTranslate or DeepL). Answers repeat "
    "from the cache (by provider, languages and text). 501 when machine translation is off; "
    "503 with Retry-After when the provider fails or is too slow.",
    responses=problem_responses(501),
)
async def translate(
    body: TranslateRequest, sessions: SessionsDep, provider: ProviderDep, _: TranslatorDep
) -> TranslateResult:
    return await service.translate_text(
        sessions, provider, text=body.text, source=body.source, target=body.target, now=utc_now()
    )


@router.get(
    "/capabilities",
    summary="Whether machine translation is on, and its provider",
    description="As configured (`TRANSLATION_MT_PROVIDER`): with `machine_translation` false, "
    "`POST /translation/v1/translate` answers 501. Routing asks this before it offers a "
    "written contact to an agent of the other language (its `other_language` widening "
    "steps); a provider that is on but failing still answers true here (translate is then "
    "503 with Retry-After).",
)
async def capabilities(
    settings: SettingsDep, provider: ProviderDep, _: ReaderDep
) -> TranslationCapabilities:
    return TranslationCapabilities(
        machine_translation=provider is not None,
        provider=settings.mt_provider if provider is not None else "none",
    )
