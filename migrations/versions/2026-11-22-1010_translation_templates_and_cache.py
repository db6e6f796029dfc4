"""translation: templates and machine-translation cache

Revision ID: a1c0de000001
Revises: 154a50c34df4
Create Date: 2026-11-22 10:00:00
"""

from collections.abc import Sequence

revision: str = "a1c0de000001"
down_revision: str | None = "154a50c34df4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
