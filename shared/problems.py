"""Rendering of errors as RFC 9457 problem+json documents in the request's language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.errors import AppError, FieldError, InvalidInput
from shared.i18n import Translator

PROBLEM_MEDIA_TYPE = "application/problem+json"

#: Readable reasons for pydantic's error types; the French texts are in the catalogs.
VALIDATION_REASONS: dict[str, str] = {
    "missing": "This field is required.",
    "extra_forbidden": "This field is not allowed.",
    "string_type": "Must be text.",
    "string_too_short": "Must be at least {min_length} characters long.",
    "string_too_long": "Must be at most {max_length} characters long.",
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
    "too_short": "Must have at least {min_length} items.",
    "too_long": "Must have at most {max_length} items.",
    "url_parsing": "Must be a URL.",
    "url_type": "Must be a URL.",
    "url_scheme": "Must be a URL with one of the schemes {expected_schemes}.",
    "value_error": "This value is not valid.",
    "assertion_error": "This value is not valid.",
}
GENERIC_REASON = "This value is not valid."
EMPTY_REASON = "Must not be empty."


def field_errors_from_pydantic(errors: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    """Turn pydantic's error list into field errors with stable codes and English reasons."""
    result: list[FieldError] = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        if location and location[0] in {"body", "query", "path", "header", "cookie"}:
            location = location[1:] if len(location) > 1 else location
        kind = str(error.get("type", "value_error"))
        context = error.get("ctx") or {}
        params = tuple((str(k), v) for k, v in context.items() if k != "error")
        reason = VALIDATION_REASONS.get(kind, GENERIC_REASON)
        if kind in {"string_too_short", "too_short"} and context.get("min_length") == 1:
            reason = EMPTY_REASON
        result.append(
            FieldError(
                field=".".join(location) or "body",
                code=kind,
                reason=reason,
                params=params,
            )
        )
    return result


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
