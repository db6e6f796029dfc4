"""The machine-translation provider interface, and the provider the settings choose."""

from __future__ import annotations

from typing import Protocol

import httpx

from services.translation.mt.http_providers import DeepLProvider, LibreTranslateProvider
from services.translation.mt.schemas import MtLanguage
from services.translation.settings import TranslationSettings


class TranslationProvider(Protocol):
    """Translates one text; raises TranslationUnavailable when the provider fails or is slow."""

    name: str  # part of the cache key: another provider never answers from this one's cache

    async def translate(self, text: str, *, source: MtLanguage, target: MtLanguage) -> str: ...


def select_provider(
    settings: TranslationSettings, http: httpx.AsyncClient
) -> TranslationProvider | None:
    """The provider named by ``TRANSLATION_MT_PROVIDER`` over ``http``, or None for ``none``."""
    if settings.mt_provider == "libretranslate" and settings.libretranslate_url:
        return LibreTranslateProvider(
            http,
            base_url=settings.libretranslate_url,
            api_key=settings.libretranslate_api_key,
            timeout=settings.mt_timeout_seconds,
            retry_after=settings.mt_retry_after_seconds,
        )
    if settings.mt_provider == "deepl" and settings.deepl_api_key is not None:
        return DeepLProvider(
            http,
            api_key=settings.deepl_api_key,
            base_url=settings.deepl_url,
            english_variant=settings.deepl_english_variant,
            timeout=settings.mt_timeout_seconds,
            retry_after=settings.mt_retry_after_seconds,
        )
    return None
