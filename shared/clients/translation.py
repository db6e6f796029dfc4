"""Typed client for the translation service."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import quote

from shared.clients.base import ServiceClient
from shared.contracts.translation import (
    DetectRequest,
    DetectResult,
    RenderedTemplate,
    TemplateRenderRequest,
    TemplateSummary,
    TranslationCapabilities,
)


class TranslationClient(ServiceClient):
    service: ClassVar[str] = "translation"

    async def detect(self, request: DetectRequest) -> DetectResult:
        """The language of a text's newly written part, with confidence and evidence."""
        return await self.call(
            "POST", "/translation/v1/detect", DetectResult, json=request.model_dump(mode="json")
        )

    async def capabilities(self) -> TranslationCapabilities:
        """Whether machine translation is on, and through which provider."""
        return await self.call("GET", "/translation/v1/capabilities", TranslationCapabilities)

    async def get_template(self, key: str) -> TemplateSummary:
        """A template's languages and declared variables; an unknown key is PeerRejected (404)."""
        return await self.call(
            "GET", f"/translation/v1/templates/{quote(key, safe='')}", TemplateSummary
        )

    async def render_template(self, key: str, request: TemplateRenderRequest) -> RenderedTemplate:
        """An approved template rendered for a locale, with Babel formats and typography."""
        return await self.call(
            "POST",
            f"/translation/v1/templates/{quote(key, safe='')}/render",
            RenderedTemplate,
            json=request.model_dump(mode="json", exclude_none=True),
        )
