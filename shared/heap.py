"""The garbage collector kept off the objects a running app holds for good.

A full collection walks every container the oldest generation holds, and every request in
flight waits through it. An app loads at start-up objects that live as long as it does (the
detection models alone are hundreds of thousands: walking them took about 170 ms); its first
requests then fill caches that live as long too (compiled and prepared statements, locale data,
validators: some 40,000 objects, 20 to 35 ms a walk on a two-core machine). ``gc.freeze()``
moves objects out of the collector's sight: what start-up loaded at once, and what the first
requests left behind once the app has been through a few full collections under way, when
whatever is still in the oldest generation has proved long-lived (the walks then took about
5 ms). Everything is handed back when the app stops, so an app started and stopped (tests)
leaks nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable

GcCallback = Callable[[str, dict[str, int]], None]
#: Full collections the app runs through before what survived them is frozen too.
SETTLING_COLLECTIONS = 3


class FrozenHeap:
    """One process's freezing: the apps of the process hold it while they run."""

    def __init__(self, *, settling_collections: int = SETTLING_COLLECTIONS) -> None:
        self._settling_collections = settling_collections
        self._holders = 0
        self._settler: asyncio.Task[None] | None = None
        self._counter: GcCallback | None = None
        #: Set once what survived the settling collections is frozen (a new one per run).
        self.settled = asyncio.Event()

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Freeze what exists now and, once settled, what survived; unfreeze after the last
        holder leaves."""
        self._holders += 1
        gc.freeze()
        if self._settler is None:
            self.settled = asyncio.Event()
            through = asyncio.Event()
            self._counter = _counting_down(self._settling_collections, through)
            gc.callbacks.append(self._counter)
            self._settler = asyncio.create_task(self._freeze_when(through))
        try:
            yield
        finally:
            self._holders -= 1
            if self._holders == 0:
                settler, self._settler = self._settler, None
                if settler is not None:
                    settler.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await settler
                self._stop_counting()
                gc.unfreeze()

    async def _freeze_when(self, through: asyncio.Event) -> None:
        await through.wait()
        self._stop_counting()
        # Garbage would be frozen with the rest: collect it first (one more full walk).
        gc.collect()
        gc.freeze()
        self.settled.set()

    def _stop_counting(self) -> None:
        if self._counter in gc.callbacks:
            gc.callbacks.remove(self._counter)


def _counting_down(collections: int, through: asyncio.Event) -> GcCallback:
    """A ``gc.callbacks`` entry setting ``through`` after that many full collections."""
    loop = asyncio.get_running_loop()
    remaining = collections

    def count(phase: str, info: dict[str, int]) -> None:
        nonlocal remaining
        if phase == "stop" and info["generation"] == 2:
            remaining -= 1
            if remaining == 0:
                # The collector runs in whichever thread allocated: wake the loop safely.
                loop.call_soon_threadsafe(through.set)

    return count


#: The process's: the garbage collector is the process's too.
HEAP = FrozenHeap()
