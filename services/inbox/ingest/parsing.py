"""Parsing raw emails in a worker process, so that parsing never holds up the event loop."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.inbox.ingest.mime import ParsedEmail, parse_email
from shared.logging import get_logger

log = get_logger(__name__)

# Why a process: parsing is pure Python (a few milliseconds for a typical message, tens for a
# large one) and the event loop's thread is the server's bottleneck; a worker process parses
# on another core and hands back the ParsedEmail. Two of them where there are two cores: a
# large message (1.5 MB of attachments parse in about 80 ms) then holds up its own worker
# only, not every message that arrives behind it.
DEFAULT_WORKERS = 2 if (os.cpu_count() or 1) > 1 else 1
# After the worker dies, messages are parsed inline this long before a new one is tried, so
# that a worker that cannot start (say, an unguarded __main__) costs one start, not one each.
RETRY_AFTER_SECONDS = 60.0
PARENT_CHECK_SECONDS = 1.0
#: What a worker parses as it starts (its imports and the parser's first use are then done).
_FIRST = b"From: start@example.com\r\nSubject: start\r\n\r\n<p>start</p>\r\n"


class EmailParser:
    """parse_email in worker processes, started on first use; inline when ``workers`` is 0."""

    def __init__(self, workers: int = DEFAULT_WORKERS) -> None:
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._broken_at: float | None = None
        self._lock = threading.Lock()

    async def parse(self, raw: bytes, *, max_attachment_bytes: int | None) -> ParsedEmail:
        """The parsed message; raises UnparseableEmail exactly as parse_email does."""
        pool = self._running_pool()
        if pool is None:
            return parse_email(raw, max_attachment_bytes=max_attachment_bytes)
        try:
            future = pool.submit(parse_email, raw, max_attachment_bytes=max_attachment_bytes)
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            # The worker died (killed, out of memory, could not start): this message is
            # parsed here rather than lost.
            self._discard(pool)
            return parse_email(raw, max_attachment_bytes=max_attachment_bytes)

    def start(self) -> None:
        """Start the worker processes now, and wait until one of them has parsed: the first
        email after a start then waits for no process to start. Blocks: run it off the loop."""
        pool = self._running_pool()
        if pool is None:
            return
        try:
            # One task per worker: the pool starts a process for each task no idle one takes.
            for started in [pool.submit(parse_email, _FIRST) for _ in range(self._workers)]:
                started.result()
        except BrokenProcessPool:
            self._discard(pool)

    def close(self) -> None:
        """Stop the worker processes (a later parse starts new ones)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _running_pool(self) -> ProcessPoolExecutor | None:
        if self._workers <= 0:
            return None
        with self._lock:
            if self._pool is None:
                if self._broken_at is not None:
                    if time.monotonic() - self._broken_at < RETRY_AFTER_SECONDS:
                        return None
                    self._broken_at = None
                # Spawned, not forked: the server has threads whose locks a fork would copy.
                self._pool = ProcessPoolExecutor(
                    self._workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=watch_parent,
                    initargs=(os.getpid(),),
                )
            return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
                self._broken_at = time.monotonic()
                log.warning("ingest.parser_worker_lost", retry_after_seconds=RETRY_AFTER_SECONDS)
        pool.shutdown(wait=False, cancel_futures=True)


def watch_parent(parent: int) -> None:
    """In a worker: exit as soon as the process that started it is gone.

    The server does not always stop its workers: uvicorn ends on SIGTERM by raising the signal
    again, and then no exit handler runs.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


#: The process's parser: every app in the process shares its workers, which live as long as
#: the process (see ``with_parser_workers`` for a server).
shared_parser = EmailParser()


def with_parser_workers(app: ASGIApp) -> ASGIApp:
    """``app``, whose server starts the shared parser's workers before it answers and stops
    them once its lifespan has ended.

    Started before: the first email after a start would otherwise wait for them (seconds on a
    busy machine). Stopped after: uvicorn ends on SIGTERM by raising the signal again, after
    the lifespan: no exit handler runs then, and the workers' semaphores would be reported
    leaked on every stop.
    """

    async def served(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                await asyncio.to_thread(shared_parser.start)
            if message["type"] == "lifespan.shutdown.complete":
                await asyncio.to_thread(shared_parser.close)
            await send(message)

        await app(scope, receive, sending)

    return served
