"""Typed client for the translation service."""

from __future__ import annotations

from typing import ClassVar

from shared.clients.base import ServiceClient
from shared.contracts.translation import DetectRequest, DetectResult


class TranslationClient(ServiceClient):
    service: ClassVar[str] = "translation"

    async def detect(self, request: DetectRequest) -> DetectResult:
        """The language of a text's newly written part, with confidence and evidence."""
        return await self.call(
            "POST", "/translation/v1/detect", DetectResult, json=request.model_dump(mode="json")
        )
