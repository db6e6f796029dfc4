"""Prometheus metrics: one registry per process, HTTP instruments and scrape-time database gauges.

A ``Metrics`` holds the process's registry. Every service app records its requests through
``MetricsMiddleware`` (labelled by the route template, never the raw path) and registers its own
counters with ``counter()``/``histogram()``. Figures that live in the database (outbox backlog,
waiting tasks, agents) are not polled by a loop: each service adds a *source*, an async function
that runs one cheap query when ``/metrics`` is scraped. In the all-in-one process the three
services share one ``Metrics``, so one scrape shows them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.db import utc_now
from shared.heap import GcCallback
from shared.logging import get_logger
from shared.outbox import OutboxEventMixin

log = get_logger(__name__)

#: The text format every Prometheus version reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SOURCE_TIMEOUT_SECONDS = 3.0
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
GC_PAUSE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
#: How often the event loop's lag is sampled.
LAG_PROBE_SECONDS = 0.25
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_UNMATCHED = "<unmatched>"

Source = Callable[[], Awaitable[Iterable[Metric]]]


class _Families(Collector):
    """The families one scrape gathered, shown once."""

    def __init__(self, families: Sequence[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


class Metrics:
    """One process's metrics: its registry, the HTTP instruments and the database sources."""

    def __init__(self) -> None:
        # No ``_created`` series beside each counter: they double the output and nobody reads them.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        self._counters: dict[str, Counter] = {}
        self._histograms: dict[str, Histogram] = {}
        self._sources: dict[str, Source] = {}
        self.requests = self.counter(
            "http_requests",
            "HTTP requests answered, by service, method, route template and status class.",
            ("service", "method", "route", "status"),
        )
        self.latency = self.histogram(
            "http_request_duration_seconds",
            "Time until the response's headers were sent, by service, method and route template.",
            ("service", "method", "route"),
            buckets=LATENCY_BUCKETS,
        )
        self.loop_lag = self.histogram(
            "event_loop_lag_seconds",
            "How late the process's event loop woke a timer: a stall every request in flight "
            "waited through (CPU-bound work on the loop, a busy or stolen CPU).",
            buckets=LAG_BUCKETS,
        )
        self.gc_pause = self.histogram(
            "python_gc_pause_seconds",
            "How long each garbage collection held the process, by generation (2 is a full "
            "one): a stall every request in flight waited through.",
            ("generation",),
            buckets=GC_PAUSE_BUCKETS,
        )
        self._watchers = 0
        self._probe: asyncio.Task[None] | None = None
        self._gc_timer: GcCallback | None = None

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        """The registry's counter of this name, created on first use (``_total`` is added)."""
        if name not in self._counters:
            self._counters[name] = Counter(
                name, documentation, labelnames=labels, registry=self.registry
            )
        return self._counters[name]

    def histogram(
        self,
        name: str,
        documentation: str,
        labels: Sequence[str] = (),
        *,
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> Histogram:
        """The registry's histogram of this name, created on first use."""
        if name not in self._histograms:
            self._histograms[name] = Histogram(
                name, documentation, labelnames=labels, buckets=buckets, registry=self.registry
            )
        return self._histograms[name]

    @contextlib.asynccontextmanager
    async def watching_loop(self) -> AsyncIterator[None]:
        """Sample the event loop's lag and time the garbage collector's pauses while this runs:
        one probe per registry, however many apps of the process enter it."""
        self._watchers += 1
        if self._probe is None:
            self._probe = asyncio.create_task(watch_loop(self.loop_lag.observe))
            self._gc_timer = gc_timer(self.gc_pause)
            gc.callbacks.append(self._gc_timer)
        try:
            yield
        finally:
            self._watchers -= 1
            if self._watchers == 0 and self._probe is not None:
                probe, self._probe = self._probe, None
                if self._gc_timer is not None:
                    gc.callbacks.remove(self._gc_timer)
                    self._gc_timer = None
                probe.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await probe

    def add_source(self, name: str, source: Source) -> None:
        """Run ``source`` at every scrape; a source added again under its name replaces it."""
        self._sources[name] = source

    async def render(self) -> bytes:
        """The text exposition: in-process instruments, then every source's fresh figures."""
        gathered: dict[str, Metric] = {}
        up = GaugeMetricFamily(
            "metrics_source_up",
            "Whether a database source answered this scrape (1) or failed (0).",
            labels=["source"],
        )
        for name, source in list(self._sources.items()):
            try:
                families = await asyncio.wait_for(source(), timeout=SOURCE_TIMEOUT_SECONDS)
            except (OSError, DBAPIError, PoolTimeout, TimeoutError) as exc:
                log.warning("metrics.source_failed", source=name, error=type(exc).__name__)
                up.add_metric([name], 0)
                continue
            for family in families:
                # Sources of several services share names (the outbox): one family each.
                known = gathered.setdefault(family.name, family)
                if known is not family:
                    known.samples.extend(family.samples)
            up.add_metric([name], 1)
        if self._sources:
            gathered[up.name] = up
        return generate_latest(self.registry) + generate_latest(_Families(list(gathered.values())))


async def watch_loop(
    observe: Callable[[float], None],
    *,
    interval: float = LAG_PROBE_SECONDS,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Forever: sleep ``interval`` and observe how much later than that the loop woke us."""
    now = clock or asyncio.get_running_loop().time
    while True:
        due = now() + interval
        await sleep(interval)
        observe(max(0.0, now() - due))


def gc_timer(pauses: Histogram) -> GcCallback:
    """A ``gc.callbacks`` entry observing each collection's pause under its generation.

    The children are bound up front: creating one inside a collection would allocate under the
    histogram's lock. Collections never overlap (one at a time, under the GIL), so one start
    time serves.
    """
    by_generation = [pauses.labels(str(generation)) for generation in range(3)]
    started = 0.0

    def timed(phase: str, info: dict[str, int]) -> None:
        nonlocal started
        if phase == "start":
            started = time.perf_counter()
        else:
            by_generation[info["generation"]].observe(time.perf_counter() - started)

    return timed


class MetricsMiddleware:
    """Counts and times each HTTP request under its route template (``/x/{id}``, not ``/x/42``)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, service: str) -> None:
        self.app = app
        self.service = service
        self._requests = metrics.requests
        self._latency = metrics.latency
        # Label lookups cost more than the increment; keep the children per label set.
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        answered = False

        async def send_timed(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
                self._record(scope, message["status"], time.perf_counter() - start)
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        except Exception:
            # The server's error middleware answers 500 outside this one; count it here.
            if not answered:
                self._record(scope, 500, time.perf_counter() - start)
            raise

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        route = getattr(scope.get("route"), "path", None) or _UNMATCHED
        key = (method, route, status // 100)
        children = self._children.get(key)
        if children is None:
            children = (
                self._requests.labels(self.service, method, route, f"{status // 100}xx"),
                self._latency.labels(self.service, method, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


def outbox_source(
    sessions: async_sessionmaker[AsyncSession], model: type[OutboxEventMixin], *, service: str
) -> Source:
    """A source for a service's outbox backlog: events not yet delivered, and the oldest's age."""

    async def collect() -> Iterable[Metric]:
        waiting = model.delivered_at.is_(None) & model.dead_at.is_(None)
        stmt = select(
            func.count().filter(waiting),
            func.min(model.occurred_at).filter(waiting),
            func.count().filter(model.dead_at.is_not(None)),
        ).where(model.delivered_at.is_(None))
        async with sessions() as session:
            count, oldest, dead = (await session.execute(stmt)).one()
        return [
            _gauge(
                "outbox_events_waiting",
                "Events written but not yet delivered, by service (dead letters apart).",
                service,
                count,
            ),
            _gauge(
                "outbox_oldest_event_age_seconds",
                "Age of the oldest event not yet delivered (0 when none waits), by service.",
                service,
                age_seconds(oldest),
            ),
            _gauge(
                "outbox_dead_letters",
                "Events refused too often to be retried any more, waiting for an operator.",
                service,
                dead,
            ),
        ]

    return collect


def age_seconds(since: datetime | None) -> float:
    """Seconds from ``since`` to now, 0 for none."""
    if since is None:
        return 0.0
    return max(0.0, (utc_now() - since).total_seconds())


def _gauge(name: str, documentation: str, service: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["service"])
    family.add_metric([service], value)
    return family
