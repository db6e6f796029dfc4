"""Routing's metrics: offers made and ended and the time to offer, counted as their transactions
commit; waiting tasks and agents by status, read from the database when scraped.

The engine marks its session where an offer is made or ends (``offer_made``, ``offer_ended``),
whatever SQL it writes them with; one listener per process (like ``signals``) moves the counters
once that transaction commits, and a rollback drops the marks. Sessions of a sessionmaker never
passed to ``install`` (a benchmark's, say) count nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import Counter, Histogram
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from services.routing.models import Agent, OutboxEvent, Queue, Task
from shared.metrics import age_seconds, outbox_source
from shared.web import ServiceContext

_INSTRUMENTS = "routing.metrics"
_MADE = "routing.metrics.made"
_ENDED = "routing.metrics.ended"
_LANGUAGES = ("en", "fr")
_AGENT_STATUSES = ("offline", "available", "away", "busy")
_NO_QUEUE = "(none)"
TIME_TO_OFFER_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)


@dataclass(frozen=True)
class _Instruments:
    made: Counter
    ended: Counter
    time_to_offer: Histogram


def install(context: ServiceContext) -> None:
    """Count this service's offers and add its scrape-time sources to the process's metrics."""
    metrics = context.metrics
    sessions = context.require_sessions()
    instruments = _Instruments(
        made=metrics.counter(
            "routing_offers_made", "Offers made to agents, by channel.", ("channel",)
        ),
        ended=metrics.counter(
            "routing_offers_ended",
            "Offers answered or closed, by channel and outcome "
            "(accepted, rejected, expired, canceled).",
            ("channel", "outcome"),
        ),
        time_to_offer=metrics.histogram(
            "routing_time_to_offer_seconds",
            "Time from a task entering its queue to each offer of it.",
            buckets=TIME_TO_OFFER_BUCKETS,
        ),
    )
    info = dict(sessions.kw.get("info") or {})
    info[_INSTRUMENTS] = instruments
    sessions.configure(info=info)
    # Read-only: a scrape must not queue behind the writers (SQLite).
    reads = context.require_read_sessions()
    metrics.add_source("routing", lambda: _collect(reads))
    metrics.add_source("routing_outbox", outbox_source(reads, OutboxEvent, service="routing"))


async def _collect(sessions: async_sessionmaker[AsyncSession]) -> Iterable[Metric]:
    waiting_stmt = (
        select(Queue.name, Task.language, func.count(), func.min(Task.queued_at))
        .select_from(Task)
        .outerjoin(Queue, Queue.id == Task.queue_id)
        .where(Task.state == "waiting")
        .group_by(Queue.name, Task.language)
    )
    async with sessions() as session:
        waiting_rows = (await session.execute(waiting_stmt)).all()
        queue_names = (await session.scalars(select(Queue.name))).all()
        agent_rows = (
            await session.execute(select(Agent.status, func.count()).group_by(Agent.status))
        ).all()
    counts: dict[tuple[str, str], tuple[int, float]] = {
        (name, language): (0, 0.0) for name in queue_names for language in _LANGUAGES
    }
    for name, language, count, oldest in waiting_rows:
        counts[(name or _NO_QUEUE, language)] = (count, age_seconds(oldest))
    waiting = GaugeMetricFamily(
        "routing_tasks_waiting",
        "Tasks waiting for an agent, by queue and language.",
        labels=["queue", "language"],
    )
    oldest_wait = GaugeMetricFamily(
        "routing_oldest_task_wait_seconds",
        "How long the longest-waiting task has waited in its queue (0 when none waits), "
        "by queue and language.",
        labels=["queue", "language"],
    )
    for (name, language), (count, age) in sorted(counts.items()):
        waiting.add_metric([name, language], count)
        oldest_wait.add_metric([name, language], age)
    by_status = dict.fromkeys(_AGENT_STATUSES, 0) | {status: n for status, n in agent_rows}
    agents = GaugeMetricFamily("routing_agents", "Agents by status.", labels=["status"])
    for status, count in sorted(by_status.items()):
        agents.add_metric([status], count)
    return [waiting, oldest_wait, agents]


def offer_made(session: AsyncSession, *, channel: str, waited: timedelta) -> None:
    """Count an offer, and the task's wait in its queue until it, once this session commits."""
    made: list[tuple[str, float]] = session.info.setdefault(_MADE, [])
    made.append((channel, max(0.0, waited.total_seconds())))


def offer_ended(session: AsyncSession, *, channel: str, outcome: str) -> None:
    """Count an offer's end (accepted, rejected, expired, canceled) once this session commits."""
    ended: list[tuple[str, str]] = session.info.setdefault(_ENDED, [])
    ended.append((channel, outcome))


def _after_commit(session: Session) -> None:
    made: list[tuple[str, float]] = session.info.pop(_MADE, [])
    ended: list[tuple[str, str]] = session.info.pop(_ENDED, [])
    instruments = session.info.get(_INSTRUMENTS)
    if not isinstance(instruments, _Instruments):
        return
    for channel, waited in made:
        instruments.made.labels(channel).inc()
        instruments.time_to_offer.observe(waited)
    for channel, outcome in ended:
        instruments.ended.labels(channel, outcome).inc()


def _after_rollback(session: Session) -> None:
    session.info.pop(_MADE, None)
    session.info.pop(_ENDED, None)


if not event.contains(Session, "after_commit", _after_commit):
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", lambda s, _t: _after_rollback(s))
