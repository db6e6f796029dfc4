"""translation: templates, their seeding record, and the machine-translation cache

Revision ID: a1c0de000001
Revises: 154a50c34df4
Create Date: 2026-11-22 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shared.db

revision: str = "a1c0de000001"
down_revision: str | None = "154a50c34df4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "translation_machine_translation",
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=10), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("translated_text", sa.Text(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "provider",
            "source",
            "target",
            "text_sha256",
            name=op.f("pk_translation_machine_translation"),
        ),
    )
    op.create_table(
        "translation_template",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "variables",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("single_language", sa.Boolean(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_translation_template")),
        sa.UniqueConstraint("key", "locale", name=op.f("uq_translation_template_key_locale")),
    )
    op.create_table(
        "translation_template_seed",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("seeded_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", "locale", name=op.f("pk_translation_template_seed")),
    )


def downgrade() -> None:
    op.drop_table("translation_template_seed")
    op.drop_table("translation_template")
    op.drop_table("translation_machine_translation")
