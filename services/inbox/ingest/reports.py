"""Delivery status notifications (RFC 3464, RFC 6533): the email a bounce returns, by its
Message-ID, and what became of it, read from the report's parts by the stdlib's parser."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import default

from services.inbox.ingest.headers import (
    CONTROL_CHARS,
    STDLIB_ERRORS,
    STDLIB_HEADER_ERRORS,
    HeaderFields,
    normalize_message_id,
)

#: The machine-readable part of a report: one block of fields per message, then one per recipient.
STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
#: The returned email: whole, or only its header block.
RETURNED_TYPES = ("message/rfc822", "message/global", "message/global-headers")
RETURNED_HEADER_TYPES = ("text/rfc822-headers",)
MAX_RECIPIENT_BLOCKS = 100
MAX_RETURNED_HEADER_BYTES = 256 * 1024
#: What is kept of the remote server's answer (an event carries at most 2,000 characters).
MAX_DIAGNOSTIC_CHARS = 1000
#: RFC 3463's "other undefined status", for a failed recipient whose report gives none.
UNDEFINED_FAILURE = "5.0.0"
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_REPLY_CODE = re.compile(r"([245]\d\d)(?:[ -]|$)")
#: Header blocks only; fields are read raw (HeaderFields), never by the structured parser.
_HEADERS = BytesHeaderParser(policy=default)


@dataclass(frozen=True)
class DeliveryReport:
    """What a bounce says of the email it returns. message_id: that email's Message-ID,
    normalized (None when the bounce carries neither the email nor its headers). For the
    recipient it reports on (the first that failed, else the first): action (``failed``,
    ``delayed``, ``delivered``, ``relayed``, ``expanded``), status (an RFC 3463 code such as
    ``5.1.1``), diagnostic (the remote server's answer, without its type such as ``smtp;``) and
    recipient (the address it names); each None when the report has no status part."""

    message_id: str | None
    action: str | None = None
    status: str | None = None
    diagnostic: str | None = None
    recipient: str | None = None

    @property
    def failed(self) -> bool:
        """Whether the email was given up for good: the action ``failed`` (whether the cause was
        permanent, 5.x.x, or lasted past the remote server's queue lifetime, 4.x.x), or, in a
        report without an action, a permanent status."""
        if self.action is not None:
            return self.action == "failed"
        return (self.status or "").startswith("5.")

    @property
    def expired(self) -> bool:
        """Whether a failure was temporary until the remote server gave up (a 4.x.x status)."""
        return self.failed and (self.status or "").startswith("4.")

    def failure(self) -> tuple[int | None, str]:
        """(SMTP code, reason) as a refused send records them: the code the diagnostic opens
        with, if any, and the rest, led by the status code (``5.1.1 User unknown``)."""
        reason = self.diagnostic or ""
        code: int | None = None
        if (opening := _REPLY_CODE.match(reason)) is not None:
            code, reason = int(opening.group(1)), reason[opening.end() :].strip()
        status = self.status or (UNDEFINED_FAILURE if self.failed else None)
        if status and not reason.startswith(status):
            reason = f"{status} {reason}".strip()
        return code, reason


def delivery_report(message: Message, fallbacks: Sequence[str]) -> DeliveryReport | None:
    """The report of a bounce (a multipart/report, or an email that attaches the one it
    returns), None when it has neither a status part nor a returned email; never raises."""
    try:
        return _read(message, fallbacks)
    except STDLIB_HEADER_ERRORS:  # a report the stdlib cannot read is no report
        return None


def _read(message: Message, fallbacks: Sequence[str]) -> DeliveryReport | None:
    report = _report_part(message)
    parts = _children(report if report is not None else message)
    status_part = next((p for p in parts if p.get_content_type() in STATUS_TYPES), None)
    returned = next((p for p in parts if _returned(p)), None)
    if status_part is None and returned is None:
        return None
    message_id = _returned_id(returned, fallbacks) if returned is not None else None
    blocks = _status_blocks(status_part) if status_part is not None else []
    recipients = [_fields(block, fallbacks) for block in blocks[1:]]
    recipients = [fields for fields in recipients if fields.get("action") or fields.get("status")]
    if not recipients:
        return DeliveryReport(message_id=message_id)
    failed = [fields for fields in recipients if _action(fields) == "failed"]
    chosen = (failed or recipients)[0]
    status = _STATUS.search(chosen.get("status") or "")
    return DeliveryReport(
        message_id=message_id,
        action=_action(chosen),
        status=status.group(0) if status else None,
        diagnostic=_typed_value(chosen.get("diagnostic-code"))[:MAX_DIAGNOSTIC_CHARS] or None,
        recipient=_typed_value(
            chosen.get("final-recipient") or chosen.get("original-recipient")
        ).lower()[:320]
        or None,
    )


def _report_part(part: Message) -> Message | None:
    """The first multipart/report, outside any attached message (the parser has bounded the
    nesting already)."""
    if part.get_content_type() == "multipart/report" and part.is_multipart():
        return part
    for child in _children(part):
        found = _report_part(child)
        if found is not None:
            return found
    return None


def _children(part: Message) -> list[Message]:
    if part.get_content_maintype() != "multipart" or not part.is_multipart():
        return []
    return [child for child in part.get_payload() if isinstance(child, Message)]


def _returned(part: Message) -> bool:
    return part.get_content_type() in (*RETURNED_TYPES, *RETURNED_HEADER_TYPES)


def _returned_id(part: Message, fallbacks: Sequence[str]) -> str | None:
    """The Message-ID of the returned email (or of its header block)."""
    inner: Message
    if part.get_content_type() in RETURNED_HEADER_TYPES:
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            return None
        try:
            inner = _HEADERS.parsebytes(payload[:MAX_RETURNED_HEADER_BYTES].lstrip())
        except STDLIB_ERRORS:
            return None
    else:
        first = part.get_payload(0) if part.is_multipart() else None
        if not isinstance(first, Message):
            return None
        inner = first
    return normalize_message_id(HeaderFields(inner, fallbacks, []).get("message-id"))


def _status_blocks(part: Message) -> list[Message]:
    """The report's blocks of fields: the message's, then each recipient's. The stdlib splits
    message/delivery-status into them; message/global-delivery-status it reads as one message
    whose body holds the blocks after the first, each read in turn."""
    if part.get_content_type() == "message/delivery-status":
        return list(_children_of(part))[: MAX_RECIPIENT_BLOCKS + 1]
    blocks = list(_children_of(part))[:1]
    while blocks and len(blocks) <= MAX_RECIPIENT_BLOCKS:
        # As bytes: the text the stdlib would give reads 8-bit bytes as U+FFFD.
        rest = blocks[-1].get_payload(decode=True)
        if not isinstance(rest, bytes) or not rest.strip():
            break
        try:
            blocks.append(_HEADERS.parsebytes(rest.lstrip(), headersonly=True))
        except STDLIB_ERRORS:
            break
    return blocks


def _children_of(part: Message) -> Iterator[Message]:
    payload = part.get_payload() if part.is_multipart() else []
    return (block for block in payload if isinstance(block, Message))


def _fields(block: Message, fallbacks: Sequence[str]) -> dict[str, str]:
    """A block's fields by lower-cased name: 8-bit text decoded, on one line, no controls."""
    fields = HeaderFields(block, fallbacks, [])
    return {
        name: " ".join(CONTROL_CHARS.sub(" ", value).split())
        for name in fields.values
        if (value := fields.get(name)) is not None
    }


def _action(fields: dict[str, str]) -> str | None:
    words = fields.get("action", "").lower().split()
    return words[0] if words else None


def _typed_value(value: str | None) -> str:
    """A typed field's value without its type (``smtp; 550 …``, ``rfc822; a@b``)."""
    if not value:
        return ""
    kind, semicolon, rest = value.partition(";")
    return (rest if semicolon and " " not in kind.strip() else value).strip()
