"""inbox: a contact merged into another remembers which

Revision ID: a1c0de000011
Revises: a1c0de000010
Create Date: 2026-12-04 21:00:00

A supervisor merges two contacts that are one customer: the other's identities and conversations
move to the contact kept, and the one left behind names it (``merged_into_id``). Existing
contacts were merged into none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c0de000011"
down_revision: str | None = "a1c0de000010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No foreign key: on SQLite adding one rebuilds the contact table, which every conversation
    # and identity references; the merge alone writes the column, with a contact it has locked.
    op.add_column("inbox_contact", sa.Column("merged_into_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbox_contact", schema=None) as batch_op:
        batch_op.drop_column("merged_into_id")
