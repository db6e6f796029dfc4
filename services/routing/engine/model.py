"""Immutable snapshots of agents, tasks, queues and rules that the routing decisions work on."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from services.routing.queues.hours import BusinessHours

TaskLanguage = Literal["en", "fr", "und"]
QueueLanguage = Literal["en", "fr", "bilingual"]
OFFICIAL_LANGUAGES: tuple[str, str] = ("en", "fr")
MIN_LEVEL, MAX_LEVEL = 1, 5


class Channel(StrEnum):
    """The medium a contact arrives on."""

    PHONE = "phone"
    EMAIL = "email"
    FAX = "fax"

    @property
    def is_written(self) -> bool:
        """True for channels an agent can work on alongside others (email, fax)."""
        return self is not Channel.PHONE


DEFAULT_CAPACITY: Mapping[Channel, int] = MappingProxyType(
    {Channel.PHONE: 1, Channel.EMAIL: 3, Channel.FAX: 2}
)


class AgentStatus(StrEnum):
    """An agent's presence; only ``available`` agents receive offers."""

    OFFLINE = "offline"
    AVAILABLE = "available"
    AWAY = "away"
    BUSY = "busy"
    WRAP_UP = "wrap_up"


class RoutingPolicy(StrEnum):
    """How a queue picks among eligible agents."""

    LONGEST_IDLE = "longest_idle"
    MOST_SKILLED = "most_skilled"
    ROUND_ROBIN = "round_robin"


class WideningKind(StrEnum):
    """What a widening step relaxes once a task has waited long enough."""

    BILINGUAL = "bilingual"
    OTHER_LANGUAGE = "other_language"
    DROP_SKILL = "drop_skill"
    LOWER_SKILL_LEVEL = "lower_skill_level"


def _check_level(what: str, level: object) -> None:
    if isinstance(level, bool) or not isinstance(level, int) or not MIN_LEVEL <= level <= MAX_LEVEL:
        raise ValueError(f"{what} must be an integer from 1 to 5, got {level!r}")


def _levels(what: str, levels: Mapping[str, int]) -> Mapping[str, int]:
    for name, level in levels.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{what} names must be non-empty strings, got {name!r}")
        _check_level(f"{what} {name!r} level", level)
    return MappingProxyType(dict(levels))


def _per_channel(what: str, counts: Mapping[Channel, int]) -> dict[Channel, int]:
    result: dict[Channel, int] = {}
    for channel, count in counts.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"{what} for {channel!r} must be an integer ≥ 0, got {count!r}")
        result[Channel(channel)] = count
    return result


def _require_aware(what: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{what} must be timezone-aware")


@dataclass(frozen=True, kw_only=True, slots=True)
class AgentSnapshot:
    """An agent as the engine sees it at one moment.

    ``capacity`` lists how many contacts of each channel the agent may hold at once; channels not
    given take DEFAULT_CAPACITY (phone 1, email 3, fax 2); 0 means never. ``load`` counts contacts
    currently assigned or offered per channel. ``idle_since`` is when the agent last finished
    work or became available; ``last_assigned_at`` when it last received a task.
    """

    id: uuid.UUID
    languages: Mapping[str, int]
    skills: Mapping[str, int]
    status: AgentStatus
    idle_since: datetime | None
    stream_connected: bool
    capacity: Mapping[Channel, int] = field(default_factory=dict)
    load: Mapping[Channel, int] = field(default_factory=dict)
    away_reason: str | None = None
    last_assigned_at: datetime | None = None
    tier: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "languages", _levels("language", self.languages))
        object.__setattr__(self, "skills", _levels("skill", self.skills))
        capacity = {**DEFAULT_CAPACITY, **_per_channel("capacity", self.capacity)}
        load = dict.fromkeys(Channel, 0) | _per_channel("load", self.load)
        object.__setattr__(self, "capacity", MappingProxyType(capacity))
        object.__setattr__(self, "load", MappingProxyType(load))
        object.__setattr__(self, "status", AgentStatus(self.status))
        _require_aware("idle_since", self.idle_since)
        _require_aware("last_assigned_at", self.last_assigned_at)
        if isinstance(self.tier, bool) or not isinstance(self.tier, int) or self.tier < 1:
            raise ValueError(f"tier must be a positive integer, got {self.tier!r}")

    def level(self, language: str) -> int:
        """The agent's level in a language, 0 when it does not speak it."""
        return self.languages.get(language, 0)

    @property
    def written_load(self) -> int:
        """Written contacts (email, fax) currently held."""
        return sum(count for channel, count in self.load.items() if channel.is_written)


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskSnapshot:
    """A contact waiting for an agent; higher ``priority`` numbers go first.

    ``skills`` are extra minimum levels the contact needs on top of its queue's.
    ``declined_agent_ids`` are agents that already rejected or let the offer time out.
    """

    id: uuid.UUID
    channel: Channel
    language: TaskLanguage
    arrived_at: datetime
    skills: Mapping[str, int] = field(default_factory=dict)
    priority: int = 0
    queue_id: uuid.UUID | None = None
    preferred_agent_id: uuid.UUID | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    declined_agent_ids: frozenset[uuid.UUID] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "channel", Channel(self.channel))
        if self.language not in ("en", "fr", "und"):
            raise ValueError(f"task language must be 'en', 'fr' or 'und', got {self.language!r}")
        _require_aware("arrived_at", self.arrived_at)
        object.__setattr__(self, "skills", _levels("skill", self.skills))
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))
        object.__setattr__(self, "declined_agent_ids", frozenset(self.declined_agent_ids))


