"""Typed client for the routing service."""

from __future__ import annotations

from typing import ClassVar

from shared.clients.base import ServiceClient
from shared.contracts.events import EventAck, EventEnvelope


class RoutingClient(ServiceClient):
    service: ClassVar[str] = "routing"

    async def deliver_event(self, envelope: EventEnvelope) -> EventAck:
        """Hand an outbox event to routing; routing applies it at most once."""
        return await self.call(
            "POST", "/routing/v1/events", EventAck, json=envelope.model_dump(mode="json")
        )
