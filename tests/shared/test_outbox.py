"""The outbox: events exist only if their transaction committed, and are applied exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.inbox.app import create_app
from services.inbox.models import OutboxEvent
from services.inbox.settings import InboxSettings
from services.routing.models import ProcessedEvent
from shared.contracts.events import Event, EventEnvelope
from shared.db import create_engine, create_sessionmaker, session_scope
from shared.outbox import Relay, emit
from tests.support.apps import Running, settings_for


class Pinged(Event):
    event_type: ClassVar[str] = "test.pinged"
    n: int


class FlakyConsumer:
    """Fails the first ``failures`` deliveries of each event, then records it."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.attempts: Counter[uuid.UUID] = Counter()
        self.applied: Counter[uuid.UUID] = Counter()

    async def __call__(self, envelope: EventEnvelope) -> None:
        self.attempts[envelope.id] += 1
        if self.attempts[envelope.id] <= self.failures:
            raise ConnectionError("consumer down")
        self.applied[envelope.id] += 1


async def _emit(app: Running, count: int = 1) -> list[uuid.UUID]:
    async with session_scope(app.context("inbox").require_sessions()) as session:
        rows = [emit(session, OutboxEvent, Pinged(n=n)) for n in range(count)]
    return [row.id for row in rows]


async def test_an_event_in_a_rolled_back_transaction_is_never_delivered(app: Running) -> None:
    sessions = app.context("inbox").require_sessions()
    consumer = FlakyConsumer()
    relay = Relay(sessions, OutboxEvent, consumer, source="inbox")

    async def failing_change() -> None:
        async with session_scope(sessions) as session:
            emit(session, OutboxEvent, Pinged(n=1))
            await session.flush()
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await failing_change()

    assert await relay.run_once() == 0
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
    assert consumer.attempts == Counter()


async def test_a_committed_event_survives_two_consumer_failures_and_applies_once(
    app: Running,
) -> None:
    sessions = app.context("inbox").require_sessions()
    consumer = FlakyConsumer(failures=2)
    relay = Relay(sessions, OutboxEvent, consumer, source="inbox", max_backoff_seconds=0)
    [event_id] = await _emit(app)

    rounds = [await relay.run_once() for _ in range(4)]

    assert rounds == [1, 1, 1, 0]
    assert consumer.attempts[event_id] == 3
    assert consumer.applied[event_id] == 1
    async with sessions() as session:
        row = await session.get(OutboxEvent, event_id)
    assert row is not None
    assert row.delivered_at is not None
    assert row.attempts == 3
    assert row.last_error is None


async def test_a_failed_delivery_waits_for_its_backoff(app: Running) -> None:
    sessions = app.context("inbox").require_sessions()
    consumer = FlakyConsumer(failures=1)
    relay = Relay(sessions, OutboxEvent, consumer, source="inbox", max_backoff_seconds=60)
    [event_id] = await _emit(app)

    first, second = await relay.run_once(), await relay.run_once()

    assert (first, second) == (1, 0)
    async with sessions() as session:
        row = await session.get(OutboxEvent, event_id)
    assert row is not None
    assert row.delivered_at is None
    assert row.available_at > row.occurred_at
    assert "consumer down" in (row.last_error or "")


async def test_two_relays_at_once_deliver_each_event_exactly_once(
    app: Running, db_url: str
) -> None:
    event_ids = await _emit(app, count=120)
    consumer = FlakyConsumer()
    engines = [create_engine(db_url, pool_size=2) for _ in range(2)]
    relays = [
        Relay(create_sessionmaker(engine), OutboxEvent, consumer, source="inbox", batch_size=7)
        for engine in engines
    ]

    async def drain(relay: Relay) -> int:
        total = 0
        while delivered := await relay.run_once():
            total += delivered
        return total

    try:
        totals = await asyncio.gather(*(drain(relay) for relay in relays))
    finally:
        for engine in engines:
            await engine.dispose()

    assert sum(totals) == 120
    assert set(consumer.applied) == set(event_ids)
    assert max(consumer.attempts.values()) == 1


