"""Header fields read linearly: Message-IDs, addresses, Content-* parameters (RFC 2231)."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence
from email import errors, utils
from email.message import Message
from email.policy import default

from services.inbox.ingest.charsets import RAW_8BIT, decode_bytes, decode_words, repair_8bit

# Address fields go through the stdlib's structured parser, quadratic on crafted input
# (gh-136063), so only short ones do; longer lists take the older, linear parser.
MAX_ADDRESS_FIELD_CHARS = 1024
MAX_ADDRESS_LIST_CHARS = 64 * 1024
MAX_MESSAGE_ID_CHARS = 998
# What the stdlib's header parser raises on malformed fields (IndexError is a LookupError).
STDLIB_ERRORS = (errors.MessageError, ValueError, TypeError, AttributeError, LookupError)
STDLIB_HEADER_ERRORS = (*STDLIB_ERRORS, RecursionError)
# Raw characters one decoded character may take: an emoji alone in its encoded word
# ("=?utf-8?q?=F0=9F=98=80?= ") takes 25, a letter in ISO-8859-15 22.
RAW_CHARS_PER_CHAR = 32
#: Control characters that must not reach a stored subject, name or filename.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PARAMETER = re.compile(r';\s*([!#-\'*+.0-9A-Z^-~-]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)')
_ANGLE_ID = re.compile(r"<([^<>]*)>")
_PHRASE_WORDS = re.compile(r'("(?:[^"\\]|\\.)*")|(?:=\?[^?\s]+\?[QqBb]\?[^?]*\?=\s*)+')
# A display name in single quotes before an angle address, as Outlook writes it
# ('Marie Tremblay' <marie@…>): RFC 5322 has no such quotes, so the parsers keep them in the
# name, or take a quoted address for the address itself.
_SINGLE_QUOTED_NAME = re.compile(r"(^|,)\s*'([^'\"<>,]*)'\s*<")
_TRAILING_ADDRESS = re.compile(r"\s*[(<\[][^()<>\[\]\s]+@[^()<>\[\]\s]+[)>\]]$")


def unfold(value: str) -> str:
    """The field value on one line (folding line breaks removed)."""
    return value.replace("\r", "").replace("\n", "")


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


def message_ids(value: str | None) -> tuple[str, ...]:
    """Every bracketed Message-ID in a field (References), normalized, in order."""
    if not value:
        return ()
    found = (_normal_id("".join(m.group(1).split())) for m in _ANGLE_ID.finditer(value))
    return tuple(item for item in found if item)


class HeaderFields:
    """First value of each top-level field, unfolded, raw 8-bit bytes still surrogate-escaped."""

    def __init__(self, message: Message, fallbacks: Sequence[str], defects: list[str]) -> None:
        self.fallbacks = fallbacks
        self.values: dict[str, str] = {}
        for name, raw in message.raw_items():
            key = name.strip().lower()
            value = unfold(str(raw)).replace("\x00", "").strip()
            if key not in self.values:
                self.values[key] = value
                if RAW_8BIT.search(value):
                    defects.append(f"raw-8bit-header:{key}")

    def get(self, name: str) -> str | None:
        """The field's value with raw 8-bit bytes decoded, or None when absent."""
        value = self.values.get(name)
        return None if value is None else repair_8bit(value, self.fallbacks)

    def text(self, name: str, limit: int | None = None) -> str:
        """The field as display text: encoded words decoded, control characters blanked; with a
        limit, its first `limit` characters, without decoding the rest of a huge field."""
        value = self.values.get(name, "")
        if limit is not None and len(value) > limit * RAW_CHARS_PER_CHAR:
            # Enough raw text for `limit` characters in any common encoding, cut between words.
            head = value[: limit * RAW_CHARS_PER_CHAR]
            value = head.rpartition(" ")[0] or head
        decoded = decode_words(value, self.fallbacks)
        text = CONTROL_CHARS.sub(" ", decoded).replace("\t", " ").strip()
        return text if limit is None else text[:limit].rstrip()

    def addresses(self, name: str, defects: list[str]) -> list[tuple[str, str]]:
        """(display name, lower-cased addr-spec) pairs of an address field; never raises."""
        value = self.get(name)
        if not value:
            return []
        value = _quote_encoded_words(value)[:MAX_ADDRESS_LIST_CHARS]
        if "'" in value:
            value = _SINGLE_QUOTED_NAME.sub(_double_quoted, value)
        pairs: list[tuple[str, str]] | None = None
        if len(value) <= MAX_ADDRESS_FIELD_CHARS:
            try:
                header = default.header_factory(name, value)
                pairs = [(a.display_name, a.addr_spec) for a in getattr(header, "addresses", ())]
            except STDLIB_HEADER_ERRORS:
                defects.append(f"bad-address-field:{name}")
        if pairs is None:  # too long for the quadratic parser, or refused by it
            try:
                pairs = utils.getaddresses([value])  # the older parser: laxer, but linear
            except STDLIB_HEADER_ERRORS:
                pairs = []
        return [(_display_name(display), spec.strip().lower()) for display, spec in pairs]


def _display_name(display: str) -> str:
    """A display name without what mailers wrap around it: Outlook's single quotes (also
    inside an encoded word, which the parsers see only once decoded) and an address repeated
    after it in parentheses ('Jean Roy' (jean@client.ca))."""
    name = _TRAILING_ADDRESS.sub("", display.strip())
    if len(name) > 1 and name[0] == name[-1] == "'":
        name = name[1:-1].strip()
    return name


def _double_quoted(match: re.Match[str]) -> str:
    """A single-quoted display name as the quoted-string RFC 5322 has."""
    name = match.group(2).replace("\\", "\\\\")
    return f'{match.group(1)} "{name}" <'


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
            plain.setdefault(name, repair_8bit(text, fallbacks))
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
