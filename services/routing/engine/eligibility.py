"""Which agents may take a task in its queue now, and why or why not."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from services.routing.engine.model import (
    OFFICIAL_LANGUAGES,
    AgentSnapshot,
    AgentStatus,
    Channel,
    QueueConfig,
    TaskLanguage,
    TaskSnapshot,
    WideningKind,
    WideningStep,
)
from services.routing.engine.widening import active_steps


class Refusal(StrEnum):
    """Stable codes for why an agent may not take a task; texts live in the locale catalogs."""

    CHANNEL_NOT_SERVED = "channel_not_served"
    LANGUAGE_NOT_SERVED = "language_not_served"
    NOT_AVAILABLE = "not_available"
    DECLINED = "declined"
    TIER = "tier"
    STREAM_DISCONNECTED = "stream_disconnected"
    NO_CAPACITY = "no_capacity"
    ON_CALL = "on_call"
    HOLDING_WRITTEN = "holding_written"
    LANGUAGE = "language"
    SKILL_MISSING = "skill_missing"
    SKILL_LEVEL = "skill_level"


@dataclass(frozen=True, slots=True)
class Reason:
    """One refusal, with the skill, language, channel or status it concerns."""

    code: Refusal
    subject: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SkillMatch:
    """One skill requirement against the agent's level.

    ``applied`` is the minimum in force for this agent after widening (None once dropped);
    ``step`` is the widening step this agent needed to pass, None when it met ``required``.
    """

    skill: str
    required: int
    applied: int | None
    held: int
    step: WideningStep | None = None

    @property
    def met(self) -> bool:
        """True when the agent passes the requirement as applied."""
        return self.applied is None or self.held >= self.applied


def _step_record(step: WideningStep) -> dict[str, object]:
    return {
        "after_seconds": step.after_seconds,
        "kind": str(step.kind),
        "min_level": step.min_level,
        "skill": step.skill,
        "channels": sorted(str(channel) for channel in step.channels),
    }


@dataclass(frozen=True, kw_only=True, slots=True)
class Eligibility:
    """Whether an agent may take a task, with everything an assignment records as its why.

    ``languages`` holds the agent's levels in the language(s) it was matched on and
    ``language_step`` the widening step that admitted it (None: it speaks the task's language
    at the queue's level). ``capacity`` and ``load`` are for the task's channel at that moment.
    """

    agent_id: uuid.UUID
    task_id: uuid.UUID
    queue_id: uuid.UUID
    channel: Channel
    waited: timedelta
    reasons: tuple[Reason, ...]
    languages: Mapping[str, int]
    language_step: WideningStep | None
    needs_translation: bool
    skills: tuple[SkillMatch, ...]
    capacity: int
    load: int
    loads: Mapping[Channel, int]

    @property
    def eligible(self) -> bool:
        """True when nothing refuses the agent."""
        return not self.reasons

    @property
    def steps(self) -> tuple[WideningStep, ...]:
        """Every widening step this agent needed, each once, in the queue's order."""
        used = [self.language_step] + [match.step for match in self.skills]
        return tuple(sorted({s for s in used if s is not None}, key=lambda s: s.after_seconds))

    @property
    def dropped(self) -> tuple[SkillMatch, ...]:
        """Requirements a step dropped because this agent did not meet them."""
        return tuple(m for m in self.skills if m.applied is None)

    @property
    def lowered(self) -> tuple[SkillMatch, ...]:
        """Requirements a step lowered so that this agent meets them."""
        return tuple(m for m in self.skills if m.step is not None and m.applied is not None)

    def why(self) -> dict[str, object]:
        """A JSON-ready record of the decision, for the assignment row and supervisors."""
        return {
            "agent_id": str(self.agent_id),
            "task_id": str(self.task_id),
            "queue_id": str(self.queue_id),
            "channel": str(self.channel),
            # Processes whose clocks are apart may see a task queued after their now.
            "waited_seconds": max(self.waited.total_seconds(), 0.0),
            "eligible": self.eligible,
            "reasons": [{"code": str(r.code), "subject": r.subject} for r in self.reasons],
            "languages": dict(self.languages),
            "language_step": _step_record(self.language_step) if self.language_step else None,
            "needs_translation": self.needs_translation,
            "skills": [
                {"skill": m.skill, "required": m.required, "applied": m.applied, "held": m.held}
                for m in self.skills
            ],
            "dropped": [m.skill for m in self.dropped],
            "lowered": [
                {"skill": m.skill, "from": m.required, "to": m.applied} for m in self.lowered
            ],
            "steps": [_step_record(step) for step in self.steps],
            "capacity": self.capacity,
            "load": self.load,
            "loads": {str(channel): count for channel, count in self.loads.items()},
        }


@dataclass(frozen=True, slots=True)
class Candidate:
    """An agent together with its eligibility for one task."""

    agent: AgentSnapshot
    eligibility: Eligibility


_LanguageMatch = tuple[dict[str, int], WideningStep | None, bool]


def _match_language(
    agent: AgentSnapshot, task: TaskSnapshot, queue: QueueConfig, steps: Sequence[WideningStep]
) -> _LanguageMatch | None:
    """The least widened way the agent's languages fit the task, or None."""
    floor = queue.min_language_level
    spoken = OFFICIAL_LANGUAGES if task.language == "und" else (task.language,)
    levels = {code: agent.level(code) for code in OFFICIAL_LANGUAGES}
    weakest = min(levels[code] for code in spoken)
    if weakest >= floor:
        return {code: levels[code] for code in spoken}, None, False
    # Bilingual: the task's language(s) at the step's level, and one official language at the
    # queue's level; a higher min_level is the smaller concession, so it is tried first.
    bilingual = [s for s in steps if s.kind is WideningKind.BILINGUAL]
    for step in sorted(bilingual, key=lambda s: -(s.min_level or floor)):
        if weakest >= (step.min_level or floor) and max(levels.values()) >= floor:
            return {code: level for code, level in levels.items() if level}, step, False
    # Other language: machine translation bridges to a language the agent speaks fluently.
    fluent = {code: level for code, level in levels.items() if level >= floor}
    translation = [s for s in steps if s.kind is WideningKind.OTHER_LANGUAGE]
    if translation and fluent:
        return fluent, translation[0], True
    return None


def _match_skills(
    agent: AgentSnapshot, task: TaskSnapshot, queue: QueueConfig, steps: Sequence[WideningStep]
) -> tuple[SkillMatch, ...]:
    """Each requirement (queue and task, the higher level wins) against the agent's level."""
    required = dict(queue.required_skills)
    for skill, level in task.skills.items():
        required[skill] = max(level, required.get(skill, 0))
    matches = []
    for skill in sorted(required):
        needed, held = required[skill], agent.skills.get(skill, 0)
        match = SkillMatch(skill=skill, required=needed, applied=needed, held=held)
        if held < needed:
            lowering = [
                s
                for s in steps
                if s.kind is WideningKind.LOWER_SKILL_LEVEL
                and s.skill in (None, skill)
                and (s.min_level or needed) < needed
            ]
            # Prefer the mildest lowering that the agent passes, then dropping the skill.
            passing = [s for s in lowering if held >= (s.min_level or needed)]
            dropping = [s for s in steps if s.kind is WideningKind.DROP_SKILL and s.skill == skill]
            if passing:
                step = max(passing, key=lambda s: s.min_level or 0)
                match = SkillMatch(
                    skill=skill, required=needed, applied=step.min_level, held=held, step=step
                )
            elif dropping:
                match = SkillMatch(
                    skill=skill, required=needed, applied=None, held=held, step=dropping[0]
                )
            elif lowering:
                lowest = min(s.min_level or needed for s in lowering)
                match = SkillMatch(skill=skill, required=needed, applied=lowest, held=held)
        matches.append(match)
    return tuple(matches)


def _assess(
    agent: AgentSnapshot,
    task: TaskSnapshot,
    queue: QueueConfig,
    waited: timedelta,
    steps: Sequence[WideningStep],
) -> Eligibility:
    reasons: list[Reason] = []
    channel = task.channel
    if channel not in queue.channels:
        reasons.append(Reason(Refusal.CHANNEL_NOT_SERVED, str(channel)))
    if not queue.accepts_language(task.language):
        reasons.append(Reason(Refusal.LANGUAGE_NOT_SERVED, task.language))
    if agent.status is not AgentStatus.AVAILABLE:
        reasons.append(Reason(Refusal.NOT_AVAILABLE, str(agent.status)))
    if agent.id in task.declined_agent_ids:
        reasons.append(Reason(Refusal.DECLINED))
    if queue.tiers and agent.tier not in queue.tiers:
        reasons.append(Reason(Refusal.TIER, str(agent.tier)))
    if channel is Channel.PHONE and not agent.stream_connected:
        reasons.append(Reason(Refusal.STREAM_DISCONNECTED))
    capacity, load = agent.capacity[channel], agent.load[channel]
    if load >= capacity:
        reasons.append(Reason(Refusal.NO_CAPACITY, str(channel)))
    if channel.is_written and agent.load[Channel.PHONE] and not queue.written_during_calls:
        reasons.append(Reason(Refusal.ON_CALL))
    if channel is Channel.PHONE and agent.written_load and not queue.written_during_calls:
        reasons.append(Reason(Refusal.HOLDING_WRITTEN))
    language = _match_language(agent, task, queue, steps)
    if language is None:
        reasons.append(Reason(Refusal.LANGUAGE, task.language))
    skills = _match_skills(agent, task, queue, steps)
    for match in skills:
        if not match.met:
            code = Refusal.SKILL_LEVEL if match.held else Refusal.SKILL_MISSING
            reasons.append(Reason(code, match.skill))
    levels, language_step, needs_translation = language or ({}, None, False)
    return Eligibility(
        agent_id=agent.id,
        task_id=task.id,
        queue_id=queue.id,
        channel=channel,
        waited=waited,
        reasons=tuple(reasons),
        languages=MappingProxyType(levels),
        language_step=language_step,
        needs_translation=needs_translation,
        skills=skills,
        capacity=capacity,
        load=load,
        loads=agent.load,
    )


def eligible(
    agent: AgentSnapshot, task: TaskSnapshot, queue: QueueConfig, *, waited: timedelta
) -> Eligibility:
    """Whether ``agent`` may take ``task`` in ``queue`` after ``waited``, with every reason."""
    return _assess(agent, task, queue, waited, active_steps(queue, task.channel, waited))


def eligible_agents(
    agents: Iterable[AgentSnapshot], task: TaskSnapshot, queue: QueueConfig, *, waited: timedelta
) -> list[Candidate]:
    """The agents that may take ``task`` now, each with its eligibility, in input order."""
    steps = active_steps(queue, task.channel, waited)
    assessed = (Candidate(agent, _assess(agent, task, queue, waited, steps)) for agent in agents)
    return [candidate for candidate in assessed if candidate.eligibility.eligible]


#: Every language a task can be in: ``und`` when detection could not tell.
TASK_LANGUAGES: tuple[TaskLanguage, ...] = ("en", "fr", "und")


def queue_languages(queue: QueueConfig) -> tuple[TaskLanguage, ...]:
    """The task languages the queue takes: its own, or all three for a bilingual queue."""
    return tuple(language for language in TASK_LANGUAGES if queue.accepts_language(language))


def takes(
    agent: AgentSnapshot, queue: QueueConfig, *, now: datetime, widened: bool = True
) -> frozenset[tuple[Channel, TaskLanguage]]:
    """The channels and languages of the queue's work ``agent`` may be offered, for a task
    arriving now, by the same rule as any task (``eligible``): one with no extra skill that no
    one has declined yet. ``widened=False`` applies the queue's base rule (no widening step)."""
    rule = queue if widened else replace(queue, widening=())
    return frozenset(
        (channel, language)
        for channel in queue.channels
        for language in queue_languages(queue)
        if eligible(agent, _probe(channel, language, now), rule, waited=timedelta(0)).eligible
    )


def as_free(agent: AgentSnapshot) -> AgentSnapshot:
    """The agent as if available, its stream connected and holding nothing: what it may take
    at all, whatever it is doing now."""
    return replace(agent, status=AgentStatus.AVAILABLE, stream_connected=True, load={})


def _probe(channel: Channel, language: TaskLanguage, now: datetime) -> TaskSnapshot:
    return TaskSnapshot(id=uuid.UUID(int=0), channel=channel, language=language, arrived_at=now)
