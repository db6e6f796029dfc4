"""inbox: notes, tags, dispositions, timeline

Revision ID: a1c0de000004
Revises: a1c0de000003
Create Date: 2026-11-22 10:00:00
"""

from collections.abc import Sequence

revision: str = "a1c0de000004"
down_revision: str | None = "a1c0de000003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
