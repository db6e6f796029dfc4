"""Routing settings (environment variables prefixed ``ROUTING_``)."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import CommonSettings


class RoutingSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore")
    service_name: ClassVar[str] = "routing"

    token_cache_seconds: float = Field(default=10.0, ge=0, le=3600)
    seed_default_queues: bool = Field(
        default=True,
        description="At start-up, create the default English, French and bilingual queues "
        "when the database has no queue at all.",
    )
    default_time_zone: str = Field(
        default="America/Toronto", description="Time zone of the seeded queues' business hours."
    )
    missed_offers_limit: int = Field(
        default=3, ge=1, le=100, description="Offers left to expire in a row before `away`."
    )
    sweep_seconds: float = Field(
        default=5.0, gt=0, le=300, description="The engine's safety-net pass interval."
    )
    match_batch_size: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Most waiting tasks of one queue that one matching pass examines.",
    )
    contention_retry_seconds: float = Field(
        default=0.05,
        gt=0,
        le=5,
        description="Pause before matching again when another replica holds the free agents.",
    )
    match_debounce_seconds: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="After a wake-up, how long the engine lets further commits gather before "
        "matching, so a burst is matched in one pass.",
    )
    reoffer_declined_after_seconds: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="A task an agent rejected or let expire goes to other agents; it is offered "
        "to that agent again only when no one else may take it, and not before this long "
        "after the agent's answer.",
    )
    translation_check_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="How long the translation service's answer to whether machine translation "
        "is on is kept; the queues' other_language steps apply only while it is (and not "
        "while translation cannot be reached).",
    )
    sticky_seconds: int = Field(
        default=7 * 24 * 3600,
        ge=0,
        description="A reply within this time after the last task goes first to the same agent.",
    )
    stream_heartbeat_seconds: float = Field(
        default=15.0, gt=0, le=300, description="Keep-alive interval of agent event streams."
    )
    stream_grace_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="How long an agent whose stream dropped stays available (without calls) "
        "before it is set away.",
    )
    agent_event_retention_seconds: int = Field(
        default=24 * 3600, ge=60, description="How long stream events are kept for resuming."
    )

    @property
    def stream_stale_after(self) -> timedelta:
        """How long after its last heartbeat an agent's stream counts as gone."""
        return timedelta(seconds=2 * self.stream_heartbeat_seconds + 5)
