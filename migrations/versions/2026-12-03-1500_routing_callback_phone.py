"""routing: a callback keeps the number to call

Revision ID: a1c0de000008
Revises: a1c0de000007
Create Date: 2026-12-03 15:00:00

The inbox's ``callback.requested`` event always carried the E.164 number the customer asked to
be called at; routing dropped it, so the phone task it made when due did not say which number
to dial. Callbacks scheduled before this revision have none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c0de000008"
down_revision: str | None = "a1c0de000007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("routing_callback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("routing_callback", schema=None) as batch_op:
        batch_op.drop_column("phone")
