"""Numbers to E.164 and the documented order that decides a call's language."""

from __future__ import annotations

import pytest

from services.inbox.ingest.phone import (
    InvalidNumber,
    PhoneLine,
    call_language,
    region_language,
    to_e164,
)

FRENCH_LINE = PhoneLine(language="fr")
IVR_LINE = PhoneLine(ivr_digits={"1": "en", "2": "fr"})


@pytest.mark.parametrize(
    ("given", "region", "expected"),
    [
        ("(514) 555-0123", "CA", "+15145550123"),
        ("514.555.0123", "CA", "+15145550123"),
        ("+33 1 42 68 53 00", "CA", "+33142685300"),
        ("01 42 68 53 00", "FR", "+33142685300"),
        ("1-800-555-0199", "US", "+18005550199"),
    ],
)
def test_numbers_are_normalized_to_e164(given: str, region: str, expected: str) -> None:
    assert to_e164(given, region) == expected


@pytest.mark.parametrize("given", ["", "hello", "12", "+999 123"])
def test_impossible_numbers_are_refused(given: str) -> None:
    with pytest.raises(InvalidNumber):
        to_e164(given, "CA")


@pytest.mark.parametrize(
    ("number", "language"),
    [
        ("+15145550123", "fr"),
        ("+14185550123", "fr"),
        ("+18195550123", "fr"),
        ("+14165550123", "en"),
        ("+16045550123", "en"),
        ("+12125550123", "en"),
        ("+33142685300", "fr"),
        ("+442079460000", "en"),
        ("+4930123456", None),
    ],
)
def test_the_callers_region_suggests_a_language(number: str, language: str | None) -> None:
    assert region_language(number) == language


def test_the_ivr_choice_wins_over_everything() -> None:
    assert call_language(
        chosen="en", ivr_digit=None, line=FRENCH_LINE, contact_language="fr", caller="+15145550123"
    ) == ("en", ["ivr"])


def test_an_ivr_digit_is_read_through_the_lines_mapping() -> None:
    assert call_language(
        chosen=None, ivr_digit="2", line=IVR_LINE, contact_language="en", caller="+14165550123"
    ) == ("fr", ["ivr_digit"])


def test_then_the_dialed_line_then_the_contact_then_the_region() -> None:
    assert call_language(
        chosen=None, ivr_digit=None, line=FRENCH_LINE, contact_language="en", caller=None
    ) == ("fr", ["line"])
    assert call_language(
        chosen=None, ivr_digit="9", line=IVR_LINE, contact_language="en", caller="+15145550123"
    ) == ("en", ["contact"])
    assert call_language(
        chosen=None, ivr_digit=None, line=None, contact_language=None, caller="+15145550123"
    ) == ("fr", ["caller_region"])


def test_nothing_known_is_undetermined() -> None:
    assert call_language(
        chosen="de", ivr_digit=None, line=None, contact_language=None, caller="+4930123456"
    ) == ("und", ["none"])
