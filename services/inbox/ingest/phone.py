"""Phone and fax numbers to E.164, and the language of a call from what is known, in order.

Order (the first that names English or French wins, each recorded as evidence):
1. the caller's IVR choice (an explicit ``language``, or a digit mapped on the dialed line);
2. the dialed line's language (e.g. the French line);
3. the contact's known preference;
4. the caller's region: Quebec area codes and French territories → ``fr``; other North
   American, British, Irish, Australian and New Zealand numbers → ``en``;
5. otherwise ``und`` (routing then uses the bilingual queue).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import phonenumbers

from shared.errors import FieldError, InvalidInput

QUEBEC_AREA_CODES = frozenset(
    {"263", "354", "367", "418", "438", "450", "468", "514", "579", "581", "819", "873"}
)
FRENCH_REGIONS = frozenset(
    {"FR", "MC", "RE", "GP", "MQ", "GF", "YT", "PM", "NC", "PF", "WF", "BL", "MF"}
)
ENGLISH_REGIONS = frozenset({"US", "CA", "GB", "IE", "AU", "NZ"})


#: What telephony gateways send for a caller who withheld the number, folded to lower case.
WITHHELD_CALLER = frozenset(
    {"", "anonymous", "private", "restricted", "unknown", "unavailable", "withheld", "blocked"}
)


def is_withheld(caller: str | None) -> bool:
    """Whether a call's ``from`` says the caller withheld the number (or says nothing)."""
    return caller is None or caller.strip().casefold() in WITHHELD_CALLER


class InvalidNumber(ValueError):
    """A number that is not a possible phone number, even in the default region."""


class NumberWithExtension(InvalidNumber):
    """A number followed by an extension, which E.164 (what we store and dial) cannot hold."""


#: A French extension (``poste 22``, ``p. 22``), which phonenumbers does not know as one.
_FRENCH_EXTENSION = re.compile(r"[\s,;]\s*(?:poste|p\.)\s*\d{1,7}\s*$", re.IGNORECASE)
EXTENSION_REASON = (
    "Numbers are kept without an extension: give the number alone (and the extension in a note)."
)


@dataclass(frozen=True)
class PhoneLine:
    """One of our dialed numbers: its language and the IVR digits that choose a language."""

    language: str | None = None
    ivr_digits: Mapping[str, str] = field(default_factory=dict)


def to_e164(number: str, default_region: str) -> str:
    """The number in E.164 form (``+15145550123``); raises InvalidNumber, NumberWithExtension
    for one with an extension (``ext. 22``, ``x22``, ``poste 22``) rather than dropping it."""
    if _FRENCH_EXTENSION.search(number):
        raise NumberWithExtension(f"{number!r} has an extension")
    try:
        parsed = phonenumbers.parse(number, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"{number!r} is not a phone number") from exc
    if parsed.extension:
        raise NumberWithExtension(f"{number!r} has an extension")
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidNumber(f"{number!r} is not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def e164_field(number: str, field: str, default_region: str) -> str:
    """to_e164 for a field of a request: 422 naming the field when it is not a phone number,
    or is one with an extension (refused rather than cut: the extension would be lost)."""
    try:
        return to_e164(number, default_region)
    except NumberWithExtension as exc:
        raise InvalidInput(
            errors=[FieldError(field=field, code="phone_extension", reason=EXTENSION_REASON)]
        ) from exc
    except InvalidNumber as exc:
        raise InvalidInput(
            errors=[FieldError(field=field, code="phone_number", reason="Not a phone number.")]
        ) from exc


def region_language(e164: str) -> str | None:
    """The language a caller's number suggests, or None when it says nothing reliable."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(parsed)
    if parsed.country_code == 1 and str(parsed.national_number)[:3] in QUEBEC_AREA_CODES:
        return "fr"
    if region in FRENCH_REGIONS:
        return "fr"
    if region in ENGLISH_REGIONS:
        return "en"
    return None


def call_language(
    *,
    chosen: str | None,
    ivr_digit: str | None,
    line: PhoneLine | None,
    contact_language: str | None,
    caller: str | None,
) -> tuple[str, list[str]]:
    """The call's language and the evidence that decided it, in the documented order."""
    candidates: list[tuple[str, str | None]] = [
        ("ivr", chosen),
        ("ivr_digit", line.ivr_digits.get(ivr_digit) if line and ivr_digit else None),
        ("line", line.language if line else None),
        ("contact", contact_language),
        ("caller_region", region_language(caller) if caller else None),
    ]
    for name, language in candidates:
        if language in ("en", "fr"):
            return language, [name]
    return "und", ["none"]
