"""A real SMTP server on a loopback port (aiosmtpd) that records mail and can be told to fail."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.support.apps import Running, running_all_in_one
from tests.support.processes import free_port

MAIL_DOMAIN = "centre.example"


@dataclass
class Received:
    """One accepted message as the server saw it."""

    sender: str
    recipients: list[str]
    data: bytes


@dataclass
class RecordingHandler:
    """Accepts mail, unless ``replies`` holds answers to give first (e.g. ``451 …``)."""

    messages: list[Received] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    attempts: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.replies:
            return self.replies.pop(0)
        self.messages.append(
            Received(
                sender=envelope.mail_from,
                recipients=list(envelope.rcpt_tos),
                data=bytes(envelope.original_content or envelope.content),
            )
        )
        return "250 2.0.0 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: RecordingHandler

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def fail_next(self, *replies: str) -> None:
        """Answer the next DATA commands with these replies instead of accepting."""
        self.handler.replies.extend(replies)


@contextmanager
def serving_smtp(
    *, smtputf8: bool = True, handler: RecordingHandler | None = None
) -> Iterator[SmtpServer]:
    """An SMTP server on 127.0.0.1; ``smtputf8`` says whether it takes international
    addresses (RFC 6531), as current servers do."""
    handler = handler or RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=smtputf8)
    controller.start()
    try:
        yield SmtpServer(host="127.0.0.1", port=port, handler=handler)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server on 127.0.0.1 for this test."""
    with serving_smtp() as server:
        yield server


@asynccontextmanager
async def running_with_smtp(
    database_url: str, data_dir: Path, server: SmtpServer, **overrides: Any
) -> AsyncIterator[Running]:
    """The three services in one app, sending mail as ``centre.example`` to this SMTP server."""
    async with running_all_in_one(
        database_url,
        data_dir,
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_security="none",
        mail_domain=MAIL_DOMAIN,
        **overrides,
    ) as running:
        yield running
