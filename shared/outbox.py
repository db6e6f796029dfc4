"""The transactional outbox: events written with the change, delivered later with retries.

A service's model module declares its tables from the mixins here. ``emit()`` adds the
event row to the caller's transaction, so an event exists if and only if its change was
committed. A ``Relay`` claims due rows with a lease (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so several relays never take the same row), delivers outside any transaction,
then marks each row delivered or schedules a retry with exponential backoff. Delivery is
at least once; consumers make it exactly once with ``record_processed()``.

Events of one conversation (their ``ordering_key``) are delivered in the order they
happened, however many relays run: an event is claimed only once every earlier event of its
conversation was delivered. A failing one holds back the later ones until it goes through;
other conversations' events go on meanwhile.

A failure that passes with time (a peer or the database down, a mail server busy) is retried
for as long as it lasts. An event refused again and again (the peer answers that it is
invalid, or its handler fails) is set aside after ``max_rejections`` tries: kept, with its
last error, for an operator to read and retry, and no longer holding back its conversation's
later events.

A delivery cut short by its process ending (a crash, a kill) keeps its lease until the lease
ends, then is taken up again. A relay that knows it is the only one on its table (SQLite,
where one process serves each service) frees such leases as it starts instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Index,
    Integer,
    String,
    Text,
    and_,
    case,
    event,
    exists,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, Session, aliased, declared_attr, mapped_column

from shared.clients.base import PeerRejected
from shared.contracts.events import Event, EventEnvelope
from shared.db import JsonDocument, UTCDateTime, session_scope, utc_now
from shared.errors import Unavailable
from shared.logging import get_logger

log = get_logger(__name__)
_EMITTED = "outbox_emitted"
PENDING = text("delivered_at IS NULL")


class OutboxEventMixin:
    """Columns of a service's ``<service>_outbox_event`` table."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: The conversation the event is about, if any: its events are delivered in order.
    ordering_key: Mapped[str | None] = mapped_column(String(64))
    #: Failures that were the event's own (refused as invalid, its handler failing).
    rejections: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: When it was set aside after ``max_rejections`` of them; None while it is retried.
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[Any, ...]:
        name = cls.__tablename__  # type: ignore[attr-defined]
        return (
            Index(f"ix_{name}_due", "delivered_at", "available_at"),
            Index(
                f"ix_{name}_pending_by_key",
                "ordering_key",
                "occurred_at",
                postgresql_where=PENDING,
                sqlite_where=PENDING,
            ),
        )


class ProcessedEventMixin:
    """Columns of a consumer's ``<service>_processed_event`` table (dedupe by event id)."""

    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


def emit(session: AsyncSession, model: type[OutboxEventMixin], payload: Event) -> OutboxEventMixin:
    """Add the event to the session's transaction; it is delivered only if that commits."""
    row: OutboxEventMixin = cast(Any, model)(**emitted_values(session, payload))
    session.add(row)
    return row


def emitted_values(session: AsyncSession, payload: Event) -> dict[str, Any]:
    """The outbox row's column values, for a statement of the caller's that writes the row
    (the relay wakes after the session commits, as with ``emit``)."""
    note_emitted(session)
    now = utc_now()
    conversation = getattr(payload, "conversation_id", None)
    return {
        "id": uuid.uuid4(),
        "type": payload.event_type,
        "payload": payload.model_dump(mode="json"),
        "occurred_at": now,
        "available_at": now,
        "attempts": 0,
        "ordering_key": None if conversation is None else str(conversation),
    }


def note_emitted(session: AsyncSession) -> None:
    """A statement of the caller's wrote an outbox row: wake the relay once the session
    commits, as ``emit`` does."""
    session.info[_EMITTED] = True


def wake_on_commit(
    sessions: async_sessionmaker[AsyncSession], callback: Callable[[], None]
) -> None:
    """Call ``callback`` after each commit of these sessions that emitted an event."""
    sync_class = sessions.kw.get("sync_session_class", Session)

    def _after_commit(session: Session) -> None:
        if session.info.pop(_EMITTED, False):
            callback()

    def _after_rollback(session: Session) -> None:
        session.info.pop(_EMITTED, None)

    event.listen(sync_class, "after_commit", _after_commit)
    event.listen(sync_class, "after_soft_rollback", lambda s, _t: _after_rollback(s))


async def record_processed(
    session: AsyncSession, model: type[ProcessedEventMixin], envelope: EventEnvelope
) -> bool:
    """Record the event as processed in the caller's transaction; False if it already was."""
    table = model.__table__  # type: ignore[attr-defined]
    values = {"event_id": envelope.id, "type": envelope.type, "processed_at": utc_now()}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(**values).on_conflict_do_nothing(index_elements=["event_id"])
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


