"""routing: indexes for cheap matching passes

Revision ID: a1c0de000006
Revises: a1c0de000005
Create Date: 2026-12-03 07:00:00

The waiting-task index follows the matcher's order (queue, priority descending, time queued,
id), so each pass reads only the head of each open queue, however many tasks wait behind it
or in closed queues. A partial index over held tasks (offered or assigned) by agent and
channel makes counting the agents' loads proportional to the work in hand, not to history.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c0de000006"
down_revision: str | None = "a1c0de000005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = sa.text("state = 'waiting'")
HELD = sa.text("state IN ('offered', 'assigned')")


def upgrade() -> None:
    with op.batch_alter_table("routing_task", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_routing_task_waiting", postgresql_where=WAITING, sqlite_where=WAITING
        )
        batch_op.create_index(
            "ix_routing_task_waiting",
            ["queue_id", sa.text("priority DESC"), "queued_at", "id"],
            unique=False,
            postgresql_where=WAITING,
            sqlite_where=WAITING,
        )
        batch_op.create_index(
            "ix_routing_task_held",
            ["agent_id", "channel"],
            unique=False,
            postgresql_where=HELD,
            sqlite_where=HELD,
        )


def downgrade() -> None:
    with op.batch_alter_table("routing_task", schema=None) as batch_op:
        batch_op.drop_index("ix_routing_task_held", postgresql_where=HELD, sqlite_where=HELD)
        batch_op.drop_index(
            "ix_routing_task_waiting", postgresql_where=WAITING, sqlite_where=WAITING
        )
        batch_op.create_index(
            "ix_routing_task_waiting",
            ["queue_id", "priority", "queued_at"],
            unique=False,
            postgresql_where=WAITING,
            sqlite_where=WAITING,
        )
