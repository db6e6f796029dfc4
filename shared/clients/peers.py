"""Builds a service's clients to its peers, over HTTP or in-process transports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import httpx

from shared.clients.base import ServiceClient, peer_base_url
from shared.settings import CommonSettings

C = TypeVar("C", bound=ServiceClient)


def peer_client(
    cls: type[C],
    settings: CommonSettings,
    transports: Mapping[str, httpx.AsyncBaseTransport],
) -> C:
    """A client for the peer ``cls.service``, authenticated with the services' shared token."""
    name = cls.service
    transport = transports.get(name)
    url = getattr(settings, f"{name}_url")
    prefix = str(settings.model_config.get("env_prefix", ""))
    token = settings.service_token.get_secret_value() if settings.service_token else None
    return cls(
        base_url=peer_base_url(name, url, transport, env_name=f"{prefix}{name.upper()}_URL"),
        token=token,
        transport=transport,
        timeout=settings.peer_timeout_seconds,
    )
