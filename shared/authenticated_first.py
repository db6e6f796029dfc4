"""Authentication before the request's shape: a caller without valid credentials learns only that.

FastAPI decodes a route's body, and the app runs its NUL check, before the route's dependencies
are resolved: a request whose body cannot be decoded would be refused for its shape (400, 422)
even without a token. Each dependency that authenticates a caller therefore registers a check
that needs the request alone; a refusal for the request's shape first runs the route's checks,
and their 401 or 403 is the answer when they refuse. Valid credentials change nothing: the
shape's refusal stands. Only refusals pay for the check, and only those made before the route's
authentication ran (``admit``); an accepted request authenticates once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from shared.auth import Principal
from shared.errors import AppError, Unavailable
from shared.logging import get_logger

log = get_logger(__name__)
Check = Callable[[Request], Awaitable[object]]
Dependency = TypeVar("Dependency", bound=Callable[..., Any])
_CHECKS: dict[Callable[..., Any], Check] = {}
_ADMITTED = "authenticated_first.admitted"


def admit(request: Request, principal: Principal) -> Principal:
    """Records that the route's authentication admitted the caller: a refusal of the request's
    shape after that needs no second check."""
    request.scope[_ADMITTED] = True
    return principal


def authenticates(check: Check) -> Callable[[Dependency], Dependency]:
    """Registers a dependency as authenticating the caller, ``check`` doing the same from the
    request alone (raising the dependency's AppError when the caller is refused)."""

    def register(dependency: Dependency) -> Dependency:
        _CHECKS[dependency] = check
        return dependency

    return register


async def refusal(request: Request) -> AppError | None:
    """The error the route's authentication refuses this request with (503 when it cannot be
    checked now); None when it admits the caller or the route needs no credentials."""
    route = request.scope.get("route")
    if request.scope.get(_ADMITTED) or not isinstance(route, APIRoute):
        return None
    for check in _checks(route.dependant):
        try:
            await check(request)
        except AppError as error:
            return error
        except Exception:
            # The database is down, say: the caller is neither admitted nor told more.
            log.exception("auth.check_failed")
            return Unavailable(retry_after=5)
    return None


def _checks(dependant: Dependant) -> list[Check]:
    """The checks of the dependencies that authenticate, outermost first."""
    found: list[Check] = []
    for sub in dependant.dependencies:
        check = _CHECKS.get(sub.call) if sub.call is not None else None
        found.extend([check] if check is not None else _checks(sub))
    return found
