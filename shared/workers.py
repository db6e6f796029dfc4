"""Background tasks a service runs beside its HTTP handlers, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from shared.logging import get_logger

log = get_logger(__name__)


class Workers:
    """Owns a service's long-running loops; a loop that crashes is logged and restarted."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []
        self._stops: list[Callable[[], None]] = []

    def start(
        self, name: str, loop: Callable[[], Coroutine[Any, Any, None]], stop: Callable[[], None]
    ) -> None:
        """Run ``loop`` until ``stop`` is called at shutdown."""
        self._stops.append(stop)
        self._tasks.append(asyncio.create_task(self._guard(name, loop), name=name))

    async def _guard(self, name: str, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        while True:
            try:
                await loop()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a crashed loop must not stop the service
                log.error("worker.crashed", worker=name, error=repr(exc))
                await asyncio.sleep(1)

    async def stop(self) -> None:
        """Ask every loop to stop, wait briefly, then cancel what is left."""
        for stop in self._stops:
            stop()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=5)
            for task in pending:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks.clear()
        self._stops.clear()


class Ticker:
    """Runs a job every ``seconds`` until stopped; a failing run is logged, not fatal."""

    def __init__(self, seconds: float, job: Callable[[], Coroutine[Any, Any, object]]) -> None:
        self._seconds = seconds
        self._job = job
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish after the run under way."""
        self._stopping.set()

    async def run(self) -> None:
        """Run the job, then wait ``seconds`` (or until stopped), repeatedly."""
        while not self._stopping.is_set():
            try:
                await self._job()
            except Exception as exc:  # periodic work must outlive a failed run
                log.warning("ticker.failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._seconds)
