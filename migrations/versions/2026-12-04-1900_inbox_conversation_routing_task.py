"""inbox: a conversation remembers the routing task it follows, and the one it replaced

Revision ID: a1c0de000010
Revises: a1c0de00000f
Create Date: 2026-12-04 19:00:00

Routing's ``conversation.queued`` and ``conversation.assigned`` name their task. The inbox now
keeps the task its routing fields describe (``routing_task_id``) and the task it last asked
routing to end by a transfer, an escalation or a resolve (``replaced_task_id``), so that an
event about that task delivered after the request (an accept made just before a transfer) no
longer gives the conversation back to the agent who had it. Existing rows start with neither:
their next event is applied as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c0de000010"
down_revision: str | None = "a1c0de00000f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox_conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("routing_task_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("replaced_task_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbox_conversation", schema=None) as batch_op:
        batch_op.drop_column("replaced_task_id")
        batch_op.drop_column("routing_task_id")
