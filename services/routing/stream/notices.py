"""Notices for an agent from the inbox, shown on the agent's live stream beside its offers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.engine import offers
from shared.contracts.inbox_events import EmailFailed


async def email_failed(session: AsyncSession, event: EmailFailed, *, now: datetime) -> None:
    """Tell the agent an email it wrote (or of its conversation) was not delivered; nothing
    for an agent that no longer exists."""
    agents = await offers.lock_agents(session, [event.agent_id])
    if event.agent_id not in agents:
        return
    payload = event.model_dump(mode="json", exclude={"agent_id"})
    offers.record_agent_events(session, now, [(event.agent_id, "email.failed", payload)])
