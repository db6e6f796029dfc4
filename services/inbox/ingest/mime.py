"""Raw RFC 5322 bytes to a ParsedEmail: MIME structure, body parts, attachments, auto-replies."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import utils
from email.generator import BytesGenerator
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import EmailPolicy, default

from services.inbox.ingest.charsets import (
    CHARSET_LABEL,
    decode_bytes,
    decode_words,
    header_fallbacks,
)
from services.inbox.ingest.headers import (
    CONTROL_CHARS,
    MAX_ADDRESS_FIELD_CHARS,
    MAX_ADDRESS_LIST_CHARS,
    MAX_MESSAGE_ID_CHARS,
    STDLIB_ERRORS,
    STDLIB_HEADER_ERRORS,
    HeaderFields,
    message_ids,
    mime_parameters,
    normalize_message_id,
    unfold,
)
from services.inbox.ingest.html import html_to_text, sanitize_html
from services.inbox.ingest.reports import DeliveryReport, delivery_report

__all__ = [
    "CONTENT_FIELD_BUDGET",
    "MAX_ADDRESS_FIELD_CHARS",
    "MAX_ADDRESS_LIST_CHARS",
    "MAX_CONTENT_FIELD_CHARS",
    "MAX_DEPTH",
    "MAX_HEADER_BLOCK_BYTES",
    "MAX_HEADER_LINES",
    "MAX_MESSAGE_ID_CHARS",
    "MAX_PARTS",
    "MAX_SUBJECT_CHARS",
    "SIGNAL_KINDS",
    "UNPARSEABLE_TEXTS",
    "Attachment",
    "DeliveryReport",
    "ParsedEmail",
    "UnparseableEmail",
    "decode_bytes",
    "decode_words",
    "html_to_text",
    "mime_parameters",
    "normalize_message_id",
    "parse_email",
    "sanitize_html",
]
# Why these limits: CPython 3.11's structured header parser is quadratic or worse on crafted
# input (gh-136063: 4 KiB of "a." takes ~0.1 s, 32 KiB takes ~10 s). Only Content-* fields and
# address fields go through it, so those are capped; everything else we read with linear code.
MAX_HEADER_BLOCK_BYTES = 256 * 1024
MAX_HEADER_LINES = 4000
MAX_CONTENT_FIELD_CHARS = 4096
CONTENT_FIELD_BUDGET = 4 * MAX_CONTENT_FIELD_CHARS**2
MAX_PARTS = 1000
MAX_DEPTH = 30
# A subject is kept to one RFC 5322 line's worth (the raw message keeps all of it): a longer
# one is folded junk, and decoding, matching and full-text indexing it cost per character.
MAX_SUBJECT_CHARS = 998
# Every value auto_reply_signals can hold; any one of them makes a message an auto-reply.
SIGNAL_KINDS = (
    *("auto-submitted", "x-autoreply", "x-autorespond", "multipart/report", "null-return-path"),
    *("precedence:bulk", "precedence:junk", "precedence:list", "precedence:auto_reply"),
    *("mailer-daemon", "ooo-subject"),
)


#: Why a message cannot be read, by stable code: the words people read (French in the inbox
#: catalog), without the limits and names of the technical ``reason``.
UNPARSEABLE_TEXTS = {
    "empty": "the message is empty",
    "header_too_large": "its header block is too large",
    "header_too_long": "its header block has too many lines",
    "no_header": "it does not start with a header field",
    "no_header_fields": "it has no header fields",
    "content_field_too_long": "a Content-* header field is too long",
    "content_fields_too_large": "its Content-* header fields are too large in total",
    "too_deep": "its MIME parts are nested too deeply",
    "too_many_parts": "it has too many MIME parts",
    "parser_failed": "the email parser cannot read its structure",
}


class UnparseableEmail(ValueError):
    """The bytes are not a mail message we can read; the caller quarantines them raw.

    ``code`` names the cause (a key of UNPARSEABLE_TEXTS, ``text`` its words); ``reason``, also
    the exception's string, is the technical detail kept with the quarantined email."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(code, reason)  # both, so that it crosses a process boundary intact
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return self.reason

    @property
    def text(self) -> str:
        """The cause in words, a catalog message."""
        return UNPARSEABLE_TEXTS[self.code]


