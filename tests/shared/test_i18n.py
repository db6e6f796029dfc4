"""Every text a person reads through the API exists in French, with French typography."""

from __future__ import annotations

import re

import services.all_in_one  # noqa: F401  (imports every service's errors)
from services.inbox.app import LOCALE_DIR as INBOX_LOCALES
from services.routing.app import LOCALE_DIR as ROUTING_LOCALES
from services.translation.app import LOCALE_DIR as TRANSLATION_LOCALES
from shared.errors import error_classes
from shared.i18n import SHARED_LOCALE_DIR, Translator
from shared.problems import EMPTY_REASON, GENERIC_REASON, VALIDATION_REASONS

TRANSLATOR = Translator([SHARED_LOCALE_DIR, INBOX_LOCALES, ROUTING_LOCALES, TRANSLATION_LOCALES])
SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \u00a0][;:!?]|«[ \u00a0]|[ \u00a0]»")


def english_texts() -> set[str]:
    texts = {GENERIC_REASON, EMPTY_REASON, *VALIDATION_REASONS.values()}
    for cls in error_classes():
        texts |= {cls.title, cls.detail_template}
    return texts


def test_every_error_and_validation_text_has_a_french_translation() -> None:
    missing = sorted(text for text in english_texts() if not TRANSLATOR.has(text, "fr"))

    assert missing == []


def test_french_texts_use_narrow_no_break_spaces() -> None:
    french = [TRANSLATOR.gettext(text, "fr") for text in english_texts()]
    wrong = [text for text in french if SPACE_BEFORE_PUNCTUATION.search(text)]

    assert wrong == []
    assert any("\u202f;" in text for text in french)


def test_placeholders_survive_translation() -> None:
    for text in english_texts():
        placeholders = set(re.findall(r"\{(\w+)\}", text))
        translated = set(re.findall(r"\{(\w+)\}", TRANSLATOR.gettext(text, "fr")))
        assert placeholders == translated, text


def test_numbers_in_texts_are_written_each_languages_way() -> None:
    too_large = "The message exceeds the limit of {limit} bytes; nothing was stored."
    at_least = "Must be at least {ge}."

    assert TRANSLATOR.format(too_large, "en", {"limit": 26_214_400}) == (
        "The message exceeds the limit of 26,214,400 bytes; nothing was stored."
    )
    assert TRANSLATOR.format(too_large, "fr", {"limit": 26_214_400}) == (
        "Le message dépasse la limite de 26\u202f214\u202f400 octets"
        "\u202f; rien n’a été enregistré."
    )
    assert TRANSLATOR.format(at_least, "en", {"ge": 0.5}) == "Must be at least 0.5."
    assert TRANSLATOR.format(at_least, "fr", {"ge": 0.5}) == "Doit valoir au moins 0,5."
    # Identifiers and words are left as they are.
    assert TRANSLATOR.format("There is no contact {contact_id}.", "fr", {"contact_id": "42"}) == (
        "Il n’existe aucun contact 42."
    )
