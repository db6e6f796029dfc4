"""Every table the inbox owns (names start with ``inbox_``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UTCDateTime, utc_now
from shared.outbox import OutboxEventMixin, ProcessedEventMixin


class ApiToken(Base):
    """An API token, stored only as its SHA-256 hash."""

    __tablename__ = "inbox_api_token"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    agent_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxEvent(OutboxEventMixin, Base):
    __tablename__ = "inbox_outbox_event"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "inbox_processed_event"