@dataclass(frozen=True)
class Attachment:
    """A non-body part. filename: decoded, directory parts and control characters removed,
    255 characters at most (an attached message without one is named after its subject);
    size and sha256 describe the decoded bytes even when omitted is True, in which case
    data is empty because the part was larger than max_attachment_bytes; content_id has no
    angle brackets; inline: disposition inline, or none with a Content-ID (images in HTML)."""

    filename: str | None
    content_type: str
    size: int
    sha256: str
    data: bytes
    content_id: str | None
    inline: bool
    omitted: bool = False


@dataclass(frozen=True)
class ParsedEmail:
    """One message as the inbox stores it. Message-IDs are normalized by normalize_message_id;
    addresses are lower-cased addr-specs, only those with an "@"; date is aware (a zone of
    -0000 reads as UTC); reply_to_name is the display name Reply-To gives its first address,
    read as from_name is; text is the plain body (derived from the HTML when there is no plain
    part), html the sanitized HTML or None; charsets are the declared ones, lower-cased, in
    part order; defects name what was wrong and repaired (stdlib defect classes and ours);
    report is what an auto-reply that returns an email (a bounce) says of it."""

    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    from_address: str | None
    from_name: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    reply_to_name: str | None
    date: datetime | None
    text: str
    html: str | None
    attachments: tuple[Attachment, ...]
    content_language: str | None
    auto_reply: bool
    auto_reply_signals: tuple[str, ...]
    charsets: tuple[str, ...]
    defects: tuple[str, ...]
    report: DeliveryReport | None = None


@dataclass
class _ParseState:
    content_fields: int = 0
    parsed: dict[tuple[str, str], str] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)


class _HardenedPolicy(EmailPolicy):
    """The default policy, refusing Content-* fields that would make the stdlib parser crawl."""

    state: _ParseState

    def __init__(self, state: _ParseState) -> None:
        super().__init__(message_factory=EmailMessage)
        object.__setattr__(self, "state", state)

    def header_source_parse(self, sourcelines: list[str]) -> tuple[str, str]:
        name, value = super().header_source_parse(sourcelines)
        if name.lower().startswith("content-"):
            if len(value) > MAX_CONTENT_FIELD_CHARS:
                raise UnparseableEmail(
                    "content_field_too_long",
                    f"{name} field longer than {MAX_CONTENT_FIELD_CHARS} chars",
                )
            self.state.content_fields += len(value) ** 2
            if self.state.content_fields > CONTENT_FIELD_BUDGET:
                raise UnparseableEmail(
                    "content_fields_too_large", "Content-* fields too large in total"
                )
        return name, value

    def header_fetch_parse(self, name: str, value: str) -> str:
        if name.lower() in _PLAIN_FIELDS:
            return _readable(unfold(value))
        # The stdlib re-parses a field on every access (several per part); parse each once.
        key = (name.lower(), value)
        # Crafted parameters crash the 3.11 parser (IndexError): fall back to the bare value.
        for candidate in (value, value.split(";")[0], ""):
            if key in self.state.parsed:
                break
            try:
                self.state.parsed[key] = super().header_fetch_parse(name, candidate)
            except STDLIB_HEADER_ERRORS:
                self.state.refused.append(f"bad-header-field:{name.lower()}")
        return self.state.parsed[key]


# Every read of these goes through Message's own methods (get_content_type, get_param,
# get_boundary, get_filename...), which split the field's text themselves; the structured
# header the default policy would build first is never used. Building it, once per part and
# field (the values differ: each names its file), was most of the time a message with
# hundreds of attachments took to parse.
_PLAIN_FIELDS = frozenset({"content-type", "content-disposition"})