async def test_routing_applies_a_redelivered_event_once(app: Running) -> None:
    [event_id] = await _emit(app)
    relay = app.relay("inbox")

    assert await relay.run_once() == 1
    async with session_scope(app.context("inbox").require_sessions()) as session:
        row = await session.get(OutboxEvent, event_id)
        assert row is not None
        row.delivered_at = None  # as if the relay died before recording the delivery
    assert await relay.run_once() == 1

    async with app.context("routing").require_sessions()() as session:
        processed = (await session.scalars(select(ProcessedEvent))).all()
    assert [(p.event_id, p.type) for p in processed] == [(event_id, "test.pinged")]


async def test_delivery_to_a_peer_that_is_down_is_retried_not_lost(
    db_url: str, tmp_path: Path
) -> None:
    settings = InboxSettings(
        **settings_for(
            db_url, tmp_path, routing_url="http://127.0.0.1:9", translation_url="http://127.0.0.1:9"
        )
    )
    inbox = create_app(settings)
    async with inbox.router.lifespan_context(inbox):
        context = inbox.state.context
        async with session_scope(context.require_sessions()) as session:
            event_id = emit(session, OutboxEvent, Pinged(n=1)).id
        relay = context.extras["relay"]

        assert await relay.run_once() == 1
        async with context.require_sessions()() as session:
            row = await session.get(OutboxEvent, event_id)

    assert row is not None
    assert row.delivered_at is None
    assert row.attempts == 1
    assert "PeerUnavailable" in (row.last_error or "")


class Step(Event):
    event_type: ClassVar[str] = "test.step"
    conversation_id: uuid.UUID
    n: int


class OrderConsumer:
    """Records each conversation's steps as applied; fails the first try of the listed events."""

    def __init__(self, fail_once: set[int]) -> None:
        self.fail_once = fail_once
        self.applied: dict[str, list[int]] = {}

    async def __call__(self, envelope: EventEnvelope) -> None:
        n = int(envelope.payload["n"])
        if n in self.fail_once:
            self.fail_once.discard(n)
            raise ConnectionError("consumer down")
        # Yield so that concurrently delivered events would interleave if they could.
        await asyncio.sleep(0)
        self.applied.setdefault(envelope.payload["conversation_id"], []).append(n)


async def test_one_conversations_events_apply_in_order_even_after_a_failure(
    app: Running,
) -> None:
    sessions = app.context("inbox").require_sessions()
    first, second = uuid.uuid4(), uuid.uuid4()
    async with session_scope(sessions) as session:
        for n, conversation in enumerate([first, first, second, first, second]):
            emit(session, OutboxEvent, Step(conversation_id=conversation, n=n))
            await session.flush()  # distinct occurrence times, in this order
    consumer = OrderConsumer(fail_once={0})
    relay = Relay(sessions, OutboxEvent, consumer, source="inbox", max_backoff_seconds=0)

    rounds = [await relay.run_once() for _ in range(5)]

    # Each round takes the next step of each conversation: the first one's later steps
    # waited for step 0 to go through; the other went on meanwhile.
    assert rounds == [2, 2, 1, 1, 0]
    assert consumer.applied == {str(first): [0, 1, 3], str(second): [2, 4]}
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxEvent))).all()
    assert all(row.delivered_at is not None and row.last_error is None for row in rows)


async def _steps(sessions: async_sessionmaker[AsyncSession], *steps: tuple[uuid.UUID, int]) -> None:
    async with session_scope(sessions) as session:
        for conversation, n in steps:
            emit(session, OutboxEvent, Step(conversation_id=conversation, n=n))
            await session.flush()  # distinct occurrence times, in this order


async def test_a_second_relay_never_overtakes_a_conversations_event_in_flight(
    app: Running, db_url: str
) -> None:
    sessions = app.context("inbox").require_sessions()
    first, other = uuid.uuid4(), uuid.uuid4()
    await _steps(sessions, (first, 0), (first, 1), (other, 2))
    applied: list[int] = []
    holding, release = asyncio.Event(), asyncio.Event()

    async def slow_consumer(envelope: EventEnvelope) -> None:
        n = int(envelope.payload["n"])
        if n == 0:
            holding.set()
            await release.wait()
        applied.append(n)

    engine = create_engine(db_url, pool_size=2)
    try:
        mine = Relay(sessions, OutboxEvent, slow_consumer, source="inbox", batch_size=1)
        theirs = Relay(create_sessionmaker(engine), OutboxEvent, slow_consumer, source="inbox")
        in_flight = asyncio.create_task(mine.run_once())
        await holding.wait()

        meanwhile = await theirs.run_once()
        release.set()
        await in_flight
        after = await theirs.run_once()
    finally:
        await engine.dispose()

    # While step 0 was out, the other relay delivered only the other conversation's step.
    assert (meanwhile, after) == (1, 1)
    assert applied == [2, 0, 1]


