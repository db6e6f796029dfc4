"""Events the inbox sends itself through its outbox (work done after the commit, with retries)."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from shared.contracts.events import Event


class EmailQueued(Event):
    """An outgoing email was stored with its final bytes; the relay sends it."""

    event_type: ClassVar[str] = "email.queued"

    message_id: UUID


class AcknowledgementDue(Event):
    """A new email conversation may be acknowledged in the customer's language."""

    event_type: ClassVar[str] = "acknowledgement.due"

    conversation_id: UUID
