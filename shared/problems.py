"""Rendering of errors as RFC 9457 problem+json documents in the request's language."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, get_args

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

from shared.errors import AppError, FieldError, InvalidInput
from shared.i18n import Choices, Plural, Translator

PROBLEM_MEDIA_TYPE = "application/problem+json"

#: Readable reasons for pydantic's error types; the French texts are in the catalogs.
VALIDATION_REASONS: dict[str, str] = {
    "missing": "This field is required.",
    "extra_forbidden": "This field is not allowed.",
    "string_type": "Must be text.",
    "string_too_short": Plural(
        "Must be at least {min_length} character long.",
        "Must be at least {min_length} characters long.",
        number="min_length",
    ),
    "string_too_long": Plural(
        "Must be at most {max_length} character long.",
        "Must be at most {max_length} characters long.",
        number="max_length",
    ),
    "string_pattern_mismatch": "Does not have the expected format.",
    "int_type": "Must be a whole number.",
    "int_parsing": "Must be a whole number.",
    "int_from_float": "Must be a whole number.",
    "float_type": "Must be a number.",
    "float_parsing": "Must be a number.",
    "decimal_parsing": "Must be a number.",
    "bool_type": "Must be true or false.",
    "bool_parsing": "Must be true or false.",
    "greater_than": "Must be greater than {gt}.",
    "greater_than_equal": "Must be at least {ge}.",
    "less_than": "Must be less than {lt}.",
    "less_than_equal": "Must be at most {le}.",
    "literal_error": "Must be one of: {expected}.",
    "enum": "Must be one of: {expected}.",
    "uuid_type": "Must be a UUID.",
    "uuid_parsing": "Must be a UUID.",
    "date_type": "Must be a date (YYYY-MM-DD).",
    "date_parsing": "Must be a date (YYYY-MM-DD).",
    "date_from_datetime_parsing": "Must be a date (YYYY-MM-DD).",
    "datetime_type": "Must be a date and time (ISO 8601).",
    "datetime_parsing": "Must be a date and time (ISO 8601).",
    "datetime_from_date_parsing": "Must be a date and time (ISO 8601).",
    "timezone_aware": "Must include a time zone.",
    "time_parsing": "Must be a time (HH:MM).",
    "time_type": "Must be a time (HH:MM).",
    "local_time": "Must be a local time (HH:MM), without a time-zone offset.",
    "json_invalid": "The body is not valid JSON.",
    "json_type": "The body is not valid JSON.",
    "list_type": "Must be a list.",
    "dict_type": "Must be an object.",
    "model_attributes_type": "Must be an object.",
    "model_type": "Must be an object.",
    "too_short": Plural(
        "Must have at least {min_length} item.",
        "Must have at least {min_length} items.",
        number="min_length",
    ),
    "too_long": Plural(
        "Must have at most {max_length} item.",
        "Must have at most {max_length} items.",
        number="max_length",
    ),
    "url_parsing": "Must be a URL.",
    "url_type": "Must be a URL.",
    "url_scheme": "Must be a URL with one of the schemes {expected_schemes}.",
    "base64_invalid": "Not valid base64.",
    "value_error": "This value is not valid.",
    "assertion_error": "This value is not valid.",
}
GENERIC_REASON = "This value is not valid."
EMPTY_REASON = "Must not be empty."
#: The error types pydantic itself raises; any other type comes from a ``PydanticCustomError``
#: of ours, whose message is the English reason, translated by the raising service's catalog.
PYDANTIC_ERROR_TYPES = frozenset(get_args(ErrorType))
#: Pydantic's context entries listing allowed values (``"'en', 'fr' or 'und'"``).
_LISTS = {"literal_error": "expected", "enum": "expected", "url_scheme": "expected_schemes"}
_LISTED_VALUE = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?""")
_LOCATION_ROOTS = frozenset({"body", "query", "path", "header", "cookie"})


def invalid_at(field: str, code: str, message: str, value: object = None) -> ValidationError:
    """An error a model validator raises to point at one of its fields rather than at the whole
    model (pydantic puts the model's own location in front); ``message`` is the English reason."""
    detail = InitErrorDetails(
        type=PydanticCustomError(code, message), loc=tuple(field.split(".")), input=value
    )
    return ValidationError.from_exception_data(field, [detail])


def field_errors_from_pydantic(errors: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    """Turn pydantic's error list into field errors with stable codes and English reasons."""
    result: list[FieldError] = []
    for error in errors:
        kind = str(error.get("type", "value_error"))
        context = error.get("ctx") or {}
        params = {str(k): v for k, v in context.items() if k != "error"}
        if kind in _LISTS and isinstance(params.get(_LISTS[kind]), str):
            params[_LISTS[kind]] = _choices(str(params[_LISTS[kind]]))
        reason = VALIDATION_REASONS.get(kind, GENERIC_REASON)
        if kind not in VALIDATION_REASONS and kind not in PYDANTIC_ERROR_TYPES:
            reason = str(error.get("msg") or GENERIC_REASON)
            params = {}
        if kind in {"string_too_short", "too_short"} and context.get("min_length") == 1:
            reason = EMPTY_REASON
        result.append(
            FieldError(
                field=_field(error.get("loc", ()), kind),
                code=kind,
                reason=reason,
                params=tuple(params.items()),
            )
        )
    return result


def _field(location: Sequence[object], kind: str) -> str:
    """The dotted path a client reads: without ``body``/``query``… in front, without pydantic's
    ``[key]`` marker (a bad dict key is reported at the key), ``body`` for the body as a whole."""
    parts = [str(part) for part in location if part != "[key]"]
    if parts and parts[0] in _LOCATION_ROOTS:
        # A JSON syntax error's location ends with the character offset, not a field.
        if kind in {"json_invalid", "json_type"} or len(parts) == 1:
            return parts[0]
        parts = parts[1:]
    return ".".join(parts) or "body"


def _choices(expected: str) -> Choices | str:
    """Pydantic's English list of allowed values as ``Choices`` each language writes its way."""
    values: list[str] = []
    for literal in _LISTED_VALUE.findall(expected):
        if "\\" in literal:
            return expected  # an escaped value: pydantic's own words rather than a guess
        values.append(literal[1:-1] if literal[0] in "'\"" else literal)
    return Choices(values) if values else expected


def invalid_input(errors: Sequence[Mapping[str, Any]]) -> InvalidInput:
    """An InvalidInput error carrying pydantic's validation errors."""
    return InvalidInput(errors=field_errors_from_pydantic(errors))


def render_problem(
    error: AppError,
    *,
    locale: str,
    translator: Translator,
    instance: str,
    request_id: str | None,
) -> dict[str, object]:
    """The problem document for an error, with title, detail and reasons in the locale."""
    detail = error.detail if error.detail is not None else error.detail_template
    body: dict[str, object] = {
        "type": f"urn:problem:{error.code}",
        "title": translator.gettext(error.title, locale),
        "status": error.status,
        "detail": translator.format(detail, locale, error.params),
        "instance": instance,
        "code": error.code,
    }
    if request_id:
        body["request_id"] = request_id
    for key, value in error.extensions.items():
        body.setdefault(key, value)
    if error.errors:
        body["errors"] = [
            {
                "field": item.field,
                "code": item.code,
                "reason": translator.format(item.reason, locale, dict(item.params)),
            }
            for item in error.errors
        ]
    return body
