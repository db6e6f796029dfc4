"""Strips from a message everything the customer did not newly write, before language detection.

Removed, in English and French: quoted history (``>`` lines, ``On … wrote:`` and
``Le … a écrit :`` attributions, Outlook ``-----Original Message-----`` /
``-----Message d'origine-----`` separators and ``From: … Sent: …`` / ``De : … Envoyé : …``
header blocks, forwarded-message headers), signatures (the ``-- `` separator, closings such as
"Best regards" or "Cordialement", mobile taglines such as "Sent from my iPhone" or "Envoyé de
mon iPhone"), confidentiality disclaimers, URLs, e-mail addresses, phone numbers and order or
reference numbers.

Written here rather than taken from PyPI: mail-parser-reply (maintained, MIT) misses the French
forms we meet most (``a écrit :`` with a no-break space, ``Message d'origine``, "Envoyé de mon
iPhone", French disclaimers) and cuts at any line starting with ``-word``; quotequail knows no
signatures, disclaimers nor French Outlook headers; talon is unmaintained since 2017.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Kinds reported in CleanedText.removed, in this order.
KINDS = ("quote", "signature", "disclaimer", "email", "url", "phone", "reference")

_SP = r"[ \t\u00a0\u202f]"
_QUOTED = re.compile(r"^[ \t]*>")
# An attribution may wrap over up to three lines, so it is matched on a window of lines; it
# carries a date or time, unlike a customer's "Le livreur m'a écrit :".
_ATTRIBUTION = re.compile(
    rf"^[ \t*]*(?:On\b[^\d]{{0,300}}?\d.{{0,300}}?\bwrote{_SP}*:"
    rf"|Le\b[^\d]{{0,300}}?\d.{{0,300}}?\ba\s+écrit{_SP}*:)[ \t*]*$",
    re.IGNORECASE | re.DOTALL,
)
_ATTRIBUTION_START = re.compile(r"^[ \t*]*(?:On|Le)\b", re.IGNORECASE)
_SEPARATOR = re.compile(
    rf"^[ \t*]*(?:-{{2,}}|_{{2,}}|={{2,}})?{_SP}*(?:"
    r"original message|message d['’]origine|mail original|message original|courriel original"
    r"|forwarded message|message transféré|message réexpédié|e-mail transféré"
    rf"|begin forwarded message|début du message réexpédié|début du message transféré"
    rf"){_SP}*:?{_SP}*(?:-{{2,}}|_{{2,}}|={{2,}})?[ \t*]*$"
    r"|^[ \t]*_{20,}[ \t]*$",
    re.IGNORECASE,
)
_HEADER_FIELD = re.compile(
    rf"^[ \t*]*(?:from|sent|to|cc|bcc|date|subject|reply-to|de|envoyé|à|a|objet|date"
    rf"|répondre à|cci){_SP}*:",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(rf"^[ \t*]*(?:from|de|sent|envoyé|date){_SP}*:", re.IGNORECASE)
_SIGNATURE_SEPARATOR = re.compile(r"^(?:-- ?|—|__)[ \t]*$")
_CLOSING = re.compile(
    rf"^[ \t]*(?:(?:best|kind|warm|warmest|kindest)(?:{_SP}+regards)?|regards|best wishes"
    r"|all the best|cheers|thanks|thank you|many thanks|thanks again|thanks in advance"
    r"|sincerely|yours sincerely|yours truly|respectfully"
    r"|cordialement|bien cordialement|très cordialement|sincères salutations|salutations"
    r"|meilleures salutations|salutations distinguées|bien à vous|bien à toi|amicalement"
    r"|merci|merci beaucoup|merci d['’]avance|merci encore|bonne journée|bonne soirée"
    r"|au plaisir)"
    rf"{_SP}*[,.!]?{_SP}*!?[ \t]*$",
    re.IGNORECASE,
)
_TAGLINE = re.compile(
    r"^[ \t]*(?:sent from (?:my|mail for)|sent with|get outlook for|envoyé de(?:puis)? (?:mon|ma|l)"
    r"|envoyé avec|télécharge[rz] outlook pour|obtenir outlook pour|provenance :)\b.*$",
    re.IGNORECASE,
)
# Matched against the lower-cased line: several times faster than a case-insensitive pattern.
_DISCLAIMER = re.compile(
    r"confidentiality notice|confidential(?:ity)? (?:and|or) privileged|privileged (?:and|or) "
    r"confidential|intended (?:solely |only |exclusively )?for the (?:use of the )?"
    r"(?:addressee|recipient|individual)|if you are not the (?:intended )?(?:recipient|addressee)"
    r"|if you (?:have )?received this (?:e-?mail|message|communication) in error"
    r"|\bdisclaimer\s*:|environment before printing|this (?:e-?mail|message|communication)"
    r"[^.]{0,80}\bconfidential"
    r"|avis de confidentialité|avis de non-responsabilité|\bavertissement\s*:"
    r"|si vous n['’]êtes pas (?:le|la) destinataire|si vous avez reçu ce (?:courriel|message|"
    r"e-?mail|mail) par erreur|destinataire (?:visé|prévu|désigné)"
    r"|(?:ce|le présent) (?:courriel|message|e-?mail|mail)[^.]{0,120}\bconfidentiel"
    r"|l['’]environnement avant d['’]imprimer",
)
_URL = re.compile(r"<?(?:https?://|ftp://|www\.)[^\s<>\"'«»]+>?", re.IGNORECASE)
# Bare domains are lower-case in practice; "fin.Ca marche" is a missing space, not a domain.
_DOMAIN = re.compile(
    r"\b(?:[a-z0-9-]+\.)+(?:com|net|org|info|biz|io|ca|fr|be|ch|quebec|us|uk)\b(?:/[^\s<>]*)?"
)
# Tried only where a word starts: from inside a long token the search went quadratic.
_EMAIL = re.compile(r"<?(?<![\w.+'-])[\w.+'-]+@[\w-]+(?:\.[\w-]+)+>?")
_PHONE = re.compile(
    r"(?<![\w#/.-])(?:\+?\d{1,3}[ .\u00a0-]?)?(?:\(\d{2,4}\)[ .\u00a0-]?)?"
    r"\d{2,4}(?:[ .\u00a0-]\d{2,4}){1,4}(?![\w-])"
)
_REFERENCE = re.compile(r"(?<!\w)#?[\w/.-]*\d[\w/.-]*")


@dataclass(frozen=True, slots=True)
class CleanedText:
    """The customer's newly written text and the kinds of content that were stripped."""

    text: str
    removed: list[str] = field(default_factory=list)


