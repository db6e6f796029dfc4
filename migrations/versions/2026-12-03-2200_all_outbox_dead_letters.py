"""all: an event refused again and again is dead-lettered, not retried for ever

Revision ID: a1c0de000009
Revises: a1c0de000008
Create Date: 2026-12-03 22:00:00

Each outbox row counts the failures that were its own (``rejections``: the peer refused it as
invalid, or its handler failed), apart from outages, and records when it was set aside for an
operator (``dead_at``). Rows existing at upgrade time start with none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "a1c0de000009"
down_revision: str | None = "a1c0de000008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("inbox_outbox_event", "routing_outbox_event")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("rejections", sa.Integer(), server_default="0", nullable=False)
            )
            batch_op.add_column(
                sa.Column("dead_at", shared.db.UTCDateTime(timezone=True), nullable=True)
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("dead_at")
            batch_op.drop_column("rejections")
