"""The queues and rules as the engine sees them, read once per decision."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.engine.model import QueueConfig, QueueRule
from services.routing.engine.snapshots import queue_config, queue_rule
from services.routing.models import Queue
from services.routing.models import QueueRule as QueueRuleRow
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every usable queue by id, and every rule; a queue whose configuration is broken is left
    out (and logged) rather than stopping routing for all the others."""

    queues: dict[uuid.UUID, QueueConfig]
    rules: tuple[QueueRule, ...]


async def load_catalog(session: AsyncSession) -> Catalog:
    """Read the queues and rules (two queries)."""
    queues: dict[uuid.UUID, QueueConfig] = {}
    for row in await session.scalars(select(Queue)):
        try:
            queues[row.id] = queue_config(row)
        except (ValueError, KeyError, TypeError) as error:
            log.error("routing.queue_unusable", queue_id=str(row.id), error=str(error))
    rules = tuple(
        queue_rule(row)
        for row in await session.scalars(select(QueueRuleRow))
        if row.queue_id in queues
    )
    return Catalog(queues=queues, rules=rules)
