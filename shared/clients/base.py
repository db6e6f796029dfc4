"""The HTTP client every service uses to reach another: typed, timed, failures made explicit."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import httpx
from pydantic import BaseModel

from shared.errors import AppError, PeerUnavailable
from shared.i18n import Term
from shared.logging import request_id_var

M = TypeVar("M", bound=BaseModel)


class PeerRejected(AppError):
    status = 502
    code = "peer.rejected"
    title = "Request refused by another service"
    detail_template = "The {service} service refused the request ({peer_status})."

    def __init__(
        self, detail: str | None = None, *, problem: dict[str, Any] | None = None, **params: Any
    ) -> None:
        super().__init__(detail, **params)
        #: The peer's problem document (``code``, ``errors``…), so callers can map it to theirs.
        self.problem: dict[str, Any] = problem or {}


class ServiceClient:
    """An httpx client for one peer service over an injected transport (HTTP or in-process)."""

    service: ClassVar[str] = "peer"

    def __init__(
        self,
        *,
        base_url: str,
        token: str | None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 5.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        response_model: type[M],
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> M:
        """Send the request and parse a 2xx answer; peer failures raise typed errors."""
        response = await self.send(method, path, json=json, params=params)
        return response_model.model_validate(response.json())

    async def send(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        """Send the request and return a 2xx response; raise PeerUnavailable or PeerRejected."""
        headers = {}
        request_id = request_id_var.get()
        if request_id:
            headers["X-Request-ID"] = request_id
        try:
            response = await self._http.request(
                method, path, json=json, params=params, headers=headers
            )
        except httpx.HTTPError as exc:
            raise PeerUnavailable(service=Term(self.service), reason=type(exc).__name__) from exc
        if response.status_code >= 500 or response.status_code == 429:
            retry_after = _retry_after(response)
            raise PeerUnavailable(service=Term(self.service), retry_after=retry_after)
        if response.status_code >= 400:
            raise PeerRejected(
                service=Term(self.service),
                peer_status=response.status_code,
                problem=_problem(response),
            )
        return response


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _retry_after(response: httpx.Response) -> int:
    try:
        return max(1, min(300, int(response.headers.get("Retry-After", "5"))))
    except ValueError:
        return 5


class ConfigurationError(Exception):
    """Start-up configuration that cannot work; the message is one line for the operator."""


def peer_base_url(
    name: str, url: str | None, transport: httpx.AsyncBaseTransport | None, *, env_name: str
) -> str:
    """Where a peer is reached: in process when a transport is given, else its configured URL."""
    if transport is not None:
        return f"http://{name}.internal"
    if not url:
        raise ConfigurationError(f"{env_name} is not set: the {name} service's base URL is needed")
    return url.rstrip("/")