async def test_a_failed_event_holds_back_its_conversations_later_events(app: Running) -> None:
    sessions = app.context("inbox").require_sessions()
    first, other = uuid.uuid4(), uuid.uuid4()
    await _steps(sessions, (first, 0))
    consumer = OrderConsumer(fail_once={0})
    relay = Relay(sessions, OutboxEvent, consumer, source="inbox", max_backoff_seconds=60)
    assert await relay.run_once() == 1  # step 0 failed: it waits for its backoff

    await _steps(sessions, (first, 1), (other, 2))
    delivered = await relay.run_once()

    assert delivered == 1
    assert consumer.applied == {str(other): [2]}
    async with sessions() as session:
        waiting = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.delivered_at.is_(None))
        )
    assert waiting == 2


async def test_a_running_relay_delivers_a_conversations_next_event_without_waiting(
    app: Running,
) -> None:
    sessions = app.context("inbox").require_sessions()
    conversation = uuid.uuid4()
    await _steps(sessions, (conversation, 0), (conversation, 1), (conversation, 2))
    applied: list[int] = []
    all_applied = asyncio.Event()

    async def consumer(envelope: EventEnvelope) -> None:
        applied.append(int(envelope.payload["n"]))
        if len(applied) == 3:
            all_applied.set()

    # A poll far longer than the test may take: only looking again at once can pass.
    relay = Relay(sessions, OutboxEvent, consumer, source="inbox", poll_seconds=3600)
    running = asyncio.create_task(relay.run())
    try:
        await asyncio.wait_for(all_applied.wait(), timeout=30)
    finally:
        relay.stop()
        await running

    assert applied == [0, 1, 2]


async def _left_by_a_process_gone_since(app: Running) -> uuid.UUID:
    """An event a relay had claimed when its process ended: leased for an hour more."""
    sessions = app.context("inbox").require_sessions()
    [event_id] = await _emit(app)
    async with session_scope(sessions) as session:
        row = await session.get(OutboxEvent, event_id)
        assert row is not None
        row.locked_until = row.occurred_at + timedelta(hours=1)
        row.attempts = 1
    return event_id


async def test_the_sole_relay_on_its_table_takes_up_deliveries_cut_short_at_once(
    app: Running,
) -> None:
    sessions = app.context("inbox").require_sessions()
    event_id = await _left_by_a_process_gone_since(app)
    delivered = asyncio.Event()
    applied: list[uuid.UUID] = []

    async def consumer(envelope: EventEnvelope) -> None:
        applied.append(envelope.id)
        delivered.set()

    relay = Relay(sessions, OutboxEvent, consumer, source="inbox", poll_seconds=3600, sole=True)
    running = asyncio.create_task(relay.run())
    try:
        await asyncio.wait_for(delivered.wait(), timeout=30)
    finally:
        relay.stop()
        await running

    assert applied == [event_id]
    async with sessions() as session:
        row = await session.get(OutboxEvent, event_id)
    assert row is not None
    assert row.delivered_at is not None
    assert row.locked_until is None


async def test_a_relay_among_others_leaves_their_leases_alone(app: Running) -> None:
    sessions = app.context("inbox").require_sessions()
    event_id = await _left_by_a_process_gone_since(app)
    consumer = FlakyConsumer()
    relay = Relay(sessions, OutboxEvent, consumer, source="inbox")

    assert await relay.run_once() == 0
    assert consumer.attempts == Counter()
    async with sessions() as session:
        row = await session.get(OutboxEvent, event_id)
    assert row is not None
    assert row.locked_until is not None
    assert row.delivered_at is None
