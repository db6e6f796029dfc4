"""The inbox's metrics: messages stored, by direction, channel and status, counted on commit;
the outbox backlog and the quarantine read from the database when scraped.

The email path writes its message row with a Core statement and calls and faxes with the ORM,
so the count listens where both meet: the inbox engine's executions. An insert into the message
table that wrote a row (a duplicate skipped by ``ON CONFLICT DO NOTHING`` writes none) is held
on the connection until its transaction commits; a rollback, or a rolled-back savepoint, drops it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import Counter, Histogram
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from sqlalchemy import Table, event, func, select
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.inbox.models import QUARANTINED, Message, OutboxEvent
from shared.metrics import Metrics, Source, age_seconds, outbox_source
from shared.web import ServiceContext

_PENDING = "inbox.metrics.pending"
_SAVEPOINTS = "inbox.metrics.savepoints"
_MESSAGE: Table = Message.__table__  # type: ignore[assignment]


def email_stages(metrics: Metrics) -> Histogram:
    """Where an inbound email's answer spends its time, stage by stage."""
    return metrics.histogram(
        "inbox_email_stage_seconds",
        "Time an inbound email spent in each stage before its answer: parse (including the wait "
        "for a parsing worker), detect (the duplicate check, then the language from "
        "translation), store (the transaction's statements) and files (the rest of the wait for "
        "its files to be synced).",
        ("stage",),
    )


def install(context: ServiceContext) -> None:
    """Count stored messages on the service's engine and add the outbox backlog source."""
    assert context.engine is not None
    stored = context.metrics.counter(
        "inbox_messages_stored",
        "Messages stored, by direction, channel and status when stored (inbound: accepted, "
        "auto_reply or quarantined; outbound: queued).",
        ("direction", "channel", "status"),
    )
    _count_committed_messages(context.engine.sync_engine, stored)
    email_stages(context.metrics)
    context.metrics.add_source(
        "inbox_outbox",
        # Read-only: a scrape must not queue behind the writers (SQLite).
        outbox_source(context.require_read_sessions(), OutboxEvent, service="inbox"),
    )
    context.metrics.add_source(
        "inbox_quarantine", quarantine_source(context.require_read_sessions())
    )


def quarantine_source(sessions: async_sessionmaker[AsyncSession]) -> Source:
    """The emails waiting in quarantine for a supervisor, and how long the oldest has waited."""
    stmt = select(func.count(), func.min(Message.received_at)).where(QUARANTINED)

    async def collect() -> Iterable[Metric]:
        async with sessions() as session:
            count, oldest = (await session.execute(stmt)).one()
        waiting = GaugeMetricFamily(
            "inbox_quarantined_emails",
            "Emails that could not be parsed, waiting for a supervisor to release or dismiss them.",
        )
        waiting.add_metric([], count)
        age = GaugeMetricFamily(
            "inbox_quarantine_oldest_age_seconds",
            "How long the oldest email waiting in quarantine has waited (0 when none waits).",
        )
        age.add_metric([], age_seconds(oldest))
        return [waiting, age]

    return collect


def _count_committed_messages(engine: Any, stored: Counter) -> None:
    def after_execute(
        conn: Connection,
        _clause: Any,
        _multiparams: Any,
        _params: Any,
        _options: Any,
        result: Any,
    ) -> None:
        if not isinstance(result, CursorResult):
            return
        context = result.context
        compiled = context.compiled
        if not context.isinsert or compiled is None:
            return
        if getattr(compiled.statement, "table", None) is not _MESSAGE:
            return
        rows = context.compiled_parameters
        if not context.executemany and result.rowcount == 0:
            return
        pending: list[tuple[str, str, str]] = conn.info.setdefault(_PENDING, [])
        pending.extend(
            (
                str(row.get("direction") or "inbound"),
                str(row.get("channel") or "unknown"),
                str(row.get("status") or "accepted"),
            )
            for row in rows
        )

    def on_commit(conn: Connection) -> None:
        conn.info.pop(_SAVEPOINTS, None)
        for labels in conn.info.pop(_PENDING, ()):
            stored.labels(*labels).inc()

    def on_rollback(conn: Connection) -> None:
        conn.info.pop(_SAVEPOINTS, None)
        conn.info.pop(_PENDING, None)

    def on_savepoint(conn: Connection, _name: str) -> None:
        marks: list[int] = conn.info.setdefault(_SAVEPOINTS, [])
        marks.append(len(conn.info.get(_PENDING, ())))

    def on_rollback_savepoint(conn: Connection, _name: str, _context: Any) -> None:
        marks: list[int] = conn.info.get(_SAVEPOINTS, [])
        if marks:
            del conn.info.get(_PENDING, [])[marks.pop() :]

    def on_release_savepoint(conn: Connection, _name: str, _context: Any) -> None:
        marks: list[int] = conn.info.get(_SAVEPOINTS, [])
        if marks:
            marks.pop()

    event.listen(engine, "after_execute", after_execute)
    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    event.listen(engine, "savepoint", on_savepoint)
    event.listen(engine, "rollback_savepoint", on_rollback_savepoint)
    event.listen(engine, "release_savepoint", on_release_savepoint)
