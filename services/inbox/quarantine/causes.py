"""Why a quarantined email could not be read: the parser's cause, from its stored text.

A quarantined email keeps what the parser said (``details.parse_error``): an English, technical
text with the limit or field it met (``header block larger than 65536 bytes``). The cause's
stable code (a key of ``UNPARSEABLE_TEXTS``) was never stored, so it is read back from that
text, whose wording for each cause has stayed the same since the first release; the stored
rows need no change. A text no pattern knows (an older or a foreign parser's) has no code and
reads as a plain "cannot be read".
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from services.inbox.ingest.mime import UNPARSEABLE_TEXTS
from shared.i18n import Term, Translator

#: The parser's technical text for each cause, limits and field names left open.
PATTERNS: Mapping[str, re.Pattern[str]] = {
    "empty": re.compile(r"empty message"),
    "header_too_large": re.compile(r"header block larger than \d+ bytes"),
    "header_too_long": re.compile(r"header block longer than \d+ lines"),
    "no_header": re.compile(r"does not start with a header field"),
    "no_header_fields": re.compile(r"no header fields"),
    "content_field_too_long": re.compile(r".+ field longer than \d+ chars"),
    "content_fields_too_large": re.compile(r"Content-\* fields too large in total"),
    "too_deep": re.compile(r"MIME parts nested deeper than \d+|MIME structure nested too deeply"),
    "too_many_parts": re.compile(r"more than \d+ MIME parts"),
    "parser_failed": re.compile(r"the stdlib parser failed: \w+"),
}
REASON = "The email cannot be read: {cause}."
REASON_UNKNOWN = "The email cannot be read."


def cause_code(parse_error: str | None) -> str | None:
    """The stable code of the cause the stored text names, or None when it names none known."""
    if not parse_error:
        return None
    for code, pattern in PATTERNS.items():
        if pattern.fullmatch(parse_error) and code in UNPARSEABLE_TEXTS:
            return code
    return None


def cause_text(code: str | None, locale: str, translator: Translator) -> str:
    """Why it cannot be read, as a sentence in ``locale`` ("en" or "fr")."""
    if code is None:
        return translator.gettext(REASON_UNKNOWN, locale)
    return translator.format(REASON, locale, {"cause": Term(UNPARSEABLE_TEXTS[code])})
