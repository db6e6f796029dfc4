"""HTTP endpoint for machine translation."""

from __future__ import annotations

from fastapi import APIRouter

from services.translation.deps import ProviderDep, SessionsDep, TranslatorDep
from services.translation.mt import service
from services.translation.mt.schemas import TranslateRequest, TranslateResult
from shared.db import utc_now
from shared.schemas import problem_responses

router = APIRouter(
    prefix="/translation/v1",
    tags=["machine translation"],
    responses=problem_responses(401, 403, 422, 501, 503),
)


@router.post(
    "/translate",
    summary="Translate a text between English and French",
    description="Through the configured provider (LibreTranslate or DeepL). Answers repeat "
    "from the cache (by provider, languages and text). 501 when machine translation is off; "
    "503 with Retry-After when the provider fails or is too slow.",
)
async def translate(
    body: TranslateRequest, sessions: SessionsDep, provider: ProviderDep, _: TranslatorDep
) -> TranslateResult:
    return await service.translate_text(
        sessions, provider, text=body.text, source=body.source, target=body.target, now=utc_now()
    )
