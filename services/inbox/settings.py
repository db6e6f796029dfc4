"""Inbox settings (environment variables prefixed ``INBOX_``)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import CommonSettings


class PhoneLineSetting(BaseModel):
    """One of our phone or fax numbers: its language and the IVR digits that pick one."""

    language: Literal["en", "fr"] | None = None
    ivr_digits: dict[str, Literal["en", "fr"]] = Field(default_factory=dict)


class InboxSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="INBOX_", extra="ignore")
    service_name: ClassVar[str] = "inbox"

    gateway_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='Per-gateway signing secrets as JSON, e.g. {"postfix": "…"}.',
    )
    token_cache_seconds: float = Field(default=10.0, ge=0, le=3600)
    agent_queues_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How long the queues an agent serves, as routing said, are kept per agent.",
    )
    max_message_bytes: int = Field(
        default=25 * 1024 * 1024, ge=1024, description="Larger inbound messages get 413."
    )
    max_attachment_bytes: int = Field(
        default=25 * 1024 * 1024,
        ge=0,
        description="Attachments above this size are recorded but their content is not kept.",
    )
    default_region: str = Field(
        default="CA",
        min_length=2,
        max_length=2,
        description="Region for numbers written without a country code (ISO 3166 alpha-2).",
    )
    phone_lines: dict[str, PhoneLineSetting] = Field(
        default_factory=dict,
        description='Our numbers and their language, as JSON, e.g. {"+15145550100": '
        '{"language": "fr"}, "+18005550100": {"ivr_digits": {"1": "en", "2": "fr"}}}.',
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server; without it, sent mail goes to DATA_DIR/mail/*.eml."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    outbound_max_queue_hours: float = Field(
        default=120.0,
        gt=0,
        le=720,
        description="An outgoing email still refused for the time being (4xx, server "
        "unreachable) this long after it was queued fails instead of being retried again, as "
        "Postfix's maximal_queue_lifetime (5 days).",
    )
    mail_from: str = Field(
        default="support@localhost",
        description="From address when a conversation has no inbox address of its own.",
    )
    mail_from_name: str | None = Field(default=None, examples=["Service à la clientèle"])
    mail_domain: str = Field(default="localhost", description="Domain of our Message-IDs.")
    auto_acknowledge: bool = Field(
        default=True, description="Acknowledge each new email conversation automatically."
    )
    acknowledgement_response_seconds: int = Field(
        default=86_400, ge=60, description="The response time the acknowledgement promises."
    )
    automatic_quiet_minutes: int = Field(
        default=60, ge=0, description="No second automatic message in a thread within this time."
    )
    reopen_days: int = Field(
        default=7, ge=0, le=365, description="A reply within this many days of resolution reopens."
    )