@dataclass(frozen=True, kw_only=True, slots=True)
class WideningStep:
    """A relaxation that applies once a task has waited ``after_seconds`` in its queue.

    - bilingual: agents who speak the other official language at the queue's level and the
      task's language at ``min_level`` or more;
    - other_language: written channels only, agents of the other language, flagged for machine
      translation (never calls, whatever ``channels`` says);
    - drop_skill: the requirement on ``skill`` no longer applies;
    - lower_skill_level: the minimum on ``skill`` (every skill when None) falls to ``min_level``.

    ``channels`` limits the step to some channels; empty means every channel it may apply to.
    """

    after_seconds: int
    kind: WideningKind
    min_level: int | None = None
    skill: str | None = None
    channels: frozenset[Channel] = frozenset()

    def __post_init__(self) -> None:
        kind = WideningKind(self.kind)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "channels", frozenset(Channel(c) for c in self.channels))
        if isinstance(self.after_seconds, bool) or not isinstance(self.after_seconds, int):
            raise ValueError(f"after_seconds must be an integer, got {self.after_seconds!r}")
        if self.after_seconds < 0:
            raise ValueError(f"after_seconds must not be negative, got {self.after_seconds}")
        needs_level = kind in (WideningKind.BILINGUAL, WideningKind.LOWER_SKILL_LEVEL)
        if needs_level:
            _check_level(f"{kind} step min_level", self.min_level)
        elif self.min_level is not None:
            raise ValueError(f"a {kind} step takes no min_level")
        if kind is WideningKind.DROP_SKILL and not (self.skill and self.skill.strip()):
            raise ValueError("a drop_skill step must name the skill it drops")
        if kind in (WideningKind.BILINGUAL, WideningKind.OTHER_LANGUAGE) and self.skill is not None:
            raise ValueError(f"a {kind} step takes no skill")
        if kind is WideningKind.OTHER_LANGUAGE and Channel.PHONE in self.channels:
            raise ValueError("an other_language step never applies to calls; remove 'phone'")

    def applies_to(self, channel: Channel) -> bool:
        """True when this step may widen a task on ``channel``."""
        if self.kind is WideningKind.OTHER_LANGUAGE and not channel.is_written:
            return False
        return not self.channels or channel in self.channels


@dataclass(frozen=True, kw_only=True, slots=True)
class QueueConfig:
    """A queue's routing configuration.

    ``min_language_level`` is the level an agent needs in the task's language before any
    widening (for an ``und`` task, in both English and French). ``written_during_calls`` lets
    agents on a call receive this queue's written work and, on a phone queue, lets agents who
    hold written work receive its calls; otherwise a call takes the whole agent. ``tiers``
    restricts the queue to agents of those tiers (empty means any tier).
    """

    id: uuid.UUID
    name: str
    language: QueueLanguage
    channels: frozenset[Channel]
    required_skills: Mapping[str, int] = field(default_factory=dict)
    priority: int = 0
    policy: RoutingPolicy = RoutingPolicy.LONGEST_IDLE
    widening: tuple[WideningStep, ...] = ()
    min_language_level: int = 4
    service_level_seconds: int = 60
    service_level_percent: int = 80
    wrap_up_seconds: int = 30
    offer_timeout_seconds: int = 30
    written_during_calls: bool = False
    tiers: frozenset[int] = frozenset()
    hours: BusinessHours = field(default_factory=BusinessHours.always_open)

    def __post_init__(self) -> None:
        if self.language not in ("en", "fr", "bilingual"):
            raise ValueError(
                f"queue language must be 'en', 'fr' or 'bilingual', got {self.language!r}"
            )
        channels = frozenset(Channel(c) for c in self.channels)
        if not channels:
            raise ValueError(f"queue {self.name!r} must serve at least one channel")
        object.__setattr__(self, "channels", channels)
        object.__setattr__(self, "required_skills", _levels("skill", self.required_skills))
        object.__setattr__(self, "policy", RoutingPolicy(self.policy))
        # Stable sort keeps the configured order among steps falling due together.
        steps = tuple(sorted(self.widening, key=lambda step: step.after_seconds))
        object.__setattr__(self, "widening", steps)
        object.__setattr__(self, "tiers", frozenset(self.tiers))
        _check_level("queue min_language_level", self.min_language_level)
        for name in ("service_level_seconds", "wrap_up_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.offer_timeout_seconds <= 0:
            raise ValueError("offer_timeout_seconds must be positive")
        if not 0 <= self.service_level_percent <= 100:
            raise ValueError("service_level_percent must be between 0 and 100")

    def accepts_language(self, language: str) -> bool:
        """True when a task in ``language`` belongs in this queue (``und`` only in bilingual)."""
        return self.language == "bilingual" or self.language == language


@dataclass(frozen=True, kw_only=True, slots=True)
class QueueRule:
    """Sends matching tasks to ``queue_id``; rules are tried by ascending ``order``.

    Every non-empty condition must hold: the task's channel and language are listed, the task
    requires every skill named, and every attribute equals the task's contact attribute.
    """

    queue_id: uuid.UUID
    order: int = 0
    channels: frozenset[Channel] = frozenset()
    languages: frozenset[str] = frozenset()
    skills: frozenset[str] = frozenset()
    attributes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", frozenset(Channel(c) for c in self.channels))
        languages = frozenset(self.languages)
        if not languages <= {"en", "fr", "und"}:
            raise ValueError(f"rule languages must be among 'en', 'fr', 'und', got {languages!r}")
        object.__setattr__(self, "languages", languages)
        object.__setattr__(self, "skills", frozenset(self.skills))
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))

    def matches(self, task: TaskSnapshot) -> bool:
        """True when every condition of the rule holds for ``task``."""
        return (
            (not self.channels or task.channel in self.channels)
            and (not self.languages or task.language in self.languages)
            and self.skills.issubset(task.skills)
            and all(task.attributes.get(key) == value for key, value in self.attributes.items())
        )
