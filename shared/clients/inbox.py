"""Typed client for the inbox service, and the token verifier built on it."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import ClassVar
from uuid import UUID

from shared.auth import Principal, Role
from shared.clients.base import PeerRejected, ServiceClient
from shared.contracts.events import EventAck, EventEnvelope
from shared.contracts.inbox import MAX_TOKEN_CHARS, TokenIntrospection, TokenIntrospectRequest
from shared.errors import Unavailable


class InboxClient(ServiceClient):
    service: ClassVar[str] = "inbox"

    async def introspect_token(self, token: str) -> TokenIntrospection:
        """Ask the inbox, which owns API tokens, whether this one is valid."""
        return await self.call(
            "POST",
            "/inbox/v1/auth/introspect",
            TokenIntrospection,
            json=TokenIntrospectRequest(token=token).model_dump(),
        )

    async def deliver_event(self, envelope: EventEnvelope) -> EventAck:
        """Hand an outbox event to the inbox; the inbox applies it at most once."""
        return await self.call(
            "POST", "/inbox/v1/events", EventAck, json=envelope.model_dump(mode="json")
        )

    async def conversation_exists(self, conversation_id: UUID) -> bool:
        """Whether the inbox has this conversation (False when it answers 404). Raises
        PeerUnavailable while the inbox cannot be reached, PeerRejected on any other refusal."""
        try:
            await self.send("GET", f"/inbox/v1/conversations/{conversation_id}")
        except PeerRejected as exc:
            if exc.params.get("peer_status") == 404:
                return False
            raise
        return True


class IntrospectingVerifier:
    """Verifies tokens through the inbox, caching answers for ``ttl`` seconds.

    A revoked token stops working on this service within ``ttl``. While the inbox is
    unreachable, a token already known to be valid keeps working for ``stale_ttl``.
    """

    def __init__(self, client: InboxClient, *, ttl: float = 10.0, stale_ttl: float = 300.0) -> None:
        self._client = client
        self._ttl = ttl
        self._stale_ttl = stale_ttl
        self._cache: OrderedDict[str, tuple[float, Principal | None]] = OrderedDict()

    async def verify(self, token: str) -> Principal | None:
        if len(token) > MAX_TOKEN_CHARS:
            return None
        now = time.monotonic()
        cached = self._cache.get(token)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        try:
            answer = await self._client.introspect_token(token)
        except Unavailable:
            if cached is not None and cached[1] is not None and now - cached[0] < self._stale_ttl:
                return cached[1]
            raise
        principal = (
            Principal(
                role=Role(answer.role),
                name=answer.name or "",
                token_id=answer.token_id,
                agent_id=answer.agent_id,
            )
            if answer.active and answer.role
            else None
        )
        self._cache[token] = (now, principal)
        self._cache.move_to_end(token)
        while len(self._cache) > 10_000:
            self._cache.popitem(last=False)
        return principal