Deliver = Callable[[EventEnvelope], Awaitable[None]]


@dataclass(frozen=True)
class Failure:
    """Why a delivery failed, and whether it said nothing about the event itself."""

    error: str
    transient: bool


class RetryLater(Exception):
    """A delivery failure that passes with time (a mail server busy, a mailbox full): retried
    for as long as it lasts, never held against the event."""


def is_transient(exc: BaseException) -> bool:
    """Whether a delivery failure says nothing about the event itself: a peer, the database or
    the network down or busy, or a peer refusing this service's credentials (a configuration
    to fix, after which every event goes through)."""
    if isinstance(exc, RetryLater | Unavailable | OSError | TimeoutError):
        return True
    if isinstance(exc, PeerRejected):
        return exc.params.get("peer_status") in (401, 403)
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    return False


class Relay:
    """Delivers a service's outbox rows; run several at once safely on PostgreSQL."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        model: type[OutboxEventMixin],
        deliver: Deliver,
        *,
        source: str,
        batch_size: int = 50,
        lease_seconds: float = 30.0,
        poll_seconds: float = 1.0,
        max_backoff_seconds: float = 300.0,
        max_rejections: int = 12,
        concurrency: int = 8,
        sole: bool = False,
    ) -> None:
        """``sole``: no other relay delivers from this table (one process per service, as on
        SQLite), so the leases found when ``run()`` starts were left by a process gone since."""
        self._sessions = sessions
        self._model = model
        self._deliver = deliver
        self._source = source
        self._batch_size = batch_size
        self._lease = timedelta(seconds=lease_seconds)
        self._poll_seconds = poll_seconds
        self._max_backoff = max_backoff_seconds
        self._max_rejections = max_rejections
        self._limit = asyncio.Semaphore(concurrency)
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._follow_up = False
        self._sole = sole

    def wake(self) -> None:
        """Ask the relay to look for due events now rather than at its next poll."""
        self._wakeup.set()

    def stop(self) -> None:
        """Let ``run()`` finish after the batch under way."""
        self._stopping = True
        self._wakeup.set()

    async def run(self) -> None:
        """Deliver until stopped; a failing database only delays delivery."""
        leases_checked = not self._sole
        while not self._stopping:
            try:
                if not leases_checked:
                    await self._free_leases_left_behind()
                    leases_checked = True
                delivered = await self.run_once()
            except Exception as exc:  # the loop must outlive database outages
                log.warning("outbox.relay_failed", source=self._source, error=repr(exc))
                delivered = 0
            # Look again at once after a full batch, or when a conversation's next event,
            # held back while the one before it was out, is due now.
            if delivered < self._batch_size and not self._follow_up:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=self._poll_seconds)
                self._wakeup.clear()

    async def _free_leases_left_behind(self) -> None:
        model = self._model
        async with session_scope(self._sessions) as session:
            result = await session.execute(
                update(model)
                .where(model.delivered_at.is_(None), model.locked_until.is_not(None))
                .values(locked_until=None)
                .execution_options(synchronize_session=False)
            )
        freed = int(result.rowcount)  # type: ignore[attr-defined]
        if freed:
            log.info("outbox.leases_freed", source=self._source, events=freed)

    async def run_once(self) -> int:
        """Claim one batch of due events, deliver them and record the outcome; returns the count."""
        self._follow_up = False
        claimed = await self._claim()
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self._attempt(envelope) for envelope, _, _ in claimed))
        self._follow_up = await self._record(claimed, outcomes)
        return len(claimed)

    async def _claim(self) -> list[tuple[EventEnvelope, int, str | None]]:
        model = self._model
        now = utc_now()
        async with session_scope(self._sessions) as session:
            due = (
                select(model.id)
                .where(
                    model.delivered_at.is_(None),
                    model.dead_at.is_(None),
                    model.available_at <= now,
                    or_(model.locked_until.is_(None), model.locked_until < now),
                    or_(model.ordering_key.is_(None), ~_earlier_pending(model)),
                )
                .order_by(model.available_at, model.occurred_at)
                .limit(self._batch_size)
            )
            if session.get_bind().dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            stmt = (
                update(model)
                .where(model.id.in_(due.scalar_subquery()))
                .values(locked_until=now + self._lease, attempts=model.attempts + 1)
                .returning(
                    *(model.id, model.type, model.occurred_at, model.payload),
                    *(model.attempts, model.ordering_key),
                )
                .execution_options(synchronize_session=False)
            )
            rows = (await session.execute(stmt)).all()
        claimed = [
            (
                EventEnvelope(
                    id=row.id,
                    type=row.type,
                    source=self._source,
                    occurred_at=row.occurred_at,
                    payload=row.payload,
                ),
                row.attempts,
                row.ordering_key,
            )
            for row in rows
        ]
        claimed.sort(key=lambda item: item[0].occurred_at)
        return claimed

    async def _attempt(self, envelope: EventEnvelope) -> Failure | None:
        async with self._limit:
            try:
                await self._deliver(envelope)
            except Exception as exc:  # any failure is retried later; the reason is kept
                transient = is_transient(exc)
                log.warning(
                    "outbox.delivery_failed",
                    source=self._source,
                    event_id=str(envelope.id),
                    event_type=envelope.type,
                    error=repr(exc),
                    transient=transient,
                )
                return Failure(error=repr(exc)[:2000], transient=transient)
            return None

    async def _record(
        self,
        claimed: Sequence[tuple[EventEnvelope, int, str | None]],
        outcomes: Sequence[Failure | None],
    ) -> bool:
        """Mark the outcomes; True when a delivered or dead-lettered event's conversation has
        another event waiting."""
        model = self._model
        now = utc_now()
        done = [item for item, failure in zip(claimed, outcomes, strict=True) if not failure]
        delivered = [envelope.id for envelope, _, _ in done]
        keys = {key for _, _, key in done if key is not None}
        async with session_scope(self._sessions) as session:
            if delivered:
                await session.execute(
                    update(model)
                    .where(model.id.in_(delivered))
                    .values(delivered_at=now, locked_until=None, last_error=None)
                    .execution_options(synchronize_session=False)
                )
            for (envelope, attempts, key), failure in zip(claimed, outcomes, strict=True):
                if failure is None:
                    continue
                rejected = 0 if failure.transient else 1
                dead = (
                    case((model.rejections + 1 >= self._max_rejections, now), else_=None)
                    if rejected
                    else None
                )
                set_aside = await session.scalar(
                    update(model)
                    .where(model.id == envelope.id)
                    .values(
                        available_at=now + timedelta(seconds=self.backoff(attempts)),
                        locked_until=None,
                        last_error=failure.error,
                        rejections=model.rejections + rejected,
                        dead_at=dead,
                    )
                    .returning(model.dead_at)
                    .execution_options(synchronize_session=False)
                )
                if set_aside is not None:
                    log.error(
                        "outbox.dead_lettered",
                        source=self._source,
                        event_id=str(envelope.id),
                        event_type=envelope.type,
                        attempts=attempts,
                        error=failure.error,
                    )
                    if key is not None:
                        keys.add(key)
            follow_up = False
            if keys:
                waiting = select(model.id).where(
                    model.ordering_key.in_(keys),
                    model.delivered_at.is_(None),
                    model.dead_at.is_(None),
                )
                follow_up = (await session.execute(waiting.limit(1))).first() is not None
        for event_id in delivered:
            log.info("outbox.delivered", source=self._source, event_id=str(event_id))
        return follow_up

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` failures: doubling, capped, jittered."""
        base: float = min(self._max_backoff, 0.5 * 2 ** max(0, attempts - 1))
        return float(base * random.uniform(0.8, 1.2))


