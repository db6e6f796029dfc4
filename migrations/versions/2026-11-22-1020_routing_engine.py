"""routing: agents, queues, tasks, offers, callbacks

Revision ID: a1c0de000002
Revises: a1c0de000001
Create Date: 2026-11-22 10:00:00

The default queues are not seeded here: the routing service seeds them at start-up when the
database has no queue at all (``services/routing/queues/seed.py``), so an operator who deletes
them keeps them deleted and a test database emptied between tests gets them back.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shared.db

revision: str = "a1c0de000002"
down_revision: str | None = "a1c0de000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_agent",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("capacity_phone", sa.Integer(), nullable=False),
        sa.Column("capacity_email", sa.Integer(), nullable=False),
        sa.Column("capacity_fax", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("away_reason", sa.String(length=50), nullable=True),
        sa.Column("status_changed_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("idle_since", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_assigned_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("wrap_up_until", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("missed_offers", sa.Integer(), nullable=False),
        sa.Column("stream_seen_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stream_dropped_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "capacity_phone >= 0 AND capacity_email >= 0 AND capacity_fax >= 0",
            name=op.f("ck_routing_agent_capacity_not_negative"),
        ),
        sa.CheckConstraint("tier >= 1", name=op.f("ck_routing_agent_tier_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_agent")),
        sa.UniqueConstraint("email", name=op.f("uq_routing_agent_email")),
    )
    with op.batch_alter_table("routing_agent", schema=None) as batch_op:
        batch_op.create_index("ix_routing_agent_status", ["status"], unique=False)

    op.create_table(
        "routing_agent_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("reservation_id", sa.Uuid(), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_agent_event")),
    )
    with op.batch_alter_table("routing_agent_event", schema=None) as batch_op:
        batch_op.create_index("ix_routing_agent_event_agent", ["agent_id", "id"], unique=False)

    op.create_table(
        "routing_callback",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("language", sa.String(length=3), nullable=False),
        sa.Column(
            "skills",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("due_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_callback")),
    )
    with op.batch_alter_table("routing_callback", schema=None) as batch_op:
        batch_op.create_index("ix_routing_callback_state_due", ["state", "due_at"], unique=False)

    op.create_table(
        "routing_queue",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column(
            "channels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "required_skills",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(length=20), nullable=False),
        sa.Column("min_language_level", sa.Integer(), nullable=False),
        sa.Column("service_level_seconds", sa.Integer(), nullable=False),
        sa.Column("service_level_percent", sa.Integer(), nullable=False),
        sa.Column("wrap_up_seconds", sa.Integer(), nullable=False),
        sa.Column("offer_timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("written_during_calls", sa.Boolean(), nullable=False),
        sa.Column(
            "tiers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "widening",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "hours",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_queue")),
        sa.UniqueConstraint("name", name=op.f("uq_routing_queue_name")),
    )
    op.create_table(
        "routing_agent_language",
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "level BETWEEN 1 AND 5", name=op.f("ck_routing_agent_language_level_range")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["routing_agent.id"],
            name=op.f("fk_routing_agent_language_agent_id_routing_agent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "language", name=op.f("pk_routing_agent_language")),
    )
    op.create_table(
        "routing_agent_skill",
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("skill", sa.String(length=100), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "level BETWEEN 1 AND 5", name=op.f("ck_routing_agent_skill_level_range")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["routing_agent.id"],
            name=op.f("fk_routing_agent_skill_agent_id_routing_agent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "skill", name=op.f("pk_routing_agent_skill")),
    )
    op.create_table(
        "routing_queue_rule",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("queue_id", sa.Uuid(), nullable=False),
        sa.Column("order", sa.Integer(), nullable=False),
        sa.Column(
            "channels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "languages",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "skills",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["routing_queue.id"],
            name=op.f("fk_routing_queue_rule_queue_id_routing_queue"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_queue_rule")),
    )
    with op.batch_alter_table("routing_queue_rule", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_routing_queue_rule_queue_id"), ["queue_id"], unique=False
        )

    op.create_table(
        "routing_task",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("callback_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("language", sa.String(length=3), nullable=False),
        sa.Column(
            "skills",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("arrived_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("queue_id", sa.Uuid(), nullable=True),
        sa.Column("queued_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("preferred_agent_id", sa.Uuid(), nullable=True),
        sa.Column("wait_reason", sa.String(length=40), nullable=True),
        sa.Column(
            "route",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("needs_translation", sa.Boolean(), nullable=False),
        sa.Column("offered_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("assigned_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("wrap_up_until", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=100), nullable=True),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["routing_agent.id"],
            name=op.f("fk_routing_task_agent_id_routing_agent"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["routing_queue.id"],
            name=op.f("fk_routing_task_queue_id_routing_queue"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_task")),
    )
    with op.batch_alter_table("routing_task", schema=None) as batch_op:
        batch_op.create_index("ix_routing_task_agent_state", ["agent_id", "state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_routing_task_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            "ix_routing_task_state_wrap_up", ["state", "wrap_up_until"], unique=False
        )
        batch_op.create_index(
            "ix_routing_task_waiting",
            ["queue_id", "priority", "queued_at"],
            unique=False,
            postgresql_where=sa.text("state = 'waiting'"),
            sqlite_where=sa.text("state = 'waiting'"),
        )
        batch_op.create_index(
            "uq_routing_task_open_conversation",
            ["conversation_id"],
            unique=True,
            postgresql_where=sa.text("state IN ('waiting', 'offered', 'assigned')"),
            sqlite_where=sa.text("state IN ('waiting', 'offered', 'assigned')"),
        )

    op.create_table(
        "routing_reservation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("queue_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("offered_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "why",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["routing_agent.id"],
            name=op.f("fk_routing_reservation_agent_id_routing_agent"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["routing_task.id"],
            name=op.f("fk_routing_reservation_task_id_routing_task"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_reservation")),
    )
    with op.batch_alter_table("routing_reservation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_routing_reservation_agent_state", ["agent_id", "state"], unique=False
        )
        batch_op.create_index(
            "ix_routing_reservation_state_expires", ["state", "expires_at"], unique=False
        )
        batch_op.create_index("ix_routing_reservation_task", ["task_id"], unique=False)
        batch_op.create_index(
            "uq_routing_reservation_pending_task",
            ["task_id"],
            unique=True,
            postgresql_where=sa.text("state = 'pending'"),
            sqlite_where=sa.text("state = 'pending'"),
        )

    op.create_table(
        "routing_assignment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("reservation_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("queue_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("assigned_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("needs_translation", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["routing_agent.id"],
            name=op.f("fk_routing_assignment_agent_id_routing_agent"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["routing_reservation.id"],
            name=op.f("fk_routing_assignment_reservation_id_routing_reservation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["routing_task.id"],
            name=op.f("fk_routing_assignment_task_id_routing_task"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_assignment")),
        sa.UniqueConstraint("reservation_id", name=op.f("uq_routing_assignment_reservation_id")),
        sa.UniqueConstraint("task_id", name=op.f("uq_routing_assignment_task_id")),
    )
    with op.batch_alter_table("routing_assignment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_routing_assignment_agent", ["agent_id", "assigned_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("routing_assignment", schema=None) as batch_op:
        batch_op.drop_index("ix_routing_assignment_agent")

    op.drop_table("routing_assignment")
    with op.batch_alter_table("routing_reservation", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_routing_reservation_pending_task",
            postgresql_where=sa.text("state = 'pending'"),
            sqlite_where=sa.text("state = 'pending'"),
        )
        batch_op.drop_index("ix_routing_reservation_task")
        batch_op.drop_index("ix_routing_reservation_state_expires")
        batch_op.drop_index("ix_routing_reservation_agent_state")

    op.drop_table("routing_reservation")
    with op.batch_alter_table("routing_task", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_routing_task_open_conversation",
            postgresql_where=sa.text("state IN ('waiting', 'offered', 'assigned')"),
            sqlite_where=sa.text("state IN ('waiting', 'offered', 'assigned')"),
        )
        batch_op.drop_index(
            "ix_routing_task_waiting",
            postgresql_where=sa.text("state = 'waiting'"),
            sqlite_where=sa.text("state = 'waiting'"),
        )
        batch_op.drop_index("ix_routing_task_state_wrap_up")
        batch_op.drop_index(batch_op.f("ix_routing_task_conversation_id"))
        batch_op.drop_index("ix_routing_task_agent_state")

    op.drop_table("routing_task")
    with op.batch_alter_table("routing_queue_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_queue_rule_queue_id"))

    op.drop_table("routing_queue_rule")
    op.drop_table("routing_agent_skill")
    op.drop_table("routing_agent_language")
    op.drop_table("routing_queue")
    with op.batch_alter_table("routing_callback", schema=None) as batch_op:
        batch_op.drop_index("ix_routing_callback_state_due")

    op.drop_table("routing_callback")
    with op.batch_alter_table("routing_agent_event", schema=None) as batch_op:
        batch_op.drop_index("ix_routing_agent_event_agent")

    op.drop_table("routing_agent_event")
    with op.batch_alter_table("routing_agent", schema=None) as batch_op:
        batch_op.drop_index("ix_routing_agent_status")

    op.drop_table("routing_agent")
