"""Sending raw email: over SMTP with aiosmtplib, or into ``.eml`` files when SMTP is not set.

Failures are sorted for the relay: a ``PermanentFailure`` (the server answered 5xx) is final
and shown to the agent with the server's reason; anything else (4xx, refused connection,
timeout, dropped connection) is temporary and retried with backoff, until the email has waited
longer than the queue lifetime (see ``send_queued_email``).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import aiosmtplib

from shared.outbox import RetryLater

#: What the agent sees when the server cannot take an international address (RFC 6531's reply).
NO_SMTPUTF8 = "5.6.7 The mail server does not accept international addresses (SMTPUTF8)."


class PermanentFailure(Exception):
    """The server refused the message for good; ``reason`` is what it said."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


class TemporaryFailure(RetryLater):
    """The message could not be sent now; try again later (never dead-lettered for it).

    ``code`` is the server's 4xx answer when it gave one (None when it could not be reached),
    ``reason`` what it said or what went wrong.
    """

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason if code is None else f"{code} {reason}")
        self.code = code
        self.reason = reason


class MailTransport(Protocol):
    """Delivers one raw message to its recipients, or raises one of the failures above."""

    async def send(self, raw: bytes, *, sender: str, recipients: Sequence[str]) -> str: ...


@dataclass(frozen=True)
class SmtpTransport:
    """An SMTP server: host, port, STARTTLS or TLS, optional credentials."""

    host: str
    port: int
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0

    async def send(self, raw: bytes, *, sender: str, recipients: Sequence[str]) -> str:
        """Send; returns the server's answer to the message data."""
        international = not (sender.isascii() and all(r.isascii() for r in recipients))
        try:
            _, answer = await aiosmtplib.send(
                raw,
                sender=sender,
                recipients=list(recipients),
                mail_options=["SMTPUTF8"] if international else None,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.security == "tls",
                start_tls=self.security == "starttls",
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPNotSupported as exc:
            # Only an international address asks for an extension the server may lack.
            raise PermanentFailure(553, NO_SMTPUTF8) from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refused.code for refused in exc.recipients]
            if codes and all(500 <= code < 600 for code in codes):
                first = exc.recipients[0]
                raise PermanentFailure(first.code, first.message) from exc
            temporary = [refused for refused in exc.recipients if not 500 <= refused.code < 600]
            if temporary:
                raise TemporaryFailure(temporary[0].message, temporary[0].code) from exc
            raise TemporaryFailure(str(exc)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentFailure(exc.code, exc.message) from exc
            raise TemporaryFailure(exc.message, exc.code) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
        return answer


@dataclass(frozen=True)
class FileTransport:
    """Writes each message as ``<Message-ID>.eml`` under a folder, for setups without SMTP."""

    folder: Path

    async def send(self, raw: bytes, *, sender: str, recipients: Sequence[str]) -> str:
        """Write the message durably; returns where it went."""
        return await asyncio.to_thread(self._write, raw)

    def _write(self, raw: bytes) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = _file_name(raw)
        target = self.folder / name
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
        with os.fdopen(handle, "wb") as file:
            file.write(raw)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
        return str(target)


def _file_name(raw: bytes) -> str:
    for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"message-id:"):
            value = line.split(b":", 1)[1].strip().strip(b"<>").decode("ascii", "replace")
            safe = "".join(c if c.isalnum() or c in "@._-" else "_" for c in value)
            return f"{safe[:200]}.eml"
    raise ValueError("an outgoing message must carry a Message-ID")
