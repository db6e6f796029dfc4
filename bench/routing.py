"""Benchmarks the routing engine on PostgreSQL beside a single-row UPDATE loop, in one run.

In a fresh database beside ``BENCH_POSTGRES_URL`` (else ``TEST_POSTGRES_URL``, else the local
``postgres`` user's ``test`` database), with the default queues and 500 agents (English,
French and bilingual, three emails each), for each backlog size (10, 1,000 and 100,000
waiting tasks; 10, 1,000 and 20,000 with ``--quick``):

- the backlog is emails waiting in a queue closed overnight (they stay waiting and must not
  slow live routing); the task table is vacuumed and analyzed once it is loaded, as it would
  have been while such a backlog built up;
- throughput: 1,500 live emails (one per free place; 600 with ``--quick``) are offered by
  the engine's passes, then accepted one transaction each; assignments per second count both
  halves (the engine's set-based offers and the agents' one-by-one accepts);
- latency: 1,000 emails (200 with ``--quick``) arrive at 100 per second, each created in its
  own transaction as the event intake does, while the engine loop runs in the same process;
  time to offer runs from the task's commit to the offer's commit.

What the process loaded before measuring is frozen out of the garbage collector, as every
service does at start-up (a full collection walking it stalls the loop for about 100 ms).

The reference is one ``UPDATE … WHERE id = $1`` per transaction through asyncpg on one
connection, on the same database in the same run, as in shared/BENCHMARKS.md. It is measured
right before and right after each throughput phase, and that phase's ratio divides by the mean
of the two: on a shared machine the speed drifts within a run, and a reference taken minutes
away would compare two different machines.

    .venv/bin/python bench/routing.py --quick    # within a minute
    .venv/bin/python bench/routing.py            # a few minutes

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services import migrate  # noqa: E402
from services.routing import signals  # noqa: E402
from services.routing.engine import accept, intake, matcher  # noqa: E402
from services.routing.engine.loop import RoutingEngine  # noqa: E402
from services.routing.models import (  # noqa: E402
    Agent,
    AgentLanguage,
    Assignment,
    Queue,
    QueueRule,
    Reservation,
    Task,
)
from services.routing.queues.seed import seed_default_queues  # noqa: E402
from services.routing.settings import RoutingSettings  # noqa: E402
from shared.db import create_engine, create_sessionmaker, session_scope, utc_now  # noqa: E402

AGENTS = 500
PLACES = AGENTS * 3
RATE_PER_SECOND = 100
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
PROFILES = ({"en": 5}, {"fr": 5}, {"en": 5, "fr": 5})
_OFFERED = "bench.offered"


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _create_database(base: str) -> str:
    name = f"routing_bench_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(_plain(base))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


async def _drop_database(url: str) -> None:
    name = make_url(url).database
    connection = await asyncpg.connect(_plain(url).rsplit("/", 1)[0] + "/postgres")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def reference_rate(url: str, seconds: float) -> float:
    """Single-row UPDATEs per second, one transaction each, asyncpg on one connection."""
    connection = await asyncpg.connect(_plain(url))
    try:
        await connection.execute("CREATE TABLE bench_reference (id int PRIMARY KEY, n int)")
        await connection.execute(
            "INSERT INTO bench_reference SELECT g, 0 FROM generate_series(1, 10000) g"
        )
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            async with connection.transaction():
                await connection.execute(
                    "UPDATE bench_reference SET n = n + 1 WHERE id = $1", done % 10000 + 1
                )
            done += 1
        rate = done / (time.perf_counter() - started)
        await connection.execute("DROP TABLE bench_reference")
    finally:
        await connection.close()
    return rate


async def _setup(sessions: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    """Default queues, a closed backlog queue, and 500 available agents."""
    now = utc_now()
    async with session_scope(sessions) as session:
        await seed_default_queues(session, time_zone="UTC", now=now)
        backlog = Queue(
            id=uuid.uuid4(),
            name="Archives (closed)",
            language="en",
            channels=["email"],
            hours={"time_zone": "UTC", "weekly": {}},
            created_at=now,
            updated_at=now,
        )
        backlog.rules = [QueueRule(order=0, channels=["email"], attributes={"backlog": "yes"})]
        session.add(backlog)
        rows = []
        for n in range(AGENTS):
            agent = Agent(
                id=uuid.uuid4(),
                name=f"Agent {n}",
                email=f"agent{n}@bench.example",
                status="available",
                status_changed_at=now,
                idle_since=now - timedelta(seconds=n),
                missed_offers=0,
                created_at=now,
                updated_at=now,
            )
            agent.skills = []
            agent.languages = [
                AgentLanguage(language=code, level=level) for code, level in PROFILES[n % 3].items()
            ]
            rows.append(agent)
        session.add_all(rows)
    return backlog.id


async def _fill_backlog(
    sessions: async_sessionmaker[AsyncSession], queue_id: uuid.UUID, count: int
) -> None:
    now = utc_now()
    for start in range(0, count, 5000):
        batch = [
            {
                "id": uuid.uuid4(),
                "conversation_id": uuid.uuid4(),
                "channel": "email",
                "language": "en",
                "skills": {},
                "attributes": {"backlog": "yes"},
                "priority": 0,
                "arrived_at": now,
                "queue_id": queue_id,
                "queued_at": now,
                "state": "waiting",
                "wait_reason": "queue_closed",
                "route": {},
                "needs_translation": False,
                "created_at": now,
            }
            for _ in range(min(5000, count - start))
        ]
        async with session_scope(sessions) as session:
            await session.execute(insert(Task), batch)


async def _settle(url: str) -> None:
    """Vacuum and analyze after the bulk load, as autovacuum would have while such a backlog
    built up over hours, so the figures measure routing rather than a vacuum running beside."""
    connection = await asyncpg.connect(_plain(url))
    try:
        await connection.execute("VACUUM ANALYZE routing_task")
    finally:
        await connection.close()


async def _release_everyone(sessions: async_sessionmaker[AsyncSession]) -> None:
    """End every live task so that each agent has its three places free again."""
    now = utc_now()
    async with session_scope(sessions) as session:
        await session.execute(
            update(Reservation).where(Reservation.state == "pending").values(state="canceled")
        )
        await session.execute(
            update(Task)
            .where(
                Task.state.in_(("offered", "assigned", "waiting")),
                Task.wait_reason.is_distinct_from("queue_closed"),
            )
            .values(state="completed", ended_at=now, agent_id=None)
        )
        await session.execute(
            update(Assignment).where(Assignment.ended_at.is_(None)).values(ended_at=now)
        )


def _request(n: int) -> intake.TaskRequest:
    return intake.TaskRequest(
        conversation_id=uuid.uuid4(),
        channel="email",
        language=("en", "fr", "und")[n % 3],
        arrived_at=utc_now(),
    )


async def _open(sessions: async_sessionmaker[AsyncSession], n: int) -> uuid.UUID:
    async with session_scope(sessions) as session:
        task = await intake.open_task(
            session, request=_request(n), now=utc_now(), sticky=timedelta(0)
        )
        return task.id


async def measure_throughput(
    sessions: async_sessionmaker[AsyncSession], engine: RoutingEngine, live: int
) -> dict[str, float]:
    """Offer ``live`` emails through engine passes, then accept each offer."""
    for n in range(live):
        await _open(sessions, n)
    started = time.perf_counter()
    await engine.run_once()
    offered_in = time.perf_counter() - started
    async with sessions() as session:
        pending = (
            await session.scalars(select(Reservation.id).where(Reservation.state == "pending"))
        ).all()
    started = time.perf_counter()
    for offer_id in pending:
        async with session_scope(sessions) as session:
            await accept.accept_offer(
                session, offer_id=offer_id, acting_agent_id=None, now=utc_now()
            )
    accepted_in = time.perf_counter() - started
    return {
        "offered": len(pending),
        "offers_per_s": round(len(pending) / offered_in, 1),
        "accepts_per_s": round(len(pending) / accepted_in, 1),
        "assignments_per_s": round(len(pending) / (offered_in + accepted_in), 1),
    }


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure_latency(
    sessions: async_sessionmaker[AsyncSession], engine: RoutingEngine, count: int
) -> dict[str, float]:
    """Tasks arrive at RATE_PER_SECOND while the loop runs: commit-to-commit time to offer."""
    created: dict[uuid.UUID, float] = {}
    offered: dict[uuid.UUID, float] = {}

    match_once = matcher.match_once

    async def noting_offers(session: AsyncSession, **options: Any) -> matcher.MatchResult:
        # The pass says which tasks it offered; its commit (after it returns) is their time.
        result = await match_once(session, **options)
        session.info.setdefault(_OFFERED, []).extend(result.offered)
        return result

    everything_offered = asyncio.Event()

    def after_commit(session: Session) -> None:
        stamp = time.perf_counter()
        for task_id in session.info.pop(_OFFERED, []):
            offered.setdefault(task_id, stamp)
        if len(created) == count and len(offered.keys() & created.keys()) == count:
            everything_offered.set()

    matcher.match_once = noting_offers
    event.listen(Session, "after_commit", after_commit)
    loop = asyncio.create_task(engine.run())
    try:
        started = time.perf_counter()
        for n in range(count):
            delay = started + n / RATE_PER_SECOND - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task_id = await _open(sessions, n)
            created[task_id] = time.perf_counter()
        if len(offered.keys() & created.keys()) == count:
            everything_offered.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everything_offered.wait(), timeout=10)
    finally:
        engine.stop()
        await loop
        matcher.match_once = match_once
        event.remove(Session, "after_commit", after_commit)
    waits = [(offered[t] - created[t]) * 1000 for t in created if t in offered]
    return {
        "tasks": count,
        "offered": len(waits),
        "p50_ms": round(statistics.median(waits), 1) if waits else float("nan"),
        "p99_ms": round(_percentile(waits, 0.99), 1) if waits else float("nan"),
    }


async def run(quick: bool) -> dict[str, Any]:
    """Every figure, for each backlog size."""
    base = (
        os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_POSTGRES_URL") or DEFAULT_URL
    )
    url = await _create_database(base)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        engine = create_engine(url, pool_size=5)
        sessions = create_sessionmaker(engine)
        settings = RoutingSettings(
            database_url=url, run_workers=False, seed_default_queues=False, sweep_seconds=1.0
        )
        try:
            backlog_queue = await _setup(sessions)
            gc.freeze()
            reference_seconds = 1.0 if quick else 2.0
            references: list[float] = []
            sizes = (10, 1000, 20_000) if quick else (10, 1000, 100_000)
            filled = 0
            results: dict[str, dict[str, float]] = {}
            for size in sizes:
                await _fill_backlog(sessions, backlog_queue, size - filled)
                await _settle(url)
                filled = size
                router = RoutingEngine(sessions, settings)
                signals.install(sessions, on_match=router.wake, on_agents=lambda _ids: None)
                await _release_everyone(sessions)
                before = await reference_rate(url, reference_seconds)
                throughput = await measure_throughput(sessions, router, 600 if quick else PLACES)
                after = await reference_rate(url, reference_seconds)
                references += [before, after]
                reference = (before + after) / 2
                await _release_everyone(sessions)
                router = RoutingEngine(sessions, settings)
                signals.install(sessions, on_match=router.wake, on_agents=lambda _ids: None)
                latency = await measure_latency(sessions, router, 200 if quick else 1000)
                results[str(size)] = (
                    throughput
                    | {f"latency_{k}": v for k, v in latency.items()}
                    | {
                        "reference_updates_per_s": round(reference, 1),
                        "ratio_to_reference": round(throughput["assignments_per_s"] / reference, 3),
                    }
                )
                print(f"waiting {size:>7}: {results[str(size)]}", flush=True)
        finally:
            gc.unfreeze()
            await engine.dispose()
    finally:
        await _drop_database(url)
    smallest, largest = results[str(sizes[0])], results[str(sizes[-1])]
    return {
        "quick": quick,
        "agents": AGENTS,
        "reference_updates_per_s": round(statistics.mean(references), 1),
        "backlogs": results,
        "p99_largest_over_smallest": round(
            largest["latency_p99_ms"] / max(smallest["latency_p99_ms"], 0.001), 2
        ),
    }


def main() -> None:
    """Run the benchmark and print the figures, JSON last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller backlogs, within a minute")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.quick)), sort_keys=True))


if __name__ == "__main__":
    main()
