"""API tokens: issue, list, revoke, and resolve a presented token to its principal."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.inbox.errors import TokenNotFound
from services.inbox.models import ApiToken
from shared.auth import Principal, Role, generate_token, hash_token
from shared.clients.routing import RoutingClient
from shared.db import utc_now
from shared.errors import FieldError, InvalidInput
from shared.logging import get_logger

log = get_logger(__name__)

#: The reason an agent token for an agent routing does not know is refused (as for transfers).
REASON_NO_AGENT = "No agent has this id."


async def check_token_agent(routing: RoutingClient, agent_id: uuid.UUID | None) -> None:
    """Refuse (422 on ``agent_id``) binding a token to an agent routing does not know. Asks
    routing, so call it before the first write; raises PeerUnavailable while it cannot answer."""
    if agent_id is not None and await routing.agent_queues(agent_id) is None:
        raise InvalidInput(errors=[FieldError("agent_id", "agent_not_found", REASON_NO_AGENT)])


async def create_token(
    session: AsyncSession, *, role: Role, name: str, agent_id: uuid.UUID | None = None
) -> tuple[ApiToken, str]:
    """Store a new token's hash; returns the row and the secret, which is never stored."""
    secret = generate_token()
    row = ApiToken(
        id=uuid.uuid4(),
        token_hash=hash_token(secret),
        role=role.value,
        name=name,
        agent_id=agent_id,
        created_at=utc_now(),
    )
    session.add(row)
    await session.flush()
    return row, secret


async def list_tokens(session: AsyncSession) -> Sequence[ApiToken]:
    """All tokens, newest first, revoked ones included."""
    return (await session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc()))).all()


async def revoke_token(session: AsyncSession, token_id: uuid.UUID) -> ApiToken:
    """Mark a token revoked (idempotent); raises TokenNotFound."""
    row = await session.get(ApiToken, token_id)
    if row is None:
        raise TokenNotFound(token_id=str(token_id))
    if row.revoked_at is None:
        row.revoked_at = utc_now()
    return row


async def revoke_agent_tokens(session: AsyncSession, *, agent_id: uuid.UUID, now: datetime) -> int:
    """Mark revoked every token of the agent not revoked yet (routing deleted the agent);
    returns how many. Tokens revoked before keep their time."""
    result = await session.execute(
        update(ApiToken)
        .where(ApiToken.agent_id == agent_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    revoked = int(result.rowcount)  # type: ignore[attr-defined]
    log.info("tokens.revoked_for_deleted_agent", agent_id=str(agent_id), tokens=revoked)
    return revoked


async def find_principal(session: AsyncSession, token: str) -> Principal | None:
    """The principal of a valid, unrevoked token, or None."""
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None:
        return None
    return Principal(role=Role(row.role), name=row.name, token_id=row.id, agent_id=row.agent_id)


class DatabaseVerifier:
    """Verifies tokens against the inbox's table, caching answers for ``ttl`` seconds."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, ttl: float) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    def forget(self) -> None:
        """Drop cached answers (after a revocation in this process)."""
        self._cache.clear()

    async def verify(self, token: str) -> Principal | None:
        now = time.monotonic()
        cached = self._cache.get(token)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        async with self._sessions() as session:
            principal = await find_principal(session, token)
        if self._ttl > 0:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[token] = (now, principal)
        return principal
