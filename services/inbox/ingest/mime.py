"""Raw RFC 5322 bytes to a ParsedEmail: charsets, encoded words, attachments, sanitized HTML."""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import io
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import errors, utils
from email.generator import BytesGenerator
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import EmailPolicy, default
from html.parser import HTMLParser

import nh3

# Why these limits: CPython 3.11's structured header parser is quadratic or worse on crafted
# input (gh-136063: 4 KiB of "a." takes ~0.1 s, 32 KiB takes ~10 s). Only Content-* fields and
# address fields go through it, so those are capped; everything else we read with linear code.
MAX_HEADER_BLOCK_BYTES = 256 * 1024
MAX_HEADER_LINES = 4000
MAX_CONTENT_FIELD_CHARS = 4096
MAX_ADDRESS_FIELD_CHARS = 1024
MAX_ADDRESS_LIST_CHARS = 64 * 1024
CONTENT_FIELD_BUDGET = 4 * MAX_CONTENT_FIELD_CHARS**2
MAX_PARTS = 1000
MAX_DEPTH = 30
MAX_MESSAGE_ID_CHARS = 998

# Every value auto_reply_signals can hold; any one of them makes a message an auto-reply.
SIGNAL_KINDS = (
    *("auto-submitted", "x-autoreply", "x-autorespond", "multipart/report", "null-return-path"),
    *("precedence:bulk", "precedence:junk", "precedence:list", "precedence:auto_reply"),
    *("mailer-daemon", "ooo-subject"),
)


class UnparseableEmail(ValueError):
    """The bytes are not a mail message we can read; the caller quarantines them raw."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
    -0000 reads as UTC); text is the plain body (derived from the HTML when there is no plain
    part), html the sanitized HTML or None; charsets are the declared ones, lower-cased, in
    part order; defects name what was wrong and repaired (stdlib defect classes and ours)."""

    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    from_address: str | None
    from_name: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    date: datetime | None
    text: str
    html: str | None
    attachments: tuple[Attachment, ...]
    content_language: str | None
    auto_reply: bool
    auto_reply_signals: tuple[str, ...]
    charsets: tuple[str, ...]
    defects: tuple[str, ...]


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
                raise UnparseableEmail(f"{name} field longer than {MAX_CONTENT_FIELD_CHARS} chars")
            self.state.content_fields += len(value) ** 2
            if self.state.content_fields > CONTENT_FIELD_BUDGET:
                raise UnparseableEmail("Content-* fields too large in total")
        return name, value

    def header_fetch_parse(self, name: str, value: str) -> str:
        # The stdlib re-parses a field on every access (several per part); parse each once.
        key = (name.lower(), value)
        # Crafted parameters crash the 3.11 parser (IndexError): fall back to the bare value.
        for candidate in (value, value.split(";")[0], ""):
            if key in self.state.parsed:
                break
            try:
                self.state.parsed[key] = super().header_fetch_parse(name, candidate)
            except _STDLIB_HEADER_ERRORS:
                self.state.refused.append(f"bad-header-field:{name.lower()}")
        return self.state.parsed[key]


