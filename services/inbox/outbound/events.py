"""The inbox's own outbox event for mail: a queued email to send once."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from shared.contracts.events import Event


class EmailQueued(Event):
    """An outgoing email was stored with its final bytes; the relay sends it."""

    event_type: ClassVar[str] = "email.queued"

    message_id: UUID
