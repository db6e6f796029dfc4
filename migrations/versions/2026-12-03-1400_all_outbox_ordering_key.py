"""all: outbox events carry their conversation, delivered in order across relays

Revision ID: a1c0de000007
Revises: a1c0de000006
Create Date: 2026-12-03 14:00:00

Each outbox row keeps the conversation its event is about (``ordering_key``), and a partial
index over undelivered rows by that key and time lets a relay see, for each candidate,
whether an earlier event of its conversation is still waiting. Rows waiting at upgrade time
take the key from their payload.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c0de000007"
down_revision: str | None = "a1c0de000006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("inbox_outbox_event", "routing_outbox_event")
PENDING = sa.text("delivered_at IS NULL")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    key = (
        "payload ->> 'conversation_id'"
        if postgresql
        else "json_extract(payload, '$.conversation_id')"
    )
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("ordering_key", sa.String(length=64), nullable=True))
            batch_op.create_index(
                f"ix_{table}_pending_by_key",
                ["ordering_key", "occurred_at"],
                unique=False,
                postgresql_where=PENDING,
                sqlite_where=PENDING,
            )
        op.execute(f"UPDATE {table} SET ordering_key = {key} WHERE delivered_at IS NULL")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(
                f"ix_{table}_pending_by_key", postgresql_where=PENDING, sqlite_where=PENDING
            )
            batch_op.drop_column("ordering_key")
