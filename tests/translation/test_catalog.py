"""Every message the translation service can answer with has its French, typeset, in the catalog."""

from __future__ import annotations

import re

import pytest

import services.translation.errors as service_errors
from services.translation.app import LOCALE_DIR
from services.translation.templates import errors as template_errors
from shared.errors import AppError
from shared.i18n import Translator

CATALOG = Translator([LOCALE_DIR])
SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \u00a0][;:!?]|«[ \u00a0]|[ \u00a0]»")
STRAIGHT_QUOTES = re.compile(r"['\"]")


def service_error_classes() -> list[type[AppError]]:
    return [
        value
        for value in vars(service_errors).values()
        if isinstance(value, type)
        and issubclass(value, AppError)
        and value.__module__ == service_errors.__name__
    ]


def messages() -> list[str]:
    """The English texts: error titles and details, and every template and twin message."""
    texts = {text for cls in service_error_classes() for text in (cls.title, cls.detail_template)}
    texts |= {
        *template_errors.LOCATED_SYNTAX_MESSAGES.values(),
        *template_errors.SYNTAX_MESSAGES.values(),
        *template_errors.INVALID_VARIABLE_MESSAGES.values(),
        *template_errors.OUT_OF_RANGE_MESSAGES.values(),
        *template_errors.TWIN_MESSAGES.values(),
        template_errors.MissingVariable.text,
        template_errors.UnknownVariable.text,
        template_errors.UnsupportedLocale.text,
        template_errors.UnknownTimeZone.text,
        template_errors.VersionNotFound.text,
    }
    return sorted(texts)


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"(?<!\{)\{(\w+)\}(?!\})", text))


def test_the_service_defines_its_errors() -> None:
    codes = {cls.code for cls in service_error_classes()}

    assert {"template.not_found", "template.missing_twin", "translation.not_configured"} <= codes


@pytest.mark.parametrize("message", messages())
def test_each_message_has_a_typeset_french_translation(message: str) -> None:
    french = CATALOG.gettext(message, "fr")

    assert CATALOG.has(message, "fr"), message
    assert french != message
    assert SPACE_BEFORE_PUNCTUATION.search(french) is None
    assert STRAIGHT_QUOTES.search(french) is None
    assert placeholders(french) == placeholders(message)


def test_an_untranslated_message_would_be_caught() -> None:
    assert not CATALOG.has("A message nobody translated.", "fr")
    assert CATALOG.gettext("A message nobody translated.", "fr") == "A message nobody translated."


def test_the_render_module_and_the_api_read_the_same_french() -> None:
    error = template_errors.MissingVariable("reference")
    api_error = service_errors.template_problem(error)

    french = CATALOG.format(api_error.detail or "", "fr", api_error.params)

    assert french == error.detail("fr-CA") == "La variable «\u202freference\u202f» est requise."
