"""API models of queues: configuration, rules, business hours, widening steps and live figures."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from services.routing.queues.hours import MIDNIGHT
from shared.problems import invalid_at
from shared.schemas import Language, Schema

ChannelName = Literal["phone", "email", "fax"]
#: The longest wait a queue's targets and widening steps may name: thirty days.
MAX_WAIT_SECONDS = 30 * 24 * 3600
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Level = Annotated[int, Field(ge=1, le=5)]
SkillName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9_.-]+$")]


def _wall_clock(value: time) -> time:
    if value.tzinfo is not None:
        raise PydanticCustomError(
            "local_time", "Must be a local time (HH:MM), without a time-zone offset."
        )
    return value


#: A time of day on the queue's own clock (``time_zone``): ``08:30``, never ``08:30Z``.
#: Documented by a pattern: ``format: time`` (RFC 3339) would require the offset it refuses.
LocalTime = Annotated[
    time,
    AfterValidator(_wall_clock),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
            "description": "A local time on the queue's clock (`time_zone`), HH:MM or "
            "HH:MM:SS, without an offset: `08:30`, never `08:30Z`.",
        }
    ),
]


class OpeningIntervalDoc(Schema):
    """Local opening time; ``end`` 00:00 is midnight, ``overnight`` ends on the next day."""

    start: LocalTime = Field(examples=["08:00"])
    end: LocalTime = Field(examples=["23:00"])
    overnight: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> OpeningIntervalDoc:
        if self.overnight and self.end != MIDNIGHT and self.end > self.start:
            raise invalid_at(
                "end",
                "overnight_interval_order",
                "Must end before it starts, since the interval is overnight.",
                self.end.isoformat(),
            )
        if not self.overnight and self.end != MIDNIGHT and self.end <= self.start:
            raise invalid_at(
                "end",
                "interval_order",
                "Ends before it starts; set overnight to true for an interval past midnight.",
                self.end.isoformat(),
            )
        return self


class ClosureDoc(Schema):
    """A partial-day closure on one local date."""

    day: date
    start: LocalTime = Field(examples=["12:00"])
    end: LocalTime = Field(examples=["13:30"])

    @model_validator(mode="after")
    def _ordered(self) -> ClosureDoc:
        if self.end != MIDNIGHT and self.end <= self.start:
            raise invalid_at(
                "end", "closure_order", "The closure ends before it starts.", self.end.isoformat()
            )
        return self


class HoursDoc(Schema):
    """Business hours: a weekly schedule in a time zone (omit ``weekly`` for 24/7), holidays."""

    time_zone: str = Field(default="America/Toronto", examples=["America/Toronto"])
    weekly: dict[Weekday, list[OpeningIntervalDoc]] | None = Field(
        default=None,
        examples=[{"mon": [{"start": "08:00", "end": "23:00"}]}],
        description="Days not listed are closed; null means open around the clock.",
    )
    holidays: list[date] = Field(default_factory=list, examples=[["2026-12-25"]])
    closures: list[ClosureDoc] = Field(default_factory=list)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise PydanticCustomError(
                "time_zone_unknown", "Unknown time zone; use an IANA name such as America/Toronto."
            ) from error
        return value


class WideningStepDoc(Schema):
    """A relaxation once a task has waited ``after_seconds`` (see the queue documentation)."""

    after_seconds: int = Field(ge=0, le=MAX_WAIT_SECONDS, examples=[60])
    kind: Literal["bilingual", "other_language", "drop_skill", "lower_skill_level"]
    min_level: Level | None = Field(default=None, examples=[3])
    skill: SkillName | None = None
    channels: list[ChannelName] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> WideningStepDoc:
        needs_level = self.kind in ("bilingual", "lower_skill_level")
        if needs_level and self.min_level is None:
            raise invalid_at(
                "min_level",
                "widening_min_level_missing",
                "Required for the bilingual and lower_skill_level steps.",
            )
        if not needs_level and self.min_level is not None:
            raise invalid_at(
                "min_level",
                "widening_min_level_refused",
                "Only the bilingual and lower_skill_level steps take a min_level.",
                self.min_level,
            )
        if self.kind == "drop_skill" and self.skill is None:
            raise invalid_at(
                "skill", "widening_skill_missing", "A drop_skill step must name its skill."
            )
        if self.kind in ("bilingual", "other_language") and self.skill is not None:
            raise invalid_at(
                "skill", "widening_skill_refused", "This kind of step takes no skill.", self.skill
            )
        if self.kind == "other_language" and "phone" in self.channels:
            raise invalid_at(
                "channels",
                "widening_phone_translation",
                "Calls are never routed through machine translation; remove phone.",
                self.channels,
            )
        return self


class QueueRuleDoc(Schema):
    """Sends matching tasks to the queue; every non-empty condition must hold."""

    order: int = Field(default=0, ge=-1_000_000, le=1_000_000, examples=[10])
    channels: list[ChannelName] = Field(default_factory=list, examples=[["email"]])
    languages: list[Literal["en", "fr", "und"]] = Field(default_factory=list, examples=[["fr"]])
    skills: list[SkillName] = Field(default_factory=list)
    attributes: dict[str, str] = Field(default_factory=dict, examples=[{"segment": "business"}])


class _QueueFields(Schema):
    priority: int = Field(default=0, ge=-1000, le=1000)
    policy: Literal["longest_idle", "most_skilled", "round_robin"] = "longest_idle"
    required_skills: dict[SkillName, Level] = Field(default_factory=dict, examples=[{"billing": 2}])
    min_language_level: Level = 4
    service_level_seconds: int = Field(default=60, ge=0, le=MAX_WAIT_SECONDS, examples=[20])
    service_level_percent: int = Field(default=80, ge=0, le=100)
    wrap_up_seconds: int = Field(default=30, ge=0, le=24 * 3600)
    offer_timeout_seconds: int = Field(default=30, ge=1, le=24 * 3600)
    written_during_calls: bool = False
    tiers: list[Annotated[int, Field(ge=1, le=10)]] = Field(default_factory=list)
    widening: list[WideningStepDoc] = Field(default_factory=list)
    hours: HoursDoc = Field(default_factory=HoursDoc)
    rules: list[QueueRuleDoc] = Field(default_factory=list)


class QueueCreate(_QueueFields):
    """A new queue with its rules, hours and widening steps."""

    name: str = Field(min_length=1, max_length=200, examples=["Courriel — facturation"])
    language: Literal["en", "fr", "bilingual"] = Field(examples=["fr"])
    channels: list[ChannelName] = Field(min_length=1, examples=[["email", "fax"]])

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Courriel — facturation",
                    "language": "fr",
                    "channels": ["email"],
                    "required_skills": {"billing": 2},
                    "service_level_seconds": 14400,
                    "service_level_percent": 90,
                    "widening": [
                        {"after_seconds": 60, "kind": "bilingual", "min_level": 3},
                        {"after_seconds": 600, "kind": "other_language"},
                    ],
                    "hours": {
                        "time_zone": "America/Toronto",
                        "weekly": {"mon": [{"start": "08:00", "end": "23:00"}]},
                        "holidays": ["2026-12-25"],
                    },
                    "rules": [{"order": 10, "channels": ["email"], "languages": ["fr"]}],
                }
            ]
        }
    )


class QueueUpdate(Schema):
    """Fields to change; lists and documents given replace the stored ones."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    language: Literal["en", "fr", "bilingual"] | None = None
    channels: list[ChannelName] | None = Field(default=None, min_length=1)
    priority: int | None = Field(default=None, ge=-1000, le=1000)
    policy: Literal["longest_idle", "most_skilled", "round_robin"] | None = None
    required_skills: dict[SkillName, Level] | None = None
    min_language_level: Level | None = None
    service_level_seconds: int | None = Field(default=None, ge=0, le=MAX_WAIT_SECONDS)
    service_level_percent: int | None = Field(default=None, ge=0, le=100)
    wrap_up_seconds: int | None = Field(default=None, ge=0, le=24 * 3600)
    offer_timeout_seconds: int | None = Field(default=None, ge=1, le=24 * 3600)
    written_during_calls: bool | None = None
    tiers: list[Annotated[int, Field(ge=1, le=10)]] | None = None
    widening: list[WideningStepDoc] | None = None
    hours: HoursDoc | None = None
    rules: list[QueueRuleDoc] | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{"wrap_up_seconds": 45}]})


