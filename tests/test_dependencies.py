"""Every request's dependencies run on the event loop: FastAPI runs a plain function dependency
in a worker thread, a thread hop on every request for what is a lookup."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.utils import get_dependant
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import BaseRoute

from tests.support.apps import Running


def _calls(dependant: Any) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _on_the_loop(call: Any) -> bool:
    target = call if inspect.isroutine(call) else type(call).__call__
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def _dependants(routes: list[BaseRoute]) -> Iterator[Any]:
    """Each route's dependencies, and those its router was included with, however nested."""
    for route in routes:
        if isinstance(route, APIRoute | APIWebSocketRoute):
            yield route.dependant
        included = getattr(route, "original_router", None)
        if included is not None:
            for depends in route.include_context.dependencies:  # type: ignore[attr-defined]
                yield get_dependant(path="", call=depends.dependency)
            yield from _dependants(included.routes)


async def test_no_dependency_of_any_service_runs_in_a_worker_thread(app: Running) -> None:
    threaded, routes = set(), 0
    for name in ("inbox", "routing", "translation"):
        for dependant in _dependants(app.service(name).routes):
            routes += 1
            for call in [dependant.call, *_calls(dependant)]:
                if call is not None and not _on_the_loop(call):
                    threaded.add(f"{name}: {getattr(call, '__qualname__', call)}")

    assert routes > 60
    assert sorted(threaded) == []