def _earlier_pending(model: type[OutboxEventMixin]) -> Any:
    """Whether an earlier event of the row's conversation is still undelivered (and not set
    aside)."""
    earlier = aliased(model)
    return exists().where(
        earlier.ordering_key == model.ordering_key,
        earlier.delivered_at.is_(None),
        earlier.dead_at.is_(None),
        or_(
            earlier.occurred_at < model.occurred_at,
            and_(earlier.occurred_at == model.occurred_at, earlier.id < model.id),
        ),
    )


def relay_from_settings(
    sessions: async_sessionmaker[AsyncSession],
    model: type[OutboxEventMixin],
    deliver: Deliver,
    *,
    source: str,
    settings: Any,
) -> Relay:
    """A relay tuned by the service's ``outbox_*`` settings, woken by each emitting commit."""
    relay = Relay(
        sessions,
        model,
        deliver,
        source=source,
        batch_size=settings.outbox_batch_size,
        lease_seconds=settings.outbox_lease_seconds,
        poll_seconds=settings.outbox_poll_seconds,
        max_backoff_seconds=settings.outbox_max_backoff_seconds,
        max_rejections=settings.outbox_max_rejections,
        sole=settings.is_sqlite,
    )
    wake_on_commit(sessions, relay.wake)
    return relay