class QueueRuleRead(QueueRuleDoc):
    id: UUID


class QueueRead(Schema):
    """A queue as configured, and whether its hours have it open now."""

    id: UUID
    name: str
    language: str
    channels: list[str]
    priority: int
    policy: str
    required_skills: dict[str, int]
    min_language_level: int
    service_level_seconds: int
    service_level_percent: int
    wrap_up_seconds: int
    offer_timeout_seconds: int
    written_during_calls: bool
    tiers: list[int]
    widening: list[dict[str, Any]]
    hours: dict[str, Any]
    rules: list[QueueRuleRead]
    open_now: bool
    created_at: datetime
    updated_at: datetime


class AgentCounts(Schema):
    """The agents who serve the queue, by presence, and how many of the available ones the
    routing engine would offer its work right now, in all and per channel and language.

    An agent serves the queue when the engine's own rule lets it take the queue's work in at
    least one language the queue takes (its language level, skills, tier and capacity), as
    ``GET /routing/v1/agents/{agent_id}/queues`` lists it: for a bilingual queue, an agent
    who speaks only French counts, for its French work."""

    available: int = Field(
        examples=[4],
        description="Agents who serve the queue (in at least one of its languages: for a "
        "bilingual queue, one who speaks only English or only French counts too), available "
        "with spare capacity on one of its channels; some may still not be offered its work "
        "now (see `offerable`), and per language see `available_by_language`.",
    )
    busy: int = Field(
        examples=[6], description="Agents who serve the queue, busy or at capacity on its channels."
    )
    wrap_up: int = Field(examples=[1], description="Agents who serve the queue, in wrap-up.")
    away: int = Field(examples=[2], description="Agents who serve the queue, away.")
    offerable: int = Field(
        examples=[3],
        description="Of the `available` agents, those the routing engine would offer a task "
        "of this queue arriving now, on at least one of its channels. It applies the engine's "
        "own rule: a call goes only to an agent whose live event stream is connected, and "
        "(unless the queue has `written_during_calls`) not to one holding written work; "
        "written work not to one on a call; nothing without spare capacity on that channel. "
        "The queue's hours do not count here (see `open_now`).",
    )
    offerable_by_channel: dict[ChannelName, int] = Field(
        examples=[{"phone": 1, "email": 3}],
        description="`offerable` for each channel the queue serves: for a queue serving phone, "
        "`phone` is how many agents can take one of its calls now (live event stream "
        "connected, no call already, no written work the queue keeps apart from calls).",
    )
    available_by_language: dict[Language, int] = Field(
        examples=[{"en": 3, "fr": 4, "und": 2}],
        description="`available` for each language the queue takes, by the engine's rule for "
        "a contact in that language (the queue's minimum level, no widening step): one key for "
        "a queue in one language; `en`, `fr` and `und` for a bilingual queue, `und` counting "
        "those who may take a contact whose language could not be told, which asks for both "
        "languages. An agent who speaks both counts under each, so the keys do not add up to "
        "`available`.",
    )
    offerable_by_language: dict[Language, int] = Field(
        examples=[{"en": 2, "fr": 3, "und": 1}],
        description="`offerable` for each language the queue takes (the keys of "
        "`available_by_language`, `und` included): how many agents the engine would offer a "
        "task in that language arriving now, on one of the queue's channels.",
    )


class QueueStats(Schema):
    """Live figures of a queue; ``today`` is the queue's local day."""

    queue_id: UUID
    open_now: bool
    waiting: int = Field(examples=[3])
    offered: int = Field(examples=[1])
    assigned: int = Field(examples=[7])
    longest_wait_seconds: float = Field(examples=[42.0])
    translation_held_back: bool = Field(
        examples=[True],
        description="True when the queue has an `other_language` widening step that routing "
        "does not apply now, because machine translation is off on the translation service "
        "(or it cannot be reached): its written contacts wait for an agent who reads their "
        "language instead of going to one of the other language.",
    )
    agents: AgentCounts
    offers_today: int
    accepted_today: int
    rejected_today: int
    expired_today: int
    answered_today: int
    service_level_percent_today: float | None = Field(
        description="Share of today's answered or overdue tasks answered within the target; "
        "null before the first one.",
        examples=[85.5],
    )
    average_wait_seconds_today: float | None = Field(examples=[12.5])
