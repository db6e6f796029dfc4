"""Bytes and header words to text: declared charsets, their usual impostors, RFC 2047 words."""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Sequence

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?]*)\?=")
#: Raw 8-bit header bytes, as the parser hands them over (surrogate-escaped).
RAW_8BIT = re.compile(r"[\udc80-\udcff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
#: What a charset label may look like before it is looked up.
CHARSET_LABEL = re.compile(r"[!#-~]{1,40}")
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


def decode_bytes(
    data: bytes, label: str | None, fallbacks: Sequence[str] = ()
) -> tuple[str, str | None]:
    """Decode text in its declared charset with fallbacks; return it and a defect, if any.

    Bytes said to be UTF-8 (or in no charset) that are not UTF-8 are read as raw 8-bit header
    bytes are: mostly UTF-8 with a few broken sequences stays UTF-8 (each broken one a U+FFFD),
    else the given fallbacks (the message's other charsets), else windows-1252, which covers
    Latin-1: mail programs that label every message UTF-8 still send Latin-1 bodies."""
    declared = codec_for(label)
    unknown = f"unknown-charset:{label.strip().lower()[:40]}" if label and not declared else None
    if declared in (None, "utf-8"):
        return _decode_utf8_or_western(data, fallbacks, declared, unknown)
    if declared in _WESTERN:
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
    text = data.decode(declared, errors="replace")
    return _clean_text(text), unknown or f"undecodable-bytes:{declared}"


def _decode_utf8_or_western(
    data: bytes, fallbacks: Sequence[str], declared: str | None, unknown: str | None
) -> tuple[str, str | None]:
    try:
        return _clean_text(data.decode("utf-8")), unknown
    except UnicodeError:
        pass
    if (text := _mostly_utf8(data)) is not None:
        return _clean_text(text), unknown or "undecodable-bytes:utf-8"
    # Said UTF-8 but not UTF-8: a mislabelled charset, not damaged bytes.
    mislabelled = unknown or ("misdeclared-charset:utf-8" if declared else None)
    for codec in (*(codec for codec in fallbacks if codec != "utf-8"), "cp1252"):
        try:
            return _clean_text(data.decode(codec)), mislabelled
        except (UnicodeError, LookupError):
            continue
    # windows-1252 leaves five bytes undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D).
    text = data.decode("cp1252", errors="replace")
    return _clean_text(text), unknown or "undecodable-bytes:cp1252"


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a few broken sequences (a name cut mid-character, a stray byte) still reads
    best as UTF-8: when it has at least as many sound non-ASCII characters as broken
    sequences. Latin-1 text has broken sequences and next to no sound ones."""
    text = data.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    sound = sum(1 for char in text if char > "\x7f") - broken
    return text if sound >= broken else None


def codec_for(label: str | None) -> str | None:
    """The Python codec to decode a declared charset label with (its superset), or None."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = _LABELS.get(name, name)
    if not CHARSET_LABEL.fullmatch(name):
        return None
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return None
    return _SUPERSETS.get(canonical, canonical)


def _clean_text(text: str) -> str:
    text = text.removeprefix("\ufeff").replace("\x00", "")
    if _SURROGATE.search(text):
        # UTF-7 spells UTF-16 code units: a pair is its character, a lone one U+FFFD.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def repair_8bit(value: str, fallbacks: Sequence[str] = ()) -> str:
    """Decode raw 8-bit header bytes (surrogate-escaped): UTF-8, then the given charsets, cp1252."""
    if not RAW_8BIT.search(value):
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
    # Adjacent words in one charset are decoded together (a character may span two words);
    # their bytes grow in place: thousands of words joined by copying went quadratic.
    pending: list[tuple[str, bytearray]] = []
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[position : match.start()]
        if gap and not (pending and gap.isspace()):
            _flush(pending, out)
            out.append(repair_8bit(gap, fallbacks))
        charset, encoding, payload = match.groups()
        data = payload.encode("utf-8", "surrogateescape")
        try:
            if encoding in "Bb":
                chunk = base64.b64decode(data + b"=" * (-len(data) % 4))
            else:
                chunk = binascii.a2b_qp(data, header=True)
        except (binascii.Error, ValueError):
            _flush(pending, out)
            out.append(repair_8bit(match.group(0), fallbacks))
        else:
            label = charset.split("*", 1)[0]
            if pending and pending[-1][0] == label:
                pending[-1][1].extend(chunk)
            else:
                pending.append((label, bytearray(chunk)))
        position = match.end()
    _flush(pending, out)
    out.append(repair_8bit(value[position:], fallbacks))
    return "".join(out)


def _flush(pending: list[tuple[str, bytearray]], out: list[str]) -> None:
    out.extend(decode_bytes(bytes(chunk), label)[0] for label, chunk in pending)
    pending.clear()


def header_fallbacks(charsets: Sequence[str]) -> tuple[str, ...]:
    """Charsets to try on raw 8-bit header bytes: the message's multi-byte ones, then one more."""
    codecs_ = [codec for codec in map(codec_for, charsets) if codec and codec != "utf-8"]
    # Japanese mail that declares ISO-2022-JP often carries raw Shift_JIS in its headers.
    codecs_ += ["cp932" for codec in codecs_ if codec.startswith("iso2022_jp")][:1]
    multibyte = [codec for codec in codecs_ if codec in _MULTIBYTE]
    single = [codec for codec in codecs_ if codec not in _MULTIBYTE]
    return tuple(dict.fromkeys(multibyte + single[:1]))
