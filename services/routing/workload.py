"""Each agent's load: the contacts it holds (offered or assigned), counted per channel."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.models import Task

HELD_STATES = ("offered", "assigned")


async def agent_loads(
    session: AsyncSession, agent_ids: Collection[uuid.UUID] | None = None
) -> dict[uuid.UUID, dict[str, int]]:
    """Contacts each agent holds per channel name; agents holding none are absent."""
    stmt = (
        select(Task.agent_id, Task.channel, func.count())
        .where(Task.state.in_(HELD_STATES), Task.agent_id.is_not(None))
        .group_by(Task.agent_id, Task.channel)
    )
    if agent_ids is not None:
        if not agent_ids:
            return {}
        stmt = stmt.where(Task.agent_id.in_(list(agent_ids)))
    loads: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    for agent_id, channel, count in (await session.execute(stmt)).all():
        if agent_id is not None:
            loads[agent_id][channel] = count
    return dict(loads)
