"""Small builders for the emails the inbox tests send."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from shared.auth import sign_body


def email(
    *,
    sender: str = "Marie Tremblay <marie.tremblay@exemple.ca>",
    to: str = "service@centre.example",
    subject: str = "Facture erronée",
    body: str = "Bonjour,\n\nMa facture de novembre est erronée : on me facture deux fois "
    "le même forfait. Pouvez-vous corriger la situation?\n\nMerci beaucoup,\nMarie",
    message_id: str | None = "auto",
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A plain-text email as raw bytes (UTF-8, CRLF)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2026, 11, 20, 14, 5, tzinfo=UTC))
    if message_id == "auto":
        message["Message-ID"] = make_msgid(domain="exemple.ca")
    elif message_id is not None:
        message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def raw_headers(token: str) -> dict[str, str]:
    """Headers for posting a raw message with a gateway token."""
    return {"Authorization": f"Bearer {token}", "Content-Type": "message/rfc822"}


def signed_headers(secret: str, body: bytes) -> dict[str, str]:
    """Headers for posting a raw message signed by a gateway."""
    return {"X-Signature": sign_body(secret, body), "Content-Type": "message/rfc822"}
