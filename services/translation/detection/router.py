"""HTTP endpoints for English/French language detection."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from services.translation.detection.detector import Detection, Hints, InvalidHintError, detect
from shared.auth import Principal, Role
from shared.contracts.translation import DetectHints, DetectRequest, DetectResult, LanguageScores
from shared.errors import FieldError, InvalidInput
from shared.problems import GENERIC_REASON
from shared.schemas import problem_responses
from shared.web import require_roles

router = APIRouter(prefix="/translation/v1", tags=["detection"])
DetectorDep = Annotated[
    Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.SERVICE))
]


# Cleaning and scoring cost about a microsecond per character: a text longer than this (a long
# newsletter, a pasted log) is detected on a worker thread, so that the event loop keeps
# answering the requests in flight meanwhile instead of stopping for tens of milliseconds.
INLINE_CHARS = 4_000


class DetectBatchRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"text": "Merci beaucoup pour votre aide !"},
                        {
                            "text": "Thanks, that fixed it.",
                            "hints": {"accept_language": "en-CA,en;q=0.9"},
                        },
                    ]
                }
            ]
        }
    )

    items: list[DetectRequest] = Field(min_length=1, max_length=1000)


class DetectBatchResult(BaseModel):
    items: list[DetectResult]


_LANGUAGE_TAG = "Must be a language tag such as fr-CA."
#: What each hint must be; the French texts are in the catalog.
HINT_REASONS = {
    "content_language": _LANGUAGE_TAG,
    "contact_language": _LANGUAGE_TAG,
    "line_language": _LANGUAGE_TAG,
    "accept_language": "Must be an Accept-Language list such as fr-CA,fr;q=0.9,en;q=0.8.",
    "phone_region": "Must be a region code such as CA-QC or FR.",
    "sender_domain": "Must be a domain name such as exemple.fr.",
}


def _hints(hints: DetectHints | None, position: str) -> Hints | None:
    if hints is None:
        return None
    try:
        return Hints(**hints.model_dump())
    except InvalidHintError as exc:
        reason = HINT_REASONS.get(exc.field, GENERIC_REASON)
        field = f"{position}hints.{exc.field}"
        raise InvalidInput(errors=[FieldError(field, "value_error", reason)]) from exc


def _result(detection: Detection) -> DetectResult:
    return DetectResult(
        language=detection.language,
        confidence=detection.confidence,
        evidence=detection.evidence,
        scores=LanguageScores(en=detection.scores["en"], fr=detection.scores["fr"]),
    )


@router.post(
    "/detect",
    summary="Detect whether the newly written part of a text is English or French",
    description="Quoted history, signatures, disclaimers, URLs, addresses and numbers are "
    "removed first. Short or ambiguous texts fall back on the hints; below the confidence "
    "threshold the answer is `und`. A text clearly in neither language (mostly another script, "
    "or Spanish, German, Polish…) is `und` whatever the hints, with a low confidence and its "
    "reason in `evidence`: `text:non_latin_script`, `text:other_language_words` or "
    "`text:unknown_words`. The same text always gives the same answer.",
    responses=problem_responses(401, 403, 422, 503),
)
async def detect_language(body: DetectRequest, _: DetectorDep) -> DetectResult:
    return (await _detect_all([(body.text, _hints(body.hints, ""))]))[0]


@router.post(
    "/detect/batch",
    summary="Detect the language of up to 1,000 texts at once",
    responses=problem_responses(401, 403, 422, 503),
)
async def detect_languages(body: DetectBatchRequest, _: DetectorDep) -> DetectBatchResult:
    pairs = [
        (item.text, _hints(item.hints, f"items.{index}.")) for index, item in enumerate(body.items)
    ]
    return DetectBatchResult(items=await _detect_all(pairs))


async def _detect_all(pairs: list[tuple[str, Hints | None]]) -> list[DetectResult]:
    """Each text's result, on a worker thread when there is more than INLINE_CHARS to read."""

    def run() -> list[DetectResult]:
        return [_result(detect(text, hints)) for text, hints in pairs]

    if sum(len(text) for text, _ in pairs) <= INLINE_CHARS:
        return run()
    return await asyncio.to_thread(run)
