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
    max_message_bytes: int = Field(
        default=25 * 1024 * 1024, ge=1024, description="Larger inbound messages get 413."
    )
    max_attachment_bytes: int = Field(
        default=25 * 1024 * 1024,
        ge=0,
        description="Attachments above this size are recorded but their content is not kept.",
    )
    reopen_days: int = Field(
        default=7, ge=0, le=365, description="A reply within this many days of resolution reopens."
    )
