"""The queues and rules as the engine sees them: read in two queries, or taken from a recent
copy kept per database (see ``recent_catalog``)."""

from __future__ import annotations

import time
import uuid
import weakref
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.engine.model import QueueConfig, QueueRule
from services.routing.engine.snapshots import queue_config, queue_rule
from services.routing.models import Queue
from services.routing.models import QueueRule as QueueRuleRow
from shared.logging import get_logger

log = get_logger(__name__)

#: How long a copy of the catalog serves before it is read again. Changes made through this
#: process are seen at once (``forget``); those of other replicas within this time.
CATALOG_TTL_SECONDS = 1.0


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


_copies: weakref.WeakKeyDictionary[Engine, tuple[float, Catalog]] = weakref.WeakKeyDictionary()


def _engine(bind: Engine | Connection) -> Engine:
    return bind.engine if isinstance(bind, Connection) else bind


async def recent_catalog(session: AsyncSession) -> Catalog:
    """The catalog, from this process's copy for the session's database when it is recent
    (younger than CATALOG_TTL_SECONDS and not forgotten since), else read afresh.

    A session that changed queues in its own transaction reads them afresh until it commits.
    """
    engine = _engine(session.get_bind())
    kept = _copies.get(engine)
    now = time.monotonic()
    if kept is not None and now - kept[0] <= CATALOG_TTL_SECONDS and not changing(session):
        return kept[1]
    catalog = await load_catalog(session)
    if not changing(session):
        _copies[engine] = (now, catalog)
    return catalog


def changing(session: AsyncSession) -> bool:
    """True while the session's transaction has changed queues (not yet committed)."""
    return bool(session.info.get(CHANGING))


#: The mark ``signals.queues_changed`` leaves on a session.
CHANGING = "routing.queues"


def forget(bind: Engine | Connection) -> None:
    """Drop this process's copy of the catalog of ``bind``'s database (queues changed)."""
    _copies.pop(_engine(bind), None)
