"""Typed client for the routing service."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from shared.clients.base import PeerRejected, ServiceClient
from shared.contracts.events import EventAck, EventEnvelope
from shared.contracts.routing import (
    AgentQueues,
    Availability,
    AvailabilityQuery,
    HandoverCheck,
    HandoverQuery,
)


class RoutingClient(ServiceClient):
    service: ClassVar[str] = "routing"

    async def deliver_event(self, envelope: EventEnvelope) -> EventAck:
        """Hand an outbox event to routing; routing applies it at most once."""
        return await self.call(
            "POST", "/routing/v1/events", EventAck, json=envelope.model_dump(mode="json")
        )

    async def availability(self, query: AvailabilityQuery) -> Availability:
        """Whether a contact would be queued now or meet a closed queue (calls ask this)."""
        return await self.call(
            "POST", "/routing/v1/availability", Availability, json=query.model_dump(mode="json")
        )

    async def check_handover(self, query: HandoverQuery) -> HandoverCheck:
        """Whether routing would place a transfer or an escalation where it asks, else why not."""
        return await self.call(
            "POST", "/routing/v1/handovers/check", HandoverCheck, json=query.model_dump(mode="json")
        )

    async def agent_queues(self, agent_id: UUID) -> AgentQueues | None:
        """The queues the agent serves; None when routing knows no such agent."""
        try:
            return await self.call("GET", f"/routing/v1/agents/{agent_id}/queues", AgentQueues)
        except PeerRejected as exc:
            if exc.params.get("peer_status") == 404:
                return None
            raise
