"""Every table routing owns (names start with ``routing_``).

Exclusivity lives in the schema as well as in the engine: a partial unique index allows one
pending offer per task and one open task per conversation, and ``routing_assignment`` holds at
most one row per task, so a task can be neither offered to two agents at once nor assigned twice
whatever a process does.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, JsonDocument, UTCDateTime, utc_now
from shared.outbox import OutboxEventMixin, ProcessedEventMixin

#: Task states that hold the conversation (at most one such task per conversation).
OPEN_TASK_STATES = ("waiting", "offered", "assigned")
#: The predicate of the partial index that keeps one open task per conversation.
OPEN_TASK_CONDITION = text("state IN ('waiting', 'offered', 'assigned')")
_PENDING = text("state = 'pending'")
_WAITING = text("state = 'waiting'")
_HELD = text("state IN ('offered', 'assigned')")


class Agent(Base):
    """A person who takes contacts: presence, capacity per channel and routing history."""

    __tablename__ = "routing_agent"
    __table_args__ = (
        CheckConstraint("tier >= 1", name="tier_positive"),
        CheckConstraint(
            "capacity_phone >= 0 AND capacity_email >= 0 AND capacity_fax >= 0",
            name="capacity_not_negative",
        ),
        Index("ix_routing_agent_status", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    tier: Mapped[int] = mapped_column(Integer, default=1)
    capacity_phone: Mapped[int] = mapped_column(Integer, default=1)
    capacity_email: Mapped[int] = mapped_column(Integer, default=3)
    capacity_fax: Mapped[int] = mapped_column(Integer, default=2)
    status: Mapped[str] = mapped_column(String(20), default="offline")
    away_reason: Mapped[str | None] = mapped_column(String(50))
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    idle_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    wrap_up_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    missed_offers: Mapped[int] = mapped_column(Integer, default=0)
    stream_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stream_dropped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    languages: Mapped[list[AgentLanguage]] = relationship(
        lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )
    skills: Mapped[list[AgentSkill]] = relationship(
        lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )


class AgentLanguage(Base):
    """A language an agent speaks, at a level from 1 to 5."""

    __tablename__ = "routing_agent_language"
    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),)

    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("routing_agent.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    level: Mapped[int] = mapped_column(Integer)


class AgentSkill(Base):
    """A skill an agent holds, at a level from 1 to 5."""

    __tablename__ = "routing_agent_skill"
    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),)

    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("routing_agent.id", ondelete="CASCADE"), primary_key=True
    )
    skill: Mapped[str] = mapped_column(String(100), primary_key=True)
    level: Mapped[int] = mapped_column(Integer)


class Queue(Base):
    """A queue's routing configuration; hours and widening steps are JSON documents."""

    __tablename__ = "routing_queue"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    language: Mapped[str] = mapped_column(String(10))
    channels: Mapped[list[str]] = mapped_column(JsonDocument)
    required_skills: Mapped[dict[str, int]] = mapped_column(JsonDocument, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    policy: Mapped[str] = mapped_column(String(20), default="longest_idle")
    min_language_level: Mapped[int] = mapped_column(Integer, default=4)
    service_level_seconds: Mapped[int] = mapped_column(Integer, default=60)
    service_level_percent: Mapped[int] = mapped_column(Integer, default=80)
    wrap_up_seconds: Mapped[int] = mapped_column(Integer, default=30)
    offer_timeout_seconds: Mapped[int] = mapped_column(Integer, default=30)
    written_during_calls: Mapped[bool] = mapped_column(Boolean, default=False)
    tiers: Mapped[list[int]] = mapped_column(JsonDocument, default=list)
    widening: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument, default=list)
    hours: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    rules: Mapped[list[QueueRule]] = relationship(
        lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )


class QueueRule(Base):
    """Sends tasks matching its conditions to its queue; rules are tried by ascending order."""

    __tablename__ = "routing_queue_rule"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    queue_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("routing_queue.id", ondelete="CASCADE"), index=True
    )
    order: Mapped[int] = mapped_column(Integer, default=0)
    channels: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    languages: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    skills: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    attributes: Mapped[dict[str, str]] = mapped_column(JsonDocument, default=dict)


