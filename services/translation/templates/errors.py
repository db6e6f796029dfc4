"""Template errors and twin reports: stable codes, parameters, English messages, French by catalog.

Every message is a whole sentence written here in English; its French translation lives in the
service's gettext catalog (``services/translation/locales/fr/LC_MESSAGES/messages.po``), the same
one the API reads, so an error reads the same in a log, in a test and in a problem document.
"""

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import ClassVar, Literal

from shared.i18n import Translator

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locales"

SyntaxReason = Literal[
    "unmatched_brace",
    "bad_placeholder",
    "unknown_type",
    "unknown_style",
    "type_mismatch",
    "bad_name",
    "bad_key",
    "empty",
    "multiline",
    "private_use",
]
TwinProblemKind = Literal["missing_twin", "stale_twin", "variables_differ"]

#: Syntax errors found at a place in a subject or body.
LOCATED_SYNTAX_MESSAGES: dict[str, str] = {
    "unmatched_brace": "{field}: unmatched '{brace}' (write '{brace}{brace}' for a literal one) "
    "(line {line}, column {column}).",
    "bad_placeholder": "{field}: '{placeholder}' is not {{name}}, {{name:type}} or "
    "{{name:type:style}} (line {line}, column {column}).",
    "unknown_type": "{field}: unknown type '{type}' (line {line}, column {column}).",
    "unknown_style": "{field}: unknown style '{style}' (line {line}, column {column}).",
}
#: Syntax errors of a whole field (key, subject, body or the declared variables).
SYNTAX_MESSAGES: dict[str, str] = {
    "unknown_type": "{field}: unknown type '{type}'.",
    "type_mismatch": "{field}: '{name}' is used as {used} but declared as {type}.",
    "bad_name": "{field}: '{name}' is not a unique snake_case name.",
    "bad_key": "{field}: must be dotted snake_case, e.g. email.acknowledgement.",
    "empty": "{field}: is empty.",
    "multiline": "{field}: must be one line.",
    "private_use": "{field}: contains a private-use character.",
}
#: What a value of each declared type must be.
INVALID_VARIABLE_MESSAGES: dict[str, str] = {
    "text": "Variable '{name}' must be text without control characters (nor line breaks in a "
    "subject).",
    "number": "Variable '{name}' must be a number.",
    "money": "Variable '{name}' must be an amount, or an amount and an ISO 4217 currency.",
    "date": "Variable '{name}' must be a date (YYYY-MM-DD).",
    "time": "Variable '{name}' must be a time (HH:MM).",
    "datetime": "Variable '{name}' must be a date and time with a time zone.",
    "duration": "Variable '{name}' must be a duration of zero or more seconds.",
    "phone": "Variable '{name}' must be a valid phone number, in international form "
    "(+1 514-555-0177) or of the locale's country.",
}
#: A number, an amount or a duration must stay within ``MAX_MAGNITUDE``: a million billion,
#: where doubles still hold every unit and far below the ~10^26 Babel's formatting can round.
MAX_MAGNITUDE = 10**15
OUT_OF_RANGE_MESSAGES: dict[str, str] = {
    "number": "Variable '{name}' is out of range: a number must be between -{limit} and {limit}.",
    "money": "Variable '{name}' is out of range: an amount must be between -{limit} and {limit}.",
    "duration": "Variable '{name}' is out of range: a duration must be at most {limit} seconds.",
}
TWIN_MESSAGES: dict[str, str] = {
    "missing_twin": "Template '{key}' {locale} has no {twin} twin: add it or mark {locale} "
    "single-language.",
    "stale_twin": "Template '{key}' {locale} is older than its {twin} twin: review it.",
    "variables_differ": "Template '{key}' {locale} and {twin} declare different variables.",
}


@lru_cache(maxsize=1)
def _catalog() -> Translator:
    return Translator([LOCALE_DIR])


def localize(message: str, language: str, params: Mapping[str, object]) -> str:
    """The message in French for any fr* tag, else in English, with its placeholders filled."""
    locale = "fr" if language.lower().startswith("fr") else "en"
    return _catalog().format(message, locale, params)


class TemplateError(Exception):
    """Base of template errors: a stable ``code``, a ``message`` and its ``params``."""

    code: ClassVar[str] = "template.invalid"

    def __init__(self, message: str, **params: object) -> None:
        self.message = message
        self.params = params
        super().__init__(self.detail("en"))

    def detail(self, language: str = "en") -> str:
        """The explanation in French for any fr* tag, else in English."""
        return localize(self.message, language, self.params)


class TemplateSyntaxError(TemplateError):
    """A template (key, subject, body or declarations) that cannot be used; ``reason`` is a code."""

    code = "template.syntax"

    def __init__(
        self, field: str, reason: SyntaxReason, *, line: int = 0, column: int = 0, **params: str
    ) -> None:
        self.field, self.reason, self.line, self.column = field, reason, line, column
        located = LOCATED_SYNTAX_MESSAGES.get(reason) if line else None
        message = located or SYNTAX_MESSAGES[reason]
        super().__init__(message, field=field, line=line, column=column, **params)


class _VariableError(TemplateError):
    text: ClassVar[str]

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(self.text, name=name)


class MissingVariable(_VariableError):
    code = "template.variable_missing"
    text = "Variable '{name}' is required."


class UnknownVariable(_VariableError):
    code = "template.variable_unknown"
    text = "Variable '{name}' is not declared by this template."


class InvalidVariable(TemplateError):
    """A value that is not of its variable's declared type; ``expected`` is the type. With
    ``out_of_range``, a number, amount or duration beyond ``MAX_MAGNITUDE``."""

    code = "template.variable_invalid"

    def __init__(self, name: str, expected: str, *, out_of_range: bool = False) -> None:
        self.name, self.expected, self.out_of_range = name, expected, out_of_range
        if out_of_range:
            message, limit = OUT_OF_RANGE_MESSAGES[expected], {"limit": MAX_MAGNITUDE}
        else:
            message, limit = INVALID_VARIABLE_MESSAGES[expected], {}
        super().__init__(message, name=name, expected=expected, **limit)


class UnsupportedLocale(TemplateError):
    code = "template.locale_unsupported"
    text: ClassVar[str] = "Locale '{locale}' is not supported here: use {expected}."

    def __init__(self, locale: str, expected: str = "en/fr") -> None:
        self.locale, self.expected = locale, expected
        super().__init__(self.text, locale=locale, expected=expected)


class UnknownTimeZone(TemplateError):
    code = "template.time_zone_unknown"
    text: ClassVar[str] = "Unknown time zone '{zone}'."

    def __init__(self, zone: str) -> None:
        self.zone = zone
        super().__init__(self.text, zone=zone)


class VersionNotFound(TemplateError):
    code = "template.version_not_found"
    text: ClassVar[str] = "Template '{key}' has no version for '{locale}'."

    def __init__(self, key: str, locale: str) -> None:
        self.key, self.locale = key, locale
        super().__init__(self.text, key=key, locale=locale)
