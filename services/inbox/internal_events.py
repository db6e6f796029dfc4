"""Events the inbox sends itself through its outbox (work done after the commit, with retries)."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from shared.contracts.events import Event
from shared.contracts.routing_events import QueueHours


class EmailQueued(Event):
    """An outgoing email was stored with its final bytes; the relay sends it."""

    event_type: ClassVar[str] = "email.queued"

    message_id: UUID


class AcknowledgementDue(Event):
    """A new email conversation may get its automatic reply in the customer's language.

    Ingest asks without a queue; once routing has placed the conversation the inbox asks again
    with the queue's name and hours, and that request decides between the acknowledgement and
    the out-of-hours notice (see ``outbound/automatic.py``).
    """

    event_type: ClassVar[str] = "acknowledgement.due"

    conversation_id: UUID
    queue_name: str | None = None
    hours: QueueHours | None = None
