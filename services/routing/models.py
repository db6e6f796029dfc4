"""Every table routing owns (names start with ``routing_``)."""

from __future__ import annotations

from shared.db import Base
from shared.outbox import OutboxEventMixin, ProcessedEventMixin


class OutboxEvent(OutboxEventMixin, Base):
    __tablename__ = "routing_outbox_event"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "routing_processed_event"
