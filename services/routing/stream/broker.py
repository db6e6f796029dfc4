"""Wakes the agent streams of this process when their agent has new events, from any replica.

In one process, commits publish straight to the local subscribers. With PostgreSQL, each
published agent id is also sent with NOTIFY and every replica LISTENs, so a stream learns of
events another replica wrote; the stream then reads the events themselves from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from shared.logging import get_logger

log = get_logger(__name__)
CHANNEL = "routing_agent_events"
_MAX_IDS_PER_NOTIFY = 200  # keeps a payload well under PostgreSQL's 8,000-byte limit


class AgentBroker:
    """Per-agent wake-up flags for the streams open in this process."""

    def __init__(self) -> None:
        self._subscribers: dict[uuid.UUID, set[asyncio.Event]] = defaultdict(set)
        self._outgoing: asyncio.Queue[set[uuid.UUID]] | None = None

    @contextlib.contextmanager
    def subscribe(self, agent_id: uuid.UUID) -> Iterator[asyncio.Event]:
        """A flag set whenever the agent may have new events, until the block ends."""
        flag = asyncio.Event()
        self._subscribers[agent_id].add(flag)
        try:
            yield flag
        finally:
            self._subscribers[agent_id].discard(flag)
            if not self._subscribers[agent_id]:
                del self._subscribers[agent_id]

    def deliver(self, agent_ids: Iterable[uuid.UUID]) -> None:
        """Wake this process's streams of these agents."""
        for agent_id in agent_ids:
            for flag in self._subscribers.get(agent_id, ()):
                flag.set()

    def publish(self, agent_ids: set[uuid.UUID]) -> None:
        """Wake these agents' streams here and, when fanning out, on every replica."""
        self.deliver(agent_ids)
        if self._outgoing is not None:
            self._outgoing.put_nowait(set(agent_ids))

    @property
    def listeners(self) -> int:
        """How many streams this process holds."""
        return sum(len(flags) for flags in self._subscribers.values())

    def fan_out_through(self, outgoing: asyncio.Queue[set[uuid.UUID]] | None) -> None:
        """Send published ids to ``outgoing`` as well (the PostgreSQL fan-out reads it)."""
        self._outgoing = outgoing


def _dsn(database_url: str) -> str:
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class PostgresFanout:
    """LISTEN/NOTIFY between replicas for one broker; ``run`` until ``stop``."""

    def __init__(self, broker: AgentBroker, database_url: str) -> None:
        self._broker = broker
        self._dsn = _dsn(database_url)
        self._outgoing: asyncio.Queue[set[uuid.UUID]] = asyncio.Queue()
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """End ``run``."""
        self._stopping.set()

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        ids = []
        for part in payload.split(","):
            with contextlib.suppress(ValueError):
                ids.append(uuid.UUID(part))
        self._broker.deliver(ids)

    async def run(self) -> None:
        """Listen and notify on one dedicated connection; reconnects after a failure."""
        self._broker.fan_out_through(self._outgoing)
        try:
            while not self._stopping.is_set():
                try:
                    await self._serve()
                except (OSError, asyncpg.PostgresError) as exc:
                    log.warning("routing.fanout_failed", error=repr(exc))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), timeout=1.0)
        finally:
            self._broker.fan_out_through(None)

    async def _serve(self) -> None:
        connection = await asyncpg.connect(self._dsn)
        try:
            await connection.add_listener(CHANNEL, self._on_notify)
            while not self._stopping.is_set():
                getter = asyncio.ensure_future(self._outgoing.get())
                stopper = asyncio.ensure_future(self._stopping.wait())
                done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if getter not in done:
                    getter.cancel()
                    break
                ids = sorted(str(agent_id) for agent_id in getter.result())
                for start in range(0, len(ids), _MAX_IDS_PER_NOTIFY):
                    chunk = ",".join(ids[start : start + _MAX_IDS_PER_NOTIFY])
                    await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, chunk)
        finally:
            await connection.close()
