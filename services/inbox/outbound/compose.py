"""Builds an outgoing email (threading headers, text and HTML, attachments) as raw bytes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, quote

from services.inbox.conversations.threading import normalize_subject
from services.inbox.ingest.schemas import is_mailbox_address

_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|antw)\s*(\[\d+\])?\s*[:：]\s*", re.IGNORECASE)


@dataclass(frozen=True)
class OutgoingFile:
    """A file to attach."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class OutgoingEmail:
    """Everything an outgoing email says, before it becomes bytes."""

    sender: str
    sender_name: str | None
    recipient: str
    recipient_name: str | None
    subject: str
    text: str
    html: str | None
    message_id: str
    in_reply_to: str | None = None
    references: Sequence[str] = ()
    date: datetime | None = None
    language: str = "en"
    automatic: bool = False
    attachments: Sequence[OutgoingFile] = field(default_factory=tuple)


def new_message_id(domain: str) -> str:
    """A fresh Message-ID for our domain, without angle brackets (as we store them)."""
    return make_msgid(domain=domain).strip("<>")


def reply_subject(subject: str | None, language: str) -> str:
    """``Re: …`` (English) or ``RE : …`` (French typography), never stacking prefixes."""
    base = (subject or "").strip()
    while _REPLY_PREFIX.match(base):
        base = _REPLY_PREFIX.sub("", base, count=1).strip()
    if not base:
        base = normalize_subject(subject or "")
    return f"RE\u00a0: {base}" if language == "fr" else f"Re: {base}"


def from_address(inbox_address: str | None, configured: str) -> str:
    """The From of a reply: the conversation's inbox address, or the configured sender when it
    has none or holds one no header can carry (stored before addresses were checked)."""
    if inbox_address and is_mailbox_address(inbox_address):
        return inbox_address
    return configured


def _mailbox(name: str | None, address: str) -> Address | str:
    if address.isascii():
        return Address(display_name=name or "", addr_spec=address)
    # Address() refuses a non-ASCII local part; a UTF-8 header takes it as written.
    return f'"{quote(name)}" <{address}>' if name else f"<{address}>"


def compose(email: OutgoingEmail) -> bytes:
    """The email as RFC 5322 bytes: UTF-8 bodies, encoded-word headers, CRLF line ends."""
    # International addresses (RFC 6531) can only be written as UTF-8 headers.
    international = not (email.sender.isascii() and email.recipient.isascii())
    message = EmailMessage(policy=SMTP.clone(utf8=True) if international else SMTP)
    message["From"] = _mailbox(email.sender_name, email.sender)
    message["To"] = _mailbox(email.recipient_name, email.recipient)
    message["Subject"] = email.subject
    message["Message-ID"] = f"<{email.message_id}>"
    if email.date is not None:
        message["Date"] = format_datetime(email.date)
    if email.in_reply_to:
        message["In-Reply-To"] = f"<{email.in_reply_to}>"
    references = [*email.references]
    if email.in_reply_to and email.in_reply_to not in references:
        references.append(email.in_reply_to)
    if references:
        message["References"] = " ".join(f"<{ref}>" for ref in references[-20:])
    # RFC 3834: automatic mail says so, so that other robots never answer it.
    message["Auto-Submitted"] = "auto-replied" if email.automatic else "no"
    message.set_content(email.text, charset="utf-8", cte="quoted-printable")
    if email.html:
        message.add_alternative(email.html, subtype="html", charset="utf-8", cte="quoted-printable")
    for attachment in email.attachments:
        maintype, _, subtype = attachment.content_type.lower().partition("/")
        # The filename goes in Content-Disposition and, for older clients, as the Content-Type
        # name; non-ASCII names are encoded per RFC 2231 (filename*=utf-8''facture-%C3%A9t…).
        params = {"name": attachment.filename}
        if maintype == "text" and _is_utf8(attachment.data):
            params["charset"] = "utf-8"  # without it, readers must assume US-ASCII (RFC 2046)
        message.add_attachment(
            attachment.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
            params=params,
        )
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]  # only the top level carries it (RFC 2045)
    # set_content() and add_*() move Content-* headers into the parts: add it last.
    message["Content-Language"] = "fr-CA" if email.language == "fr" else "en-CA"
    return message.as_bytes()


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
