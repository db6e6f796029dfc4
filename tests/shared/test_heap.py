"""What a running app keeps for good is frozen out of the collector's sight, garbage is not."""

from __future__ import annotations

import asyncio
import gc
import weakref

from shared.heap import FrozenHeap


class Node:
    """A container the collector tracks, able to sit in a reference cycle."""

    def __init__(self) -> None:
        self.other: Node | None = None


def tracked(obj: object) -> bool:
    """Whether the collector still walks the object (frozen ones it does not)."""
    return any(candidate is obj for candidate in gc.get_objects())


async def test_what_survives_the_settling_collections_is_frozen_until_the_app_stops() -> None:
    heap = FrozenHeap(settling_collections=2)
    async with heap.held():
        kept = Node()  # a cache filled by the first requests
        assert tracked(kept)
        gc.collect()
        gc.collect()
        # Garbage only the collector can free, left between the last settling collection
        # and the freeze.
        cycle = Node()
        cycle.other = Node()
        cycle.other.other = cycle
        gone = weakref.ref(cycle)
        del cycle
        await asyncio.wait_for(heap.settled.wait(), timeout=10)
        frozen_while_running = not tracked(kept)
        frozen_count = gc.get_freeze_count()

    assert frozen_while_running
    assert frozen_count > 0
    # Garbage was collected, not frozen with the rest.
    assert gone() is None
    # Stopped: everything is the collector's again.
    assert gc.get_freeze_count() == 0
    assert tracked(kept)


async def test_nothing_more_is_frozen_before_the_app_has_settled() -> None:
    heap = FrozenHeap(settling_collections=1_000)
    async with heap.held():
        kept = Node()
        gc.collect()
        assert tracked(kept)
        assert not heap.settled.is_set()
    assert gc.get_freeze_count() == 0


async def test_apps_of_one_process_share_it_and_the_last_to_stop_unfreezes() -> None:
    heap = FrozenHeap(settling_collections=1_000)
    async with heap.held():
        async with heap.held():
            inner = gc.get_freeze_count()
        still = gc.get_freeze_count()
    assert inner > 0
    assert still > 0
    assert gc.get_freeze_count() == 0
