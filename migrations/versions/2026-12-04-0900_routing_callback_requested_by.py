"""routing: a callback keeps the agent who asked for it

Revision ID: a1c0de00000c
Revises: a1c0de00000b
Create Date: 2026-12-04 09:00:00

An agent may ask for a callback that another agent is to make; routing did not keep who asked,
so that agent could not read it afterwards (403). The inbox's ``callback.requested`` event
already carried ``requested_by_agent_id``. Callbacks scheduled before this revision have none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c0de00000c"
down_revision: str | None = "a1c0de00000b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("routing_callback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_by_agent_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("routing_callback", schema=None) as batch_op:
        batch_op.drop_column("requested_by_agent_id")
