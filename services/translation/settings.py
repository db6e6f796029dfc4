"""Translation settings (environment variables prefixed ``TRANSLATION_``)."""

from __future__ import annotations

from typing import ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import CommonSettings

MtProviderName = Literal["none", "libretranslate", "deepl"]


class TranslationSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="TRANSLATION_", extra="ignore")
    service_name: ClassVar[str] = "translation"

    token_cache_seconds: float = Field(default=10.0, ge=0, le=3600)

    seed_templates: bool = Field(
        default=True,
        description="Add the approved templates (both languages) at start; never overwrites "
        "an edited template nor brings back a deleted one.",
    )
    template_default_territory: str | None = Field(
        default="CA",
        pattern=r"^[A-Z]{2}$",
        description="Territory used to format a bare `en` or `fr` (CA: `1 234,56 $`, `9 h 30`).",
    )
    template_time_zone: str | None = Field(
        default="America/Toronto",
        description="IANA zone datetimes are shown in when a render request names none, by "
        "default the seeded queues' (ROUTING_DEFAULT_TIME_ZONE); set empty, a datetime keeps its "
        "own named zone, else is shown in UTC: a customer is never given a bare offset.",
    )
    bilingual_first: Literal["fr", "en"] = Field(
        default="fr", description="Which language comes first when rendering with locale `und`."
    )

    mt_provider: MtProviderName = Field(
        default="none", description="Machine translation: none (off: 501), libretranslate or deepl."
    )
    mt_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="Longest wait for the provider's whole answer."
    )
    mt_retry_after_seconds: int = Field(
        default=30, ge=1, le=3600, description="Retry-After sent when the provider fails."
    )
    libretranslate_url: str | None = Field(
        default=None, description="Base URL of the self-hosted LibreTranslate server."
    )
    libretranslate_api_key: SecretStr | None = None
    deepl_api_key: SecretStr | None = Field(
        default=None, description="DeepL key; one ending in `:fx` uses the Free API's address."
    )
    deepl_url: str | None = Field(
        default=None, description="Override DeepL's base URL (otherwise chosen from the key)."
    )
    deepl_english_variant: Literal["EN-US", "EN-GB"] = Field(
        default="EN-US", description="DeepL's English target (it has no Canadian variant)."
    )

    @field_validator("template_time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if not value:
            return None  # set empty: no configured zone
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown IANA time zone {value!r}") from error
        return value

    @field_validator("libretranslate_url", "deepl_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _provider_is_complete(self) -> TranslationSettings:
        if self.mt_provider == "libretranslate" and not self.libretranslate_url:
            raise ValueError("TRANSLATION_LIBRETRANSLATE_URL is required for libretranslate")
        if self.mt_provider == "deepl" and self.deepl_api_key is None:
            raise ValueError("TRANSLATION_DEEPL_API_KEY is required for deepl")
        return self
