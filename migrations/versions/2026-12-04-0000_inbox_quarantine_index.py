"""inbox: the emails waiting in quarantine are listed and counted through a partial index

Revision ID: a1c0de00000a
Revises: a1c0de000009
Create Date: 2026-12-04 00:00:00

Supervisors now release or dismiss quarantined emails, and the metrics count those waiting:
both read only the rows still in quarantine, which a partial index holds apart from every other
message. Released and dismissed emails keep their rows (new ``status`` values, no new column).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c0de00000a"
down_revision: str | None = "a1c0de000009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUARANTINED = sa.text("status = 'quarantined'")


def upgrade() -> None:
    with op.batch_alter_table("inbox_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbox_message_quarantined",
            ["received_at", "id"],
            unique=False,
            postgresql_where=QUARANTINED,
            sqlite_where=QUARANTINED,
        )


def downgrade() -> None:
    with op.batch_alter_table("inbox_message", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_inbox_message_quarantined", postgresql_where=QUARANTINED, sqlite_where=QUARANTINED
        )