class Task(Base):
    """One conversation's need for an agent, from arrival to completion, with its why."""

    __tablename__ = "routing_task"
    __table_args__ = (
        Index(
            "uq_routing_task_open_conversation",
            "conversation_id",
            unique=True,
            postgresql_where=OPEN_TASK_CONDITION,
            sqlite_where=OPEN_TASK_CONDITION,
        ),
        Index(
            "ix_routing_task_held",
            "agent_id",
            "channel",
            postgresql_where=_HELD,
            sqlite_where=_HELD,
        ),
        Index("ix_routing_task_agent_state", "agent_id", "state"),
        Index("ix_routing_task_state_wrap_up", "state", "wrap_up_until"),
        # The task list, newest first, page after page (GET /routing/v1/tasks).
        Index("ix_routing_task_queued", "queued_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    conversation_id: Mapped[uuid.UUID] = mapped_column(index=True)
    contact_id: Mapped[uuid.UUID | None] = mapped_column()
    message_id: Mapped[uuid.UUID | None] = mapped_column()
    callback_id: Mapped[uuid.UUID | None] = mapped_column()
    channel: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(3))
    skills: Mapped[dict[str, int]] = mapped_column(JsonDocument, default=dict)
    attributes: Mapped[dict[str, str]] = mapped_column(JsonDocument, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime)
    queue_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("routing_queue.id", ondelete="SET NULL")
    )
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20), default="waiting")
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("routing_agent.id", ondelete="SET NULL")
    )
    preferred_agent_id: Mapped[uuid.UUID | None] = mapped_column()
    wait_reason: Mapped[str | None] = mapped_column(String(40))
    route: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    needs_translation: Mapped[bool] = mapped_column(Boolean, default=False)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    wrap_up_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


# Each queue's waiting tasks in the order the matcher takes them (priority first, then the
# longest waiting), so a pass reads only the head of each open queue whatever waits behind it
# or in closed queues; defined here because its order is descending on priority.
Index(
    "ix_routing_task_waiting",
    Task.queue_id,
    Task.priority.desc(),
    Task.queued_at,
    Task.id,
    postgresql_where=_WAITING,
    sqlite_where=_WAITING,
)


class Reservation(Base):
    """An offer: one task reserved for one agent until it answers or the offer expires."""

    __tablename__ = "routing_reservation"
    __table_args__ = (
        Index(
            "uq_routing_reservation_pending_task",
            "task_id",
            unique=True,
            postgresql_where=_PENDING,
            sqlite_where=_PENDING,
        ),
        Index("ix_routing_reservation_agent_state", "agent_id", "state"),
        Index("ix_routing_reservation_state_expires", "state", "expires_at"),
        Index("ix_routing_reservation_task", "task_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("routing_task.id", ondelete="CASCADE"))
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("routing_agent.id", ondelete="CASCADE"))
    queue_id: Mapped[uuid.UUID | None] = mapped_column()
    channel: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    why: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)


class Assignment(Base):
    """The record of a task given to an agent; one per task, kept after the task ends."""

    __tablename__ = "routing_assignment"
    __table_args__ = (Index("ix_routing_assignment_agent", "agent_id", "assigned_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("routing_task.id", ondelete="CASCADE"), unique=True
    )
    reservation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("routing_reservation.id", ondelete="CASCADE"), unique=True
    )
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("routing_agent.id", ondelete="CASCADE"))
    queue_id: Mapped[uuid.UUID | None] = mapped_column()
    channel: Mapped[str] = mapped_column(String(10))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    needs_translation: Mapped[bool] = mapped_column(Boolean, default=False)


class Callback(Base):
    """A follow-up call scheduled for a time; it becomes a task when due."""

    __tablename__ = "routing_callback"
    __table_args__ = (Index("ix_routing_callback_state_due", "state", "due_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    conversation_id: Mapped[uuid.UUID] = mapped_column()
    contact_id: Mapped[uuid.UUID | None] = mapped_column()
    agent_id: Mapped[uuid.UUID | None] = mapped_column()
    #: The agent who asked for it (who may read it whoever makes the call); None when a
    #: supervisor, an admin or a service asked, and for callbacks from before it was kept.
    requested_by_agent_id: Mapped[uuid.UUID | None] = mapped_column()
    language: Mapped[str] = mapped_column(String(3))
    skills: Mapped[dict[str, int]] = mapped_column(JsonDocument, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)
    #: The E.164 number to call, as asked (the contact may have several).
    phone: Mapped[str | None] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20), default="scheduled")
    task_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class AgentEvent(Base):
    """An event on an agent's live stream, kept for a while so reconnecting streams resume.

    Rows are written while holding the agent's row lock, so one agent's ids commit in order
    and a stream that resumes after an id misses none.
    """

    __tablename__ = "routing_agent_event"
    __table_args__ = (Index("ix_routing_agent_event_agent", "agent_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    agent_id: Mapped[uuid.UUID] = mapped_column()
    type: Mapped[str] = mapped_column(String(40))
    reservation_id: Mapped[uuid.UUID | None] = mapped_column()
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class OutboxEvent(OutboxEventMixin, Base):
    __tablename__ = "routing_outbox_event"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "routing_processed_event"
