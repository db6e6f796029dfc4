"""Translation settings (environment variables prefixed ``TRANSLATION_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import CommonSettings


class TranslationSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="TRANSLATION_", extra="ignore")
    service_name: ClassVar[str] = "translation"

    token_cache_seconds: float = Field(default=10.0, ge=0, le=3600)
