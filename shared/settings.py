"""Settings common to every service, read from the environment once and passed in."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/inbox.db"


class _UnprefixedSource(EnvSettingsSource):
    """Reads the common fields from unprefixed variables, below the service's own prefix."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if field_name not in UNPREFIXED_FIELDS:
            return None, field_name, False
        return super().get_field_value(field, field_name)


class CommonSettings(BaseSettings):
    """What every service needs: its database, peers, data directory, logging and locale."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")
    service_name: ClassVar[str] = "common"

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://…",
    )
    database_pool_size: int = Field(default=10, ge=1, le=200)
    data_dir: Path = Field(default=Path("var"), description="Where files (attachments, mail) go.")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = True
    default_locale: Literal["en", "fr"] = "en"
    service_token: SecretStr | None = Field(
        default=None,
        description="Shared secret the services present to each other; required when a peer "
        "service is reached over the network.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, GET /metrics needs 'Authorization: Bearer <this>'; open otherwise.",
    )
    inbox_url: str | None = Field(default=None, description="Base URL of the inbox service.")
    routing_url: str | None = Field(default=None, description="Base URL of the routing service.")
    translation_url: str | None = Field(
        default=None, description="Base URL of the translation service."
    )
    peer_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    run_workers: bool = Field(
        default=True, description="Run background work (outbox relay, loops) in this process."
    )
    outbox_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    outbox_batch_size: int = Field(default=50, ge=1, le=1000)
    outbox_lease_seconds: float = Field(default=30.0, gt=0)
    outbox_max_backoff_seconds: float = Field(default=300.0, gt=0)
    outbox_max_rejections: int = Field(
        default=12,
        ge=1,
        le=1000,
        description="Refusals of an event (invalid, or its handler failing) before it is "
        "dead-lettered for an operator; outages never count.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must start with sqlite+aiosqlite:// or postgresql+asyncpg:// (got "
                f"{value.split('://', 1)[0]}://…)"
            )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            _UnprefixedSource(settings_cls, env_prefix=""),
            dotenv_settings,
            file_secret_settings,
        )

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite."""
        return self.database_url.startswith("sqlite")

    @classmethod
    def env_names(cls) -> set[str]:
        """Every environment variable name this settings class reads."""
        prefix = str(cls.model_config.get("env_prefix", ""))
        names = {f"{prefix}{name}".upper() for name in cls.model_fields}
        names |= {name.upper() for name in cls.model_fields if name in UNPREFIXED_FIELDS}
        return names


#: Fields that may also be set once for all services without a prefix (``DATABASE_URL``,
#: ``OUTBOX_LEASE_SECONDS``): every field common to the services, none of one service's own.
UNPREFIXED_FIELDS = frozenset(CommonSettings.model_fields)


def unknown_variables(
    kinds: Iterable[type[CommonSettings]], environ: Mapping[str, str]
) -> list[tuple[str, str | None]]:
    """Variables that carry a service's prefix but name none of its settings (a typo, or a
    setting of another service), each with the setting it most likely meant, if one is close:
    the same prefix first, else another service's."""
    kinds = list(kinds)
    known = set().union(*(kind.env_names() for kind in kinds))
    prefixes = tuple(str(kind.model_config.get("env_prefix", "")) for kind in kinds)
    # Each prefixed setting by the rest of its name: OUTBOX_LEASE_SECONDS → its three names.
    by_rest: dict[str, list[str]] = {}
    for other in sorted(known):
        for its_prefix in prefixes:
            if other.startswith(its_prefix):
                by_rest.setdefault(other.removeprefix(its_prefix), []).append(other)
    unknown: list[tuple[str, str | None]] = []
    for name in sorted(environ):
        prefix = next((p for p in prefixes if name.startswith(p)), None)
        if prefix is None or name in known:
            continue
        close = difflib.get_close_matches(name.removeprefix(prefix), list(by_rest), n=1)
        names = by_rest[close[0]] if close else []
        meant = next((other for other in names if other.startswith(prefix)), None)
        unknown.append((name, meant or (names[0] if names else None)))
    return unknown