_SERIALIZE = default.clone(refold_source="none", linesep="\r\n")
# What the stdlib's header parser raises on malformed fields (IndexError is a LookupError).
_STDLIB_ERRORS = (errors.MessageError, ValueError, TypeError, AttributeError, LookupError)
_STDLIB_HEADER_ERRORS = (*_STDLIB_ERRORS, RecursionError)
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?]*)\?=")
_SURROGATE = re.compile(r"[\udc80-\udcff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HEADER_START = re.compile(rb"(?:From [^\r\n]*\r?\n)?[!-9;-~]+[ \t]*:")
_PARAMETER = re.compile(r';\s*([!#-\'*+.0-9A-Z^-~-]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)')
_CHARSET_LABEL = re.compile(r"[!#-~]{1,40}")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_LEADING_BLANKS = re.compile(rb"\A(?:[ \t]*\r?\n)+")
_LEADING_LINE = re.compile(rb"[^\r\n]{0,200}\r?\n")
# RFC 5322 obsolete syntax allows spaces before the colon; the stdlib does not, so we drop them.
_SPACE_BEFORE_COLON = re.compile(rb"(?m)^([!-9;-~]+)[ \t]+:")
_ANGLE_ID = re.compile(r"<([^<>]*)>")
_PHRASE_WORDS = re.compile(r'("(?:[^"\\]|\\.)*")|(?:=\?[^?\s]+\?[QqBb]\?[^?]*\?=\s*)+')
_LABELS = {"iso-8859-8-i": "iso-8859-8", "x-mac-cyrillic": "mac-cyrillic", "iso-gb2312": "gbk"}
# WHATWG's rule: these labels are decoded as their Windows supersets, since mail that says
# latin-1 or ASCII but carries 0x80-0x9F bytes is nearly always windows-1252 (curly quotes, €).
_SUPERSETS = dict.fromkeys(("ascii", "iso8859-1"), "cp1252") | {
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "gb2312": "gbk",
    "euc_kr": "cp949",
}
_WESTERN = frozenset({"cp1252", "iso8859-15"})
# A strict decode that succeeds in one of these is good evidence the bytes are in it.
_MULTIBYTE = frozenset(
    {"gbk", "gb18030", "big5", "big5hkscs", "cp949", "euc_jp", "shift_jis", "cp932", "cp950"}
)
_OOO_SUBJECT = re.compile(
    r"\s*(?:out of (?:the )?office|automatic reply|auto[- ]?reply|auto[- ]?response"
    r"|réponse automatique|absence du bureau|absent(?:\(e\)|e)?|message d'absence"
    r"|abwesenheitsnotiz|automatische antwort|respuesta automática)\s*(?::|$)",
    re.IGNORECASE,
)
# Layout properties only: none of these can load a URL.
_CSS_PROPERTIES = (
    {"color", "background-color", "font", "font-family", "font-size", "font-style"}
    | {"font-weight", "text-align", "text-decoration", "text-indent", "line-height"}
    | {"margin", "margin-left", "margin-right", "margin-top", "margin-bottom", "padding"}
    | {"padding-left", "padding-right", "padding-top", "padding-bottom", "border"}
    | {"border-color", "border-style", "border-width", "border-collapse", "width", "height"}
    | {"vertical-align", "white-space", "direction", "display", "list-style-type"}
)
_SAFE_IMAGE = re.compile(r"(?i)\s*(?:cid:|data:image/(?:png|gif|jpeg|webp);base64,)")
_UNSAFE_CSS = re.compile(r"(?i)url\s*\(|expression\s*\(|@import|image-set|behavior\s*:")


def _filter_attribute(tag: str, name: str, value: str) -> str | None:
    if name == "src":
        return value if _SAFE_IMAGE.match(value) else None
    if name == "href" and value.strip().lower().startswith(("data:", "cid:")):
        return None
    if name == "style" and _UNSAFE_CSS.search(value):
        return None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(nh3.ALLOWED_TAGS) | {"font", "tfoot"},
    clean_content_tags={"script", "style", "title", "iframe", "object", "embed", "noscript"},
    attributes={
        **{tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
        "*": {"style", "dir", "lang", "title", "align"},
        "font": {"color", "face", "size"},
        "td": set(nh3.ALLOWED_ATTRIBUTES["td"]) | {"bgcolor", "valign", "width", "height"},
        "table": set(nh3.ALLOWED_ATTRIBUTES["table"]) | {"bgcolor", "border", "width"},
    },
    attribute_filter=_filter_attribute,
    link_rel="noopener noreferrer nofollow",
    url_schemes={"http", "https", "mailto", "tel", "cid", "data"},
    url_relative="deny",
    filter_style_properties=_CSS_PROPERTIES,
)


def sanitize_html(markup: str) -> str:
    """Return markup safe to show an agent: no scripts, handlers, frames or remote loads."""
    return _CLEANER.clean(markup)


def decode_bytes(data: bytes, label: str | None) -> tuple[str, str | None]:
    """Decode text in its declared charset with fallbacks; return it and a defect, if any."""
    declared = _codec(label)
    unknown = f"unknown-charset:{label.strip().lower()[:40]}" if label and not declared else None
    if declared is None:
        order = ["utf-8", "cp1252"]
    elif declared in _WESTERN or declared == "utf-8":
        order = ["utf-8", declared]
    elif data.isascii():
        order = [declared]  # 7-bit charsets (ISO-2022-*, UTF-7) would "succeed" as UTF-8
    else:
        order = [declared, "utf-8"]
    for codec in order:
        try:
            return _clean_text(data.decode(codec)), unknown
        except (UnicodeError, LookupError):
            continue
    text = _mostly_utf8(data) if declared in (None, "utf-8") else None
    if text is None:
        text = data.decode(declared or "cp1252", errors="replace")
    return _clean_text(text), unknown or f"undecodable-bytes:{declared or 'cp1252'}"


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a few broken sequences (a name cut mid-character) still reads best as UTF-8."""
    text = data.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    sound = sum(1 for char in text if char > "\x7f") - broken
    return text if sound >= 4 * broken else None


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = _LABELS.get(name, name)
    if not _CHARSET_LABEL.fullmatch(name):
        return None
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return None
    return _SUPERSETS.get(canonical, canonical)


def _clean_text(text: str) -> str:
    return text.removeprefix("\ufeff").replace("\x00", "")


def _repair(value: str, fallbacks: Sequence[str] = ()) -> str:
    """Decode raw 8-bit header bytes (surrogate-escaped): UTF-8, then the given charsets, cp1252."""
    if not _SURROGATE.search(value):
        return value
    raw = value.encode("utf-8", "surrogateescape")
    for codec in ("utf-8", *fallbacks):
        try:
            return raw.decode(codec)
        except (UnicodeError, LookupError):
            if codec == "utf-8" and (text := _mostly_utf8(raw)) is not None:
                return text
    return raw.decode("cp1252", errors="replace")


def decode_words(value: str, fallbacks: Sequence[str] = ()) -> str:
    """Decode RFC 2047 encoded words and raw 8-bit bytes, joining adjacent words; never raises."""
    out: list[str] = []
    pending: list[tuple[str, bytes]] = []
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[position : match.start()]
        if gap and not (pending and gap.isspace()):
            _flush(pending, out)
            out.append(_repair(gap, fallbacks))
        charset, encoding, payload = match.groups()
        data = payload.encode("utf-8", "surrogateescape")
        try:
            if encoding in "Bb":
                chunk = base64.b64decode(data + b"=" * (-len(data) % 4))
            else:
                chunk = binascii.a2b_qp(data, header=True)
        except (binascii.Error, ValueError):
            _flush(pending, out)
            out.append(_repair(match.group(0), fallbacks))
        else:
            label = charset.split("*", 1)[0]
            if pending and pending[-1][0] == label:
                pending[-1] = (label, pending[-1][1] + chunk)
            else:
                pending.append((label, chunk))
        position = match.end()
    _flush(pending, out)
    out.append(_repair(value[position:], fallbacks))
    return "".join(out)


def _unfold(value: str) -> str:
    return _LINE_BREAK.sub("", value)


def _flush(pending: list[tuple[str, bytes]], out: list[str]) -> None:
    out.extend(decode_bytes(chunk, label)[0] for label, chunk in pending)
    pending.clear()


def normalize_message_id(value: str | None) -> str | None:
    """Return the first Message-ID in a header value: no brackets or spaces, domain lower-cased."""
    if not value:
        return None
    for match in _ANGLE_ID.finditer(value):
        found = _normal_id("".join(match.group(1).split()))
        if found:
            return found
    if _ANGLE_ID.search(value) is None and len(value.split()) == 1:
        return _normal_id(value.strip().strip("\"'"))
    return None


def _normal_id(token: str) -> str | None:
    if not token or len(token) > MAX_MESSAGE_ID_CHARS:
        return None
    local, at, domain = token.rpartition("@")
    return f"{local}@{domain.lower()}" if at else token


def _message_ids(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    found = (_normal_id("".join(m.group(1).split())) for m in _ANGLE_ID.finditer(value))
    return tuple(item for item in found if item)


class _Headers:
    """First value of each top-level field, unfolded, raw 8-bit bytes still surrogate-escaped."""

    def __init__(self, message: Message, fallbacks: Sequence[str], defects: list[str]) -> None:
        self.fallbacks = fallbacks
        self.values: dict[str, str] = {}
        for name, raw in message.raw_items():
            key = name.strip().lower()
            value = _unfold(str(raw)).replace("\x00", "").strip()
            if key not in self.values:
                self.values[key] = value
                if _SURROGATE.search(value):
                    defects.append(f"raw-8bit-header:{key}")

    def get(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None else _repair(value, self.fallbacks)

    def text(self, name: str) -> str:
        decoded = decode_words(self.values.get(name, ""), self.fallbacks)
        return _CONTROL.sub(" ", decoded).replace("\t", " ").strip()

    def addresses(self, name: str, defects: list[str]) -> list[tuple[str, str]]:
        value = self.get(name)
        if not value:
            return []
        value = _quote_encoded_words(value)[:MAX_ADDRESS_LIST_CHARS]
        pairs: list[tuple[str, str]] | None = None
        if len(value) <= MAX_ADDRESS_FIELD_CHARS:
            try:
                header = default.header_factory(name, value)
                pairs = [(a.display_name, a.addr_spec) for a in getattr(header, "addresses", ())]
            except _STDLIB_HEADER_ERRORS:
                defects.append(f"bad-address-field:{name}")
        if pairs is None:  # too long for the quadratic parser, or refused by it
            try:
                pairs = utils.getaddresses([value])  # the older parser: laxer, but linear
            except _STDLIB_HEADER_ERRORS:
                pairs = []
        return [(display.strip(), spec.strip().lower()) for display, spec in pairs]


def _quote_encoded_words(value: str) -> str:
    """Rewrite encoded words in a phrase as the quoted-string they stand for, decoded by us."""

    def replace(match: re.Match[str]) -> str:
        if "=?" not in match.group(0):
            return match.group(0)
        quoted = match.group(1)
        inner = re.sub(r"\\(.)", r"\1", quoted[1:-1]) if quoted else match.group(0)
        decoded = decode_words(inner).replace("\\", "\\\\").replace('"', '\\"')
        spaces = match.group(0)[len(match.group(0).rstrip()) :]
        return f'"{decoded}"{spaces}'

    return _PHRASE_WORDS.sub(replace, value)


class _TextExtractor(HTMLParser):
    """Plain text of sanitized HTML: block elements become line breaks, runs of spaces collapse."""

    _BREAK = frozenset({"br", "tr", "div", "li", "dt", "dd", "table", "ul", "ol", "hr"})
    _PARAGRAPH = frozenset({"p", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.preformatted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "li":
            self.chunks.append("\n- ")
        elif tag in self._BREAK:
            self.chunks.append("\n")
        elif tag in self._PARAGRAPH:
            self.chunks.append("\n\n")
        elif tag in ("td", "th"):
            self.chunks.append(" ")
        self.preformatted += tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        if tag in self._PARAGRAPH:
            self.chunks.append("\n\n")
        elif tag in self._BREAK and tag not in ("br", "li"):
            self.chunks.append("\n")
        self.preformatted -= tag == "pre" and self.preformatted > 0

    def handle_data(self, data: str) -> None:
        self.chunks.append(data if self.preformatted else re.sub(r"[ \t\r\n\f]+", " ", data))


def html_to_text(markup: str) -> str:
    """Return the readable text of an HTML body, for agents, quoting and language detection."""
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    lines = (line.strip(" \t\xa0") for line in "".join(extractor.chunks).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


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
        raise UnparseableEmail(f"MIME parts nested deeper than {MAX_DEPTH}")
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
        text, defect = decode_bytes(_payload_bytes(part), part.get_content_charset())
        if defect:
            body.defects.append(defect)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        body.segments.append((text, None) if ctype == "text/plain" else (None, sanitize_html(text)))
        if _filename(part, body.fallbacks) is not None:
            body.attachments.append(_attachment(part, _payload_bytes(part), body))
    else:
        body.attachments.append(_attachment(part, _payload_bytes(part), body))


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
    except _STDLIB_HEADER_ERRORS:
        defects.append("attached-message-not-serializable")
    return buffer.getvalue()


def _filename(part: Message, fallbacks: Sequence[str]) -> str | None:
    raw = {name.lower(): _unfold(str(value)) for name, value in reversed(list(part.raw_items()))}
    disposition = mime_parameters(raw.get("content-disposition", ""), fallbacks).get("filename")
    name = disposition or mime_parameters(raw.get("content-type", ""), fallbacks).get("name")
    if not name:
        return None
    decoded = decode_words(name, fallbacks)
    decoded = _CONTROL.sub("", re.split(r"[/\\]", decoded)[-1]).strip()
    return decoded[:255] or None


def mime_parameters(value: str, fallbacks: Sequence[str] = ()) -> dict[str, str]:
    """Parameters of a Content-* field value, RFC 2231 sections joined and decoded; never raises."""
    plain: dict[str, str] = {}
    sections: dict[str, list[tuple[int, bool, str]]] = {}
    for match in _PARAMETER.finditer(value):
        key, text = match.group(1).lower(), match.group(2).strip()
        if text.startswith('"'):
            text = re.sub(r"\\(.)", r"\1", text[1:-1] if text.endswith('"') else text[1:])
        name, star, rest = key.partition("*")
        if not star:
            plain.setdefault(name, _repair(text, fallbacks))
            continue
        index = rest.partition("*")[0]
        sections.setdefault(name, []).append(
            (int(index) if index.isdigit() else 0, key.endswith("*"), text)
        )
    for name, pieces in sections.items():
        charset, data = None, b""
        for position, (_, encoded, text) in enumerate(sorted(pieces, key=lambda p: p[0])):
            chunk = text.encode("utf-8", "surrogateescape")
            if encoded and position == 0 and chunk.count(b"'") >= 2:
                label, _, chunk = chunk.split(b"'", 2)
                charset = label.decode("ascii", "replace")
            data += urllib.parse.unquote_to_bytes(chunk) if encoded else chunk
        plain[name] = decode_bytes(data, charset)[0]
    return plain


def _attachment(part: Message, data: bytes, body: _Body) -> Attachment:
    filename = _filename(part, body.fallbacks)
    if filename is None and part.get_content_type() == "message/rfc822":
        inner = part.get_payload(0) if part.is_multipart() else None
        subject = ""
        if isinstance(inner, Message):
            subject = _Headers(inner, body.fallbacks, []).text("subject")
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


def _auto_reply_signals(headers: _Headers, message: Message, from_raw: str) -> list[str]:
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
    if _OOO_SUBJECT.match(headers.text("subject")):
        signals.append("ooo-subject")
    return signals


def _check_shape(raw: bytes, defects: list[str]) -> bytes:
    if not raw.strip():
        raise UnparseableEmail("empty message")
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
        raise UnparseableEmail(f"header block larger than {MAX_HEADER_BLOCK_BYTES} bytes")
    if block.count(b"\n") > MAX_HEADER_LINES:
        raise UnparseableEmail(f"header block longer than {MAX_HEADER_LINES} lines")
    if not _HEADER_START.match(raw) or b"\x00" in block:
        raise UnparseableEmail("does not start with a header field")
    return _SPACE_BEFORE_COLON.sub(rb"\1:", block) + raw[len(block) :]


def _date(value: str | None, defects: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        parsed = utils.parsedate_to_datetime(value)
    except (ValueError, TypeError, IndexError, OverflowError):
        defects.append("bad-date")
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _header_fallbacks(charsets: Sequence[str]) -> tuple[str, ...]:
    """Charsets to try on raw 8-bit header bytes: the message's multi-byte ones, then one more."""
    codecs_ = [codec for codec in map(_codec, charsets) if codec and codec != "utf-8"]
    # Japanese mail that declares ISO-2022-JP often carries raw Shift_JIS in its headers.
    codecs_ += ["cp932" for codec in codecs_ if codec.startswith("iso2022_jp")][:1]
    multibyte = [codec for codec in codecs_ if codec in _MULTIBYTE]
    single = [codec for codec in codecs_ if codec not in _MULTIBYTE]
    return tuple(dict.fromkeys(multibyte + single[:1]))


def _declared_charsets(message: Message) -> list[str]:
    seen: list[str] = []
    for count, part in enumerate(message.walk()):
        if count >= MAX_PARTS:
            raise UnparseableEmail(f"more than {MAX_PARTS} MIME parts")
        charset = part.get_content_charset()
        if charset and _CHARSET_LABEL.fullmatch(charset) and charset not in seen:
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
            raise UnparseableEmail("no header fields")
        charsets = _declared_charsets(message)
        fallbacks = _header_fallbacks(charsets)
        body = _Body(limit=max_attachment_bytes, fallbacks=fallbacks)
        _collect(message, body, 0)
    except UnparseableEmail:
        raise
    except RecursionError as exc:
        raise UnparseableEmail("MIME structure nested too deeply") from exc
    except _STDLIB_ERRORS as exc:  # the stdlib failing where we found no repair: quarantine
        raise UnparseableEmail(f"the stdlib parser failed: {type(exc).__name__}") from exc
    headers = _Headers(message, fallbacks, defects)
    senders = headers.addresses("from", defects)
    from_name, from_address = senders[0] if senders else ("", "")
    for part in message.walk():
        defects += [type(defect).__name__ for defect in part.defects]
    text = "\n\n".join(p if p and p.strip() else html_to_text(h or "") for p, h in body.segments)
    htmls = [h for _, h in body.segments if h is not None]
    signals = _auto_reply_signals(headers, message, from_address or headers.get("from") or "")
    return ParsedEmail(
        message_id=normalize_message_id(headers.get("message-id")),
        in_reply_to=normalize_message_id(headers.get("in-reply-to")),
        references=_message_ids(headers.get("references")),
        subject=headers.text("subject"),
        from_address=from_address if "@" in from_address else None,
        from_name=from_name or None,
        to=_specs(headers.addresses("to", defects)),
        cc=_specs(headers.addresses("cc", defects)),
        reply_to=_specs(headers.addresses("reply-to", defects)),
        date=_date(headers.get("date"), defects),
        text=text.strip(),
        html="\n".join(htmls).strip() if htmls else None,
        attachments=tuple(body.attachments),
        content_language=headers.get("content-language") or None,
        auto_reply=bool(signals),
        auto_reply_signals=tuple(signals),
        charsets=tuple(charsets),
        defects=tuple(dict.fromkeys(defects + state.refused + body.defects)),
    )


def _specs(pairs: list[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(spec for _, spec in pairs if "@" in spec))