def _readable(value: str) -> str:
    """The value with raw 8-bit bytes (surrogate escapes) as U+FFFD, as the default policy has."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value


_SERIALIZE = default.clone(refold_source="none", linesep="\r\n")
_HEADER_START = re.compile(rb"(?:From [^\r\n]*\r?\n)?[!-9;-~]+[ \t]*:")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_LEADING_BLANKS = re.compile(rb"\A(?:[ \t]*\r?\n)+")
_LEADING_LINE = re.compile(rb"[^\r\n]{0,200}\r?\n")
# RFC 5322 obsolete syntax allows spaces before the colon; the stdlib does not, so we drop them.
_SPACE_BEFORE_COLON = re.compile(rb"(?m)^([!-9;-~]+)[ \t]+:")
_OOO_SUBJECT = re.compile(
    r"\s*(?:out of (?:the )?office|automatic reply|auto[- ]?reply|auto[- ]?response"
    r"|réponse automatique|absence du bureau|absent(?:\(e\)|e)?|message d'absence"
    r"|abwesenheitsnotiz|automatische antwort|respuesta automática)\s*(?::|$)",
    re.IGNORECASE,
)


@dataclass
class _Body:
    segments: list[tuple[str | None, str | None]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    limit: int | None = None
    fallbacks: tuple[str, ...] = ()


def _payload_bytes(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _collect(part: Message, body: _Body, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise UnparseableEmail("too_deep", f"MIME parts nested deeper than {MAX_DEPTH}")
    ctype = part.get_content_type()
    if ctype.startswith("multipart/") and not part.is_multipart():
        ctype = "text/plain"  # boundary missing: the parser kept the payload as one text
    if ctype.startswith("message/"):
        body.attachments.append(_attachment(part, _serialize(part, body.defects), body))
    elif part.is_multipart():
        children = [child for child in part.get_payload() if isinstance(child, Message)]
        if ctype != "multipart/alternative":
            for child in children:
                _collect(child, body, depth + 1)
            return
        choices = []
        for child in children:
            choice = _Body(limit=body.limit, fallbacks=body.fallbacks)
            _collect(child, choice, depth + 1)
            body.attachments += choice.attachments
            body.defects += choice.defects
            choices.append(choice.segments)
        plains = [p for segs in choices for p, _ in segs if p and p.strip()]
        htmls = [h for segs in choices for _, h in segs if h is not None]
        body.segments.append((plains[0] if plains else None, htmls[-1] if htmls else None))
    elif ctype in ("text/plain", "text/html") and _shown_inline(part, body):
        text, defect = decode_bytes(_payload_bytes(part), _charset(part), body.fallbacks)
        if defect:
            body.defects.append(defect)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        body.segments.append((text, None) if ctype == "text/plain" else (None, sanitize_html(text)))
        if _filename(part, body.fallbacks) is not None:
            body.attachments.append(_attachment(part, _payload_bytes(part), body))
    else:
        body.attachments.append(_attachment(part, _payload_bytes(part), body))


def _charset(part: Message) -> str | None:
    """The declared charset, lower-cased; only its first word when a broken fold ran the next
    field into it ("UTF-8 Content-Transfer-Encoding: 7bit")."""
    declared = part.get_content_charset()
    return declared.split()[0] if declared and declared.strip() else None


def _shown_inline(part: Message, body: _Body) -> bool:
    """Text parts are body unless attached; a named one only when explicitly inline (then both)."""
    disposition = part.get_content_disposition()
    if disposition == "attachment":
        return False
    return disposition == "inline" or _filename(part, body.fallbacks) is None


def _serialize(part: Message, defects: list[str]) -> bytes:
    if not part.is_multipart():
        return _payload_bytes(part)
    buffer = io.BytesIO()
    try:
        for inner in part.get_payload():
            if isinstance(inner, EmailMessage):
                BytesGenerator(buffer, mangle_from_=False, policy=_SERIALIZE).flatten(inner)
    except STDLIB_HEADER_ERRORS:
        defects.append("attached-message-not-serializable")
    return buffer.getvalue()


def _filename(part: Message, fallbacks: Sequence[str]) -> str | None:
    raw = {
        key: unfold(str(value))
        for name, value in reversed(list(part.raw_items()))
        if (key := name.lower()) in ("content-disposition", "content-type")
    }
    disposition = mime_parameters(raw.get("content-disposition", ""), fallbacks).get("filename")
    name = disposition or mime_parameters(raw.get("content-type", ""), fallbacks).get("name")
    if not name:
        return None
    decoded = decode_words(name, fallbacks)
    decoded = CONTROL_CHARS.sub("", re.split(r"[/\\]", decoded)[-1]).strip()
    return decoded[:255] or None


def _attachment(part: Message, data: bytes, body: _Body) -> Attachment:
    filename = _filename(part, body.fallbacks)
    if filename is None and part.get_content_type() == "message/rfc822":
        inner = part.get_payload(0) if part.is_multipart() else None
        subject = ""
        if isinstance(inner, Message):
            subject = HeaderFields(inner, body.fallbacks, []).text("subject")
        filename = (re.sub(r"[/\\:*?\"<>|]", "_", subject)[:200] or "message") + ".eml"
    content_id = str(part.get("content-id", "") or "").strip().strip("<>").strip() or None
    disposition = part.get_content_disposition()
    omitted = body.limit is not None and len(data) > body.limit
    if omitted:
        body.defects.append("attachment-omitted:too-large")
    return Attachment(
        filename=filename,
        content_type=part.get_content_type(),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=b"" if omitted else data,
        content_id=content_id,
        inline=disposition == "inline" or (disposition is None and content_id is not None),
        omitted=omitted,
    )


def _auto_reply_signals(
    headers: HeaderFields, message: Message, from_raw: str, subject: str
) -> list[str]:
    signals = []
    submitted = (headers.get("auto-submitted") or "").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        signals.append("auto-submitted")
    if headers.get("x-autoreply") is not None:
        signals.append("x-autoreply")
    if headers.get("x-autorespond") is not None:
        signals.append("x-autorespond")
    precedence = (headers.get("precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        signals.append(f"precedence:{precedence}")
    if message.get_content_type() == "multipart/report":
        signals.append("multipart/report")
    if re.fullmatch(r"<\s*>", headers.get("return-path") or ""):
        signals.append("null-return-path")
    if re.match(r"(?i)\s*(?:mailer-daemon|postmaster)(?:@|$)", from_raw):
        signals.append("mailer-daemon")
    if _OOO_SUBJECT.match(subject):
        signals.append("ooo-subject")
    return signals


def _check_shape(raw: bytes, defects: list[str]) -> bytes:
    if not raw.strip():
        raise UnparseableEmail("empty", "empty message")
    if b"\n" not in raw and b"\r" in raw:
        raw = raw.replace(b"\r", b"\n")
    raw = _LEADING_BLANKS.sub(b"", raw)
    first = _LEADING_LINE.match(raw)
    # A gateway banner such as "---- Original email message ----" above a real header block.
    if first and not _HEADER_START.match(raw) and _HEADER_START.match(raw, first.end()):
        end = _BLANK_LINE.search(raw)
        if re.search(rb"(?im)^from[ \t]*:", raw[: end.start() if end else len(raw)]):
            defects.append("skipped-leading-line")
            raw = raw[first.end() :]
    end = _BLANK_LINE.search(raw)
    block = raw[: end.start() if end else len(raw)]
    if len(block) > MAX_HEADER_BLOCK_BYTES:
        raise UnparseableEmail(
            "header_too_large", f"header block larger than {MAX_HEADER_BLOCK_BYTES} bytes"
        )
    if block.count(b"\n") > MAX_HEADER_LINES:
        raise UnparseableEmail(
            "header_too_long", f"header block longer than {MAX_HEADER_LINES} lines"
        )
    if not _HEADER_START.match(raw) or b"\x00" in block:
        raise UnparseableEmail("no_header", "does not start with a header field")
    return _SPACE_BEFORE_COLON.sub(rb"\1:", block) + raw[len(block) :]


def _date(value: str | None, defects: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        parsed = utils.parsedate_to_datetime(value)
        if parsed.tzinfo is not None:
            parsed.astimezone(UTC)  # a year 10000 in UTC cannot be stored
    except (ValueError, TypeError, IndexError, OverflowError):
        defects.append("bad-date")
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _declared_charsets(message: Message) -> list[str]:
    seen: list[str] = []
    for count, part in enumerate(message.walk()):
        if count >= MAX_PARTS:
            raise UnparseableEmail("too_many_parts", f"more than {MAX_PARTS} MIME parts")
        charset = _charset(part)
        if charset and CHARSET_LABEL.fullmatch(charset) and charset not in seen:
            seen.append(charset)
    return seen


def parse_email(raw: bytes, *, max_attachment_bytes: int | None = None) -> ParsedEmail:
    """Parse one raw message; raise UnparseableEmail when it is not a readable mail message."""
    defects: list[str] = []
    raw = _check_shape(raw, defects)
    state = _ParseState()
    parser = BytesParser(policy=_HardenedPolicy(state))
    try:
        message = parser.parsebytes(raw)
        if not message.keys():
            raise UnparseableEmail("no_header_fields", "no header fields")
        charsets = _declared_charsets(message)
        fallbacks = header_fallbacks(charsets)
        body = _Body(limit=max_attachment_bytes, fallbacks=fallbacks)
        _collect(message, body, 0)
    except UnparseableEmail:
        raise
    except RecursionError as exc:
        raise UnparseableEmail("too_deep", "MIME structure nested too deeply") from exc
    except STDLIB_ERRORS as exc:  # the stdlib failing where we found no repair: quarantine
        raise UnparseableEmail(
            "parser_failed", f"the stdlib parser failed: {type(exc).__name__}"
        ) from exc
    headers = HeaderFields(message, fallbacks, defects)
    senders = headers.addresses("from", defects)
    from_name, from_address = senders[0] if senders else ("", "")
    reply_tos = [
        (name, spec) for name, spec in headers.addresses("reply-to", defects) if "@" in spec
    ]
    for part in message.walk():
        defects += [type(defect).__name__ for defect in part.defects]
    text = "\n\n".join(p if p and p.strip() else html_to_text(h or "") for p, h in body.segments)
    htmls = [h for _, h in body.segments if h is not None]
    subject = headers.text("subject", limit=MAX_SUBJECT_CHARS)
    signals = _auto_reply_signals(
        headers, message, from_address or headers.get("from") or "", subject
    )
    return ParsedEmail(
        message_id=normalize_message_id(headers.get("message-id")),
        in_reply_to=normalize_message_id(headers.get("in-reply-to")),
        references=message_ids(headers.get("references")),
        subject=subject,
        from_address=from_address if "@" in from_address else None,
        from_name=from_name or None,
        to=_specs(headers.addresses("to", defects)),
        cc=_specs(headers.addresses("cc", defects)),
        reply_to=_specs(reply_tos),
        reply_to_name=(reply_tos[0][0] or None) if reply_tos else None,
        date=_date(headers.get("date"), defects),
        text=text.strip(),
        html="\n".join(htmls).strip() if htmls else None,
        attachments=tuple(body.attachments),
        content_language=headers.get("content-language") or None,
        auto_reply=bool(signals),
        auto_reply_signals=tuple(signals),
        charsets=tuple(charsets),
        defects=tuple(dict.fromkeys(defects + state.refused + body.defects)),
        report=delivery_report(message, fallbacks) if signals else None,
    )


def _specs(pairs: list[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(spec for _, spec in pairs if "@" in spec))
