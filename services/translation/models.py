"""Every table the translation service owns (names start with ``translation_``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, JsonDocument, UTCDateTime


class Template(Base):
    """One language version of a template: its key, locale, subject, body and variables."""

    __tablename__ = "translation_template"
    __table_args__ = (UniqueConstraint("key", "locale"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    key: Mapped[str] = mapped_column(String(100))
    locale: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(String(1000))
    body: Mapped[str] = mapped_column(Text)
    # [{"name": "total", "type": "money", "currency": "CAD"}, …] in declaration order
    variables: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument)
    single_language: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TemplateSeed(Base):
    """A seeded template version already offered once, so a deleted one is not brought back."""

    __tablename__ = "translation_template_seed"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    locale: Mapped[str] = mapped_column(String(5), primary_key=True)
    # when start-up last wrote the version (seeded it, or gave it a later release's text or
    # date): a version whose updated_at is still this was never edited since
    seeded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MachineTranslation(Base):
    """A provider's translation of a text, keyed by provider, languages and the text's SHA-256."""

    __tablename__ = "translation_machine_translation"

    provider: Mapped[str] = mapped_column(String(30), primary_key=True)
    source: Mapped[str] = mapped_column(String(10), primary_key=True)
    target: Mapped[str] = mapped_column(String(10), primary_key=True)
    text_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    translated_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


def insert_new(session: AsyncSession, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
    """An INSERT for this session's database that skips rows whose key already exists."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing()
    return sqlite.insert(model).on_conflict_do_nothing()
