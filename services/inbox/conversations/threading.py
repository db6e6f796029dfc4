"""Threading keys: Message-ID lookups, conversation references quoted in a subject, and subject
normalization with EN/FR reply prefixes."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Protocol

MAX_THREAD_KEYS = 50

# A conversation's reference, e.g. ``C-7K3M9QXA``: customers are asked to keep it in the subject.
REFERENCE_PREFIX = "C-"
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read over the phone
REFERENCE_LENGTH = 8
MAX_SUBJECT_REFERENCES = 5
# A whole word in either case, wherever it is: "[C-7K3M9QXA]", "réf. c-7k3m9qxa", "(C-7K3M9QXA)";
# a letter, digit or hyphen on either side makes it part of another code. Matched after NFKC, so
# full-width forms count too.
_REFERENCE = re.compile(
    r"(?<![\w-])"
    + "".join(f"[{c}{c.lower()}]" if c.isalpha() else re.escape(c) for c in REFERENCE_PREFIX)
    + f"[{REFERENCE_ALPHABET}{REFERENCE_ALPHABET.lower()}]{{{REFERENCE_LENGTH}}}"
    + r"(?![\w-])"
)

# Reply and forward markers that mail clients put before a subject, in English, French and the
# other languages our customers' clients are set to (German, Dutch, Nordic, Spanish, Portuguese,
# Polish, Turkish, Chinese). Single letters (Italian "R:", "I:") are left out: too easy to hit text.
_REPLY = r"re|ré|rép|rep|réf|ref|aw|sv|antw|vs|res|odp|ynt|回复|回覆|答复|返信"
_FORWARD = r"fwd?|tr|wg|doorst|rv|enc|pd|vb|ilt|转发|轉寄|転送"
_COUNTER = r"(?:\s*(?:\[\d+\]|\(\d+\)|\^\d+))?"
_PREFIX = re.compile(rf"\s*(?:({_FORWARD})|(?:{_REPLY}))\.?{_COUNTER}\s*:", re.IGNORECASE)
_LEADING_TAG = re.compile(r"\s*\[[^\[\]]*\]")
_TRAILING_TAG = re.compile(r"(?:\s*\[[^\[\]]*\]|\s*\((?:fwd|fw|tr)\))+\s*$", re.IGNORECASE)
_SPACE_BEFORE = re.compile(r"\s+([:;!?»,.)])")
_SPACE_AFTER = re.compile(r"([«(])\s+")
_EDGE_PUNCTUATION = " \t:;,.-–—_|"


class ThreadHeaders(Protocol):
    """The parsed headers threading needs; ParsedEmail provides them."""

    @property
    def message_id(self) -> str | None: ...

    @property
    def in_reply_to(self) -> str | None: ...

    @property
    def references(self) -> Sequence[str]: ...


def _unicode(subject: str) -> str:
    # NFKC turns no-break and narrow no-break spaces into spaces and full-width colons into ":".
    return unicodedata.normalize("NFKC", subject)


def normalize_subject(subject: str) -> str:
    """Return the subject reduced for matching: no reply/forward prefixes or [tags], casefolded."""
    text = _unicode(subject)
    while (found := _PREFIX.match(text) or _LEADING_TAG.match(text)) is not None:
        text = text[found.end() :].lstrip(_EDGE_PUNCTUATION)
    text = _TRAILING_TAG.sub("", text)
    text = " ".join(text.split())
    text = _SPACE_AFTER.sub(r"\1", _SPACE_BEFORE.sub(r"\1", text))
    return text.strip(_EDGE_PUNCTUATION).casefold()


def subject_references(subject: str) -> list[str]:
    """Return the conversation references written in the subject, upper-cased, first seen first,
    no duplicates, at most MAX_SUBJECT_REFERENCES."""
    found = (match.upper() for match in _REFERENCE.findall(_unicode(subject)))
    return list(dict.fromkeys(found))[:MAX_SUBJECT_REFERENCES]


def is_forward(subject: str) -> bool:
    """Return True when the outermost prefix, after any leading [tags], marks a forward."""
    text = _unicode(subject)
    while (tag := _LEADING_TAG.match(text)) is not None:
        text = text[tag.end() :]
    match = _PREFIX.match(text)
    return match is not None and match.group(1) is not None


def thread_keys(parsed: ThreadHeaders) -> list[str]:
    """Return Message-IDs to look up: In-Reply-To, then References newest first, no duplicates."""
    candidates = [parsed.in_reply_to, *reversed(parsed.references)]
    keys = [key for key in dict.fromkeys(candidates) if key and key != parsed.message_id]
    return keys[:MAX_THREAD_KEYS]
