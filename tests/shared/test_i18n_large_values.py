"""A problem is always rendered, whatever its placeholder values: a number too large for Babel
is written as plain digits instead of crashing the error handler into a 500."""

from __future__ import annotations

from services.inbox.app import LOCALE_DIR as INBOX_LOCALES
from services.inbox.errors import ConversationChanged
from shared.i18n import SHARED_LOCALE_DIR, Seconds, Translator
from shared.problems import render_problem

TRANSLATOR = Translator([SHARED_LOCALE_DIR, INBOX_LOCALES])
HUGE = 99_999_999_999_999_999_999_999_999  # 26 nines: past what Babel's decimal context rounds


def detail(error: ConversationChanged, locale: str) -> object:
    problem = render_problem(
        error, locale=locale, translator=TRANSLATOR, instance="/x", request_id=None
    )
    return problem["detail"]


def test_a_number_babel_cannot_format_is_written_as_plain_digits() -> None:
    error = ConversationChanged(expected=HUGE, current_version=1234)

    assert detail(error, "en") == (
        f"The conversation changed since you read it (version {HUGE}, now 1,234); reload it and "
        "try again."
    )
    assert str(detail(error, "fr")).startswith(
        f"La conversation a changé depuis votre lecture (version {HUGE}, maintenant 1\u202f234)"
    )


def test_a_huge_float_is_written_as_python_writes_it() -> None:
    text = "Must be at most {le}."

    assert TRANSLATOR.format(text, "en", {"le": 1e308}) == "Must be at most 1e+308."
    assert TRANSLATOR.format(text, "fr", {"le": 12.5}) == "Doit valoir au plus 12,5."


def test_a_value_that_cannot_be_written_leaves_the_message_readable() -> None:
    text = "A service this request needs is unavailable; retry in {retry_in}."

    assert TRANSLATOR.format(text, "en", {"retry_in": Seconds(10**40)}) == text
    assert TRANSLATOR.format(text, "en", {"retry_in": Seconds(5)}) == (
        "A service this request needs is unavailable; retry in 5 seconds."
    )
