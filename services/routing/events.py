"""How routing applies the events it receives from the inbox, by event type."""

from __future__ import annotations

from shared.consumer import Handler

#: Event type → handler. Events without a handler are recorded as processed and acknowledged.
HANDLERS: dict[str, Handler] = {}
