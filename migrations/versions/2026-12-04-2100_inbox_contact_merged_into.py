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


FK = "fk_inbox_contact_merged_into_id_inbox_contact"


def upgrade() -> None:
    op.add_column("inbox_contact", sa.Column("merged_into_id", sa.Uuid(), nullable=True))
    # SQLite adds a column in place only without a constraint; adding one there rebuilds the
    # table, which every conversation and identity references: the column goes unconstrained.
    if op.get_bind().dialect.name != "sqlite":
        op.create_foreign_key(FK, "inbox_contact", "inbox_contact", ["merged_into_id"], ["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(FK, "inbox_contact", type_="foreignkey")
    with op.batch_alter_table("inbox_contact", schema=None) as batch_op:
        batch_op.drop_column("merged_into_id")
