"""Turns routing's rows into the immutable snapshots the decision core works on."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from services.routing.engine.model import (
    AgentSnapshot,
    AgentStatus,
    Channel,
    QueueConfig,
    QueueRule,
    RoutingPolicy,
    TaskSnapshot,
    WideningKind,
    WideningStep,
)
from services.routing.models import Agent, Queue, Task
from services.routing.models import QueueRule as QueueRuleRow
from services.routing.queues.documents import business_hours

Loads = Mapping[Channel, int]


def widening_step(document: Mapping[str, Any]) -> WideningStep:
    """One widening step from its JSON document."""
    return WideningStep(
        after_seconds=int(document["after_seconds"]),
        kind=WideningKind(document["kind"]),
        min_level=document.get("min_level"),
        skill=document.get("skill"),
        channels=frozenset(Channel(c) for c in document.get("channels", [])),
    )


def queue_config(row: Queue) -> QueueConfig:
    """The decision core's view of a queue row; raises ValueError when it is inconsistent."""
    return QueueConfig(
        id=row.id,
        name=row.name,
        language=row.language,  # type: ignore[arg-type]
        channels=frozenset(Channel(c) for c in row.channels),
        required_skills=dict(row.required_skills),
        priority=row.priority,
        policy=RoutingPolicy(row.policy),
        widening=tuple(widening_step(step) for step in row.widening),
        min_language_level=row.min_language_level,
        service_level_seconds=row.service_level_seconds,
        service_level_percent=row.service_level_percent,
        wrap_up_seconds=row.wrap_up_seconds,
        offer_timeout_seconds=row.offer_timeout_seconds,
        written_during_calls=row.written_during_calls,
        tiers=frozenset(row.tiers),
        hours=business_hours(row.hours),
    )


def queue_rule(row: QueueRuleRow) -> QueueRule:
    """The decision core's view of a rule row."""
    return QueueRule(
        queue_id=row.queue_id,
        order=row.order,
        channels=frozenset(Channel(c) for c in row.channels),
        languages=frozenset(row.languages),
        skills=frozenset(row.skills),
        attributes=dict(row.attributes),
    )


def capacity(row: Agent) -> dict[Channel, int]:
    """The agent's capacity per channel."""
    return {
        Channel.PHONE: row.capacity_phone,
        Channel.EMAIL: row.capacity_email,
        Channel.FAX: row.capacity_fax,
    }


def stream_connected(row: Agent, *, now: datetime, stale_after: timedelta) -> bool:
    """True when a live stream refreshed the agent recently and has not dropped since."""
    seen = row.stream_seen_at
    if seen is None or now - seen > stale_after:
        return False
    return row.stream_dropped_at is None or row.stream_dropped_at < seen


def agent_snapshot(
    row: Agent,
    *,
    languages: Mapping[str, int],
    skills: Mapping[str, int],
    load: Loads,
    now: datetime,
    stale_after: timedelta,
) -> AgentSnapshot:
    """The decision core's view of an agent with its current load per channel."""
    return AgentSnapshot(
        id=row.id,
        languages=languages,
        skills=skills,
        status=AgentStatus(row.status),
        idle_since=row.idle_since,
        stream_connected=stream_connected(row, now=now, stale_after=stale_after),
        capacity=capacity(row),
        load=load,
        away_reason=row.away_reason,
        last_assigned_at=row.last_assigned_at,
        tier=row.tier,
    )


def task_snapshot(row: Task, *, declined: Collection[uuid.UUID] = ()) -> TaskSnapshot:
    """The decision core's view of a task; ``arrived_at`` is when it entered its queue."""
    return TaskSnapshot(
        id=row.id,
        channel=Channel(row.channel),
        language=row.language,  # type: ignore[arg-type]
        arrived_at=row.queued_at,
        skills=dict(row.skills),
        priority=row.priority,
        queue_id=row.queue_id,
        preferred_agent_id=row.preferred_agent_id,
        attributes=dict(row.attributes),
        declined_agent_ids=frozenset(declined),
    )
