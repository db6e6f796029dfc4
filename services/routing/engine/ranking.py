"""Which agent gets a task first, which task an agent gets first, and which queue a task enters."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from services.routing.engine.eligibility import Candidate
from services.routing.engine.model import (
    QueueConfig,
    QueueRule,
    RoutingPolicy,
    TaskSnapshot,
)

_NEVER = datetime.min.replace(tzinfo=UTC)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


_PolicyKey = tuple[int, int, int, datetime]


def _policy_key(candidate: Candidate, policy: RoutingPolicy, now: datetime) -> _PolicyKey:
    agent, eligibility = candidate.agent, candidate.eligibility
    if policy is RoutingPolicy.ROUND_ROBIN:
        # An agent never assigned has the next turn.
        return (0, 0, 0, agent.last_assigned_at or _NEVER)
    # An idle_since in the future (clock skew between replicas) counts as idle from now;
    # an agent without one has no claim to having waited and goes after those that have.
    unknown, idle = (0, min(agent.idle_since, now)) if agent.idle_since else (1, now)
    if policy is RoutingPolicy.MOST_SKILLED:
        skill_score = sum(match.held for match in eligibility.skills)
        language_score = min(eligibility.languages.values(), default=0)
        return (-skill_score, -language_score, unknown, idle)
    return (0, 0, unknown, idle)


def rank_agents(
    candidates: Iterable[Candidate], task: TaskSnapshot, queue: QueueConfig, *, now: datetime
) -> list[Candidate]:
    """Eligible candidates, best first; ineligible ones are left out.

    The task's preferred agent comes first when eligible (sticky routing). Then agents needing
    no machine translation, then those needing fewer widening steps, so widening only reaches
    past the agents who fit the task as it arrived. Then the queue's policy: longest_idle
    (earliest idle_since), most_skilled (highest summed levels in the required skills, then
    level in the task's language, then longest idle) or round_robin (least recently assigned).
    Ties go to the lowest agent id. Raises ValueError for a candidate assessed for another
    task or queue, or a naive ``now``.
    """
    _require_aware(now)
    ranked: list[tuple[tuple[bool, bool, int, _PolicyKey, uuid.UUID], Candidate]] = []
    for candidate in candidates:
        eligibility = candidate.eligibility
        if eligibility.task_id != task.id or eligibility.queue_id != queue.id:
            raise ValueError(
                f"agent {candidate.agent.id} was assessed for task {eligibility.task_id} "
                f"in queue {eligibility.queue_id}, not task {task.id} in queue {queue.id}"
            )
        if eligibility.agent_id != candidate.agent.id:
            raise ValueError(f"eligibility of agent {eligibility.agent_id} paired with another")
        if not eligibility.eligible:
            continue
        key = (
            candidate.agent.id != task.preferred_agent_id,
            eligibility.needs_translation,
            len(eligibility.steps),
            _policy_key(candidate, queue.policy, now),
            candidate.agent.id,
        )
        ranked.append((key, candidate))
    ranked.sort(key=lambda item: item[0])
    return [candidate for _, candidate in ranked]


def order_tasks(
    tasks: Iterable[TaskSnapshot],
    *,
    now: datetime,
    queues: Mapping[uuid.UUID, QueueConfig] | None = None,
) -> list[TaskSnapshot]:
    """Tasks in the order an agent should get them: highest priority, then longest waiting.

    With ``queues``, a task's queue priority (by ``task.queue_id``) comes before its own
    priority, so an agent serving several queues empties the most important one first.
    Ties go to the lowest task id. Raises ValueError for a naive ``now``.
    """
    _require_aware(now)
    known = queues or {}

    def key(task: TaskSnapshot) -> tuple[int, int, timedelta, uuid.UUID]:
        queue = known.get(task.queue_id) if task.queue_id else None
        # A future arrival (clock skew) has not waited yet; it must not jump ahead of real waits.
        waited = max(now - task.arrived_at, timedelta(0))
        return (-(queue.priority if queue else 0), -task.priority, -waited, task.id)

    return sorted(tasks, key=key)


def select_queue(
    task: TaskSnapshot, rules: Iterable[QueueRule], queues: Mapping[uuid.UUID, QueueConfig]
) -> QueueConfig | None:
    """The queue of the first matching rule (by ``order``) able to take the task, or None.

    A rule is passed over when its queue is unknown, does not serve the task's channel, or
    does not take the task's language (an ``und`` task only enters a bilingual queue).
    """
    for rule in sorted(rules, key=lambda rule: rule.order):
        queue = queues.get(rule.queue_id)
        if (
            queue is not None
            and rule.matches(task)
            and task.channel in queue.channels
            and queue.accepts_language(task.language)
        ):
            return queue
    return None
