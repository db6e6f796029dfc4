"""What a routing transaction asks for once it commits: a matching pass, agent stream wake-ups.

Services mark their session (``request_match``, ``notify_agents``); one listener, installed once
per process, reads the marks after the commit and calls the callbacks the service's
sessionmaker put in every session's ``info`` (see ``install``). Nothing runs for a rollback, so
no stream wakes and no pass starts for a change that did not happen.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from services.routing.engine import catalog

_MATCH = "routing.match"
_AGENTS = "routing.agents"
_ON_MATCH = "routing.on_match"
_ON_AGENTS = "routing.on_agents"
_DEADLINES = "routing.deadlines"
_ON_DEADLINE = "routing.on_deadline"
_QUEUES = catalog.CHANGING
_ON_QUEUES = "routing.on_queues"

WakeMatcher = Callable[[], None]
WakeAgents = Callable[[set[uuid.UUID]], None]
PlanSweep = Callable[[datetime], None]


def request_match(session: AsyncSession) -> None:
    """Ask for a matching pass once this session's transaction commits."""
    session.info[_MATCH] = True


def notify_agents(session: AsyncSession, agent_ids: Iterable[uuid.UUID]) -> None:
    """Wake these agents' event streams once this session's transaction commits."""
    pending: set[uuid.UUID] = session.info.setdefault(_AGENTS, set())
    pending.update(agent_ids)


def queues_changed(session: AsyncSession) -> None:
    """Make this process reread the queues once this session commits (and this session
    until then)."""
    session.info[_QUEUES] = True
    request_match(session)


def sweep_at(session: AsyncSession, moment: datetime) -> None:
    """Ask for the engine's sweeps at ``moment`` (a wrap-up ends) once this session commits."""
    pending: list[datetime] = session.info.setdefault(_DEADLINES, [])
    pending.append(moment)


def _after_commit(session: Session) -> None:
    if session.info.pop(_QUEUES, False):
        catalog.forget(session.get_bind())
        if session.info.get(_ON_QUEUES) is not None:
            session.info[_ON_QUEUES]()
    matched = session.info.pop(_MATCH, False)
    agents: set[uuid.UUID] = session.info.pop(_AGENTS, set())
    on_match = session.info.get(_ON_MATCH)
    on_agents = session.info.get(_ON_AGENTS)
    deadlines: list[datetime] = session.info.pop(_DEADLINES, [])
    on_deadline = session.info.get(_ON_DEADLINE)
    if deadlines and on_deadline is not None:
        on_deadline(min(deadlines))
    if matched and on_match is not None:
        on_match()
    if agents and on_agents is not None:
        on_agents(agents)


def _after_rollback(session: Session) -> None:
    session.info.pop(_MATCH, None)
    session.info.pop(_AGENTS, None)
    session.info.pop(_DEADLINES, None)
    session.info.pop(_QUEUES, None)


if not event.contains(Session, "after_commit", _after_commit):
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", lambda s, _t: _after_rollback(s))


def install(
    sessions: async_sessionmaker[AsyncSession],
    *,
    on_match: WakeMatcher,
    on_agents: WakeAgents,
    on_deadline: PlanSweep | None = None,
    on_queues: WakeMatcher | None = None,
) -> None:
    """Make every session of ``sessions`` call these after a commit that asked for them."""
    info = dict(sessions.kw.get("info") or {})
    info.update(
        {
            _ON_MATCH: on_match,
            _ON_AGENTS: on_agents,
            _ON_DEADLINE: on_deadline,
            _ON_QUEUES: on_queues,
        }
    )
    sessions.configure(info=info)
