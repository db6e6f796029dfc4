"""inbox: the emails released or dismissed from quarantine are listed through a partial index

Revision ID: a1c0de00000b
Revises: a1c0de00000a
Create Date: 2026-12-04 03:00:00

``GET /inbox/v1/quarantine?state=released|dismissed`` read the whole message table; a partial
index holds those rows apart, by state and arrival, and adds nothing to the writes of the
accepted mail.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c0de00000b"
down_revision: str | None = "a1c0de00000a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HANDLED = sa.text("status IN ('released', 'dismissed')")


def upgrade() -> None:
    with op.batch_alter_table("inbox_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbox_message_handled_from_quarantine",
            ["status", "received_at", "id"],
            unique=False,
            postgresql_where=HANDLED,
            sqlite_where=HANDLED,
        )


def downgrade() -> None:
    with op.batch_alter_table("inbox_message", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_inbox_message_handled_from_quarantine",
            postgresql_where=HANDLED,
            sqlite_where=HANDLED,
        )
