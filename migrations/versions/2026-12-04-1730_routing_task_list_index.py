"""routing: an index for the task list, newest first

Revision ID: a1c0de00000f
Revises: a1c0de00000e
Create Date: 2026-12-04 17:30:00

``GET /routing/v1/tasks`` pages through tasks by (queued_at, id), newest first; without an
index each page sorted the whole task table.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a1c0de00000f"
down_revision: str | None = "a1c0de00000e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("routing_task", schema=None) as batch_op:
        batch_op.create_index("ix_routing_task_queued", ["queued_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("routing_task", schema=None) as batch_op:
        batch_op.drop_index("ix_routing_task_queued")
