"""Inbox settings (environment variables prefixed ``INBOX_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import CommonSettings


class InboxSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="INBOX_", extra="ignore")
    service_name: ClassVar[str] = "inbox"

    gateway_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='Per-gateway signing secrets as JSON, e.g. {"postfix": "…"}.',
    )
    token_cache_seconds: float = Field(default=10.0, ge=0, le=3600)
