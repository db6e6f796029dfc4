"""Whether machine translation is on, asked of the translation service and kept a short while:
routing applies ``other_language`` widening steps only while it is."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import httpx

from services.routing.engine.catalog import Catalog
from services.routing.engine.model import QueueConfig, WideningKind
from shared.clients.base import PeerRejected
from shared.clients.translation import TranslationClient
from shared.errors import PeerUnavailable
from shared.logging import get_logger

log = get_logger(__name__)


class TranslationCheck:
    """Asks translation whether machine translation is on, at most once per ``ttl`` seconds.

    Without a client (no translation URL configured), or while translation cannot be reached
    or answers oddly, the answer is no: a written contact is never offered to an agent who
    cannot read it because of an outage. A failed check is kept as long as an answer, so an
    outage costs the engine one call per ``ttl``, not one per pass.
    """

    def __init__(self, client: TranslationClient | None, *, ttl: float) -> None:
        self.client = client
        self._ttl = ttl
        self._known: tuple[float, bool] | None = None
        self._lock = asyncio.Lock()

    def forget(self) -> None:
        """Ask again at the next check."""
        self._known = None

    def _fresh(self) -> bool | None:
        known = self._known
        if known is not None and time.monotonic() - known[0] < self._ttl:
            return known[1]
        return None

    async def available(self) -> bool:
        """True when translation says machine translation is on (the answer may be ``ttl``
        seconds old); False when it is off, unknown or translation cannot be reached."""
        answer = self._fresh()
        if answer is not None:
            return answer
        async with self._lock:
            # Another caller may have asked while this one waited for the lock.
            answer = self._fresh()
            if answer is None:
                answer = await self._ask()
                previous = self._known
                self._known = (time.monotonic(), answer)
                if previous is None or previous[1] != answer:
                    log.info("routing.machine_translation", available=answer)
        return answer

    async def _ask(self) -> bool:
        if self.client is None:
            return False
        try:
            capabilities = await self.client.capabilities()
        except PeerUnavailable as error:
            reason = error.params.get("reason", "server_error")
            log.warning("routing.translation_unreachable", error=reason)
            return False
        except PeerRejected as error:
            log.warning("routing.translation_check_refused", status=error.params.get("peer_status"))
            return False
        except (httpx.HTTPError, ValueError) as error:  # a malformed answer
            log.warning("routing.translation_check_failed", error=type(error).__name__)
            return False
        return capabilities.machine_translation


def _without_translation(queue: QueueConfig) -> QueueConfig:
    steps = tuple(s for s in queue.widening if s.kind is not WideningKind.OTHER_LANGUAGE)
    return (
        queue if len(steps) == len(queue.widening) else dataclasses.replace(queue, widening=steps)
    )


def holds_translation(queue: QueueConfig) -> bool:
    """True when the queue has an ``other_language`` step (held back while MT is off)."""
    return any(step.kind is WideningKind.OTHER_LANGUAGE for step in queue.widening)


def as_applied(queue: QueueConfig, *, machine_translation: bool) -> QueueConfig:
    """The queue as routing applies it: without its ``other_language`` steps while machine
    translation is off, unchanged otherwise."""
    return queue if machine_translation else _without_translation(queue)


def catalog_as_applied(catalog: Catalog, *, machine_translation: bool) -> Catalog:
    """Every queue of the catalog as routing applies it (see ``as_applied``)."""
    if machine_translation or not any(holds_translation(q) for q in catalog.queues.values()):
        return catalog
    queues = {qid: _without_translation(queue) for qid, queue in catalog.queues.items()}
    return dataclasses.replace(catalog, queues=queues)