def _cut_history(lines: list[str], removed: set[str]) -> list[str]:
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _QUOTED.match(line):
            removed.add("quote")
            i += 1
            continue
        if _SEPARATOR.match(line):
            removed.add("quote")
            break
        if _HEADER_FROM.match(line) and _header_block(lines, i):
            removed.add("quote")
            break
        if _ATTRIBUTION_START.match(line):
            span = _attribution_span(lines, i)
            if span:
                removed.add("quote")
                following = _next_content(lines, i + span)
                if following is not None and not _QUOTED.match(lines[following]):
                    break  # history that lost its '>' marks: nothing after it is new
                i += span
                continue
        kept.append(line)
        i += 1
    return kept


def _attribution_span(lines: list[str], start: int) -> int:
    for span in (1, 2, 3):
        window = "\n".join(lines[start : start + span])
        if _ATTRIBUTION.match(window):
            return span
    return 0


def _header_block(lines: list[str], start: int) -> bool:
    fields = 0
    for line in lines[start : start + 6]:
        if _HEADER_FIELD.match(line):
            fields += 1
    return fields >= 2


def _next_content(lines: list[str], start: int) -> int | None:
    for j in range(start, len(lines)):
        if lines[j].strip():
            return j
    return None


def _cut_signature(lines: list[str], removed: set[str]) -> list[str]:
    has_content = False
    for i, line in enumerate(lines):
        if _SIGNATURE_SEPARATOR.match(line) or (
            has_content and _CLOSING.match(line) and _short_tail(lines, i + 1)
        ):
            removed.add("signature")
            return lines[:i]
        if line.strip():
            has_content = True
    return lines


def _short_tail(lines: list[str], start: int) -> bool:
    """Return whether what follows a closing looks like a signature block, not more prose."""
    tail = [line for line in lines[start:] if line.strip()]
    return len(tail) <= 8 and all(len(line) <= 80 for line in tail[:3])


def _cut_disclaimer(lines: list[str], removed: set[str]) -> list[str]:
    seen_content = False
    for i, line in enumerate(lines):
        if seen_content and _DISCLAIMER.search(line.lower()):
            start = i
            while start > 0 and lines[start - 1].strip():
                start -= 1  # the disclaimer's paragraph began above the matching line
            if not any(line.strip() for line in lines[:start]):
                start = i  # the customer's own lines share its paragraph: keep them
            removed.add("disclaimer")
            return lines[:start]
        if line.strip():
            seen_content = True
    return lines


def _strip_taglines(lines: list[str], removed: set[str]) -> list[str]:
    kept = [line for line in lines if not _TAGLINE.match(line)]
    if len(kept) != len(lines):
        removed.add("signature")
    return kept


def _strip_inline(text: str, removed: set[str]) -> str:
    for kind, pattern in (("email", _EMAIL), ("url", _URL), ("url", _DOMAIN)):
        text, count = pattern.subn(" ", text)
        if count:
            removed.add(kind)
    text = _PHONE.sub(lambda match: _drop_phone(match, removed), text)
    text, count = _REFERENCE.subn(" ", text)
    if count:
        removed.add("reference")
    return text


def _drop_phone(match: re.Match[str], removed: set[str]) -> str:
    # Shorter digit runs are dates, amounts or references, reported as such later.
    if sum(c.isdigit() for c in match.group()) < 7:
        return match.group()
    removed.add("phone")
    return " "


def clean_text(text: str) -> CleanedText:
    """Return the newly written part of `text`; raise TypeError when it is not a string."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    removed: set[str] = set()
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = _cut_history(lines, removed)
    lines = _strip_taglines(lines, removed)
    lines = _cut_disclaimer(lines, removed)
    lines = _cut_signature(lines, removed)
    body = _strip_inline("\n".join(lines), removed)
    body = "\n".join(" ".join(line.split()) for line in body.split("\n"))
    body = re.sub(r"\n{3,}", "\n\n", body).strip()
    return CleanedText(body, [kind for kind in KINDS if kind in removed])
