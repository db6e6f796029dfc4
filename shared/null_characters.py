"""Requests carrying the NUL character are refused up front, with the field that holds it.

No text column can store it (PostgreSQL refuses it in text and JSON alike), and no person
types it: a path, query or JSON value holding one is answered 422 before any handler runs,
instead of failing deep in a statement (401 or 403 instead, when the route refuses the caller).
Raw messages (message/rfc822) and uploaded files are bytes, not text, and are not looked at
here; their parsers deal with what they hold. A multipart form's text fields are read by the
handler that reads the form, which calls ``refuse_in_form``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from shared.authenticated_first import refusal
from shared.errors import FieldError, InvalidInput

REASON = "Must not contain the NUL character."
CODE = "null_character"
#: ``\u0000`` in a JSON text, not preceded by an escaping backslash.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


async def refuse_null_characters(request: Request) -> None:
    """A dependency of every route: InvalidInput naming where a NUL character was sent."""
    fields: list[str] = []
    if "\x00" in request.url.path:
        fields.append("path")
    query = request.scope.get("query_string", b"")
    if b"%00" in query:
        fields.extend(_query_fields(query.decode("latin-1")))
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        body = await request.body()
        if _JSON_NUL.search(body):
            fields.extend(_json_fields(body))
    elif media_type == "application/x-www-form-urlencoded":
        body = await request.body()
        if b"%00" in body:
            fields.extend(_query_fields(body.decode("latin-1")))
    if fields:
        # A caller the route would refuse is told that, not where its NUL is.
        raise await refusal(request) or _refused(fields)


def refuse_in_form(fields: Mapping[str, object]) -> None:
    """InvalidInput naming each text field of a multipart form that holds a NUL character."""
    held = [name for name, value in fields.items() if isinstance(value, str) and "\x00" in value]
    if held:
        raise _refused(held)


def _refused(fields: list[str]) -> InvalidInput:
    errors = [FieldError(field=field, code=CODE, reason=REASON) for field in fields]
    return InvalidInput(errors=errors)


def _query_fields(query: str) -> list[str]:
    pairs = parse_qsl(query, keep_blank_values=True, encoding="utf-8", errors="replace")
    return [name.replace("\x00", "") or "query" for name, value in pairs if "\x00" in name + value]


def _json_fields(body: bytes) -> list[str]:
    try:
        document = json.loads(body)
    except ValueError:  # not JSON after all: the body's own validation says so
        return ["body"]
    return list(_nul_paths(document, ())) or ["body"]


def _nul_paths(value: Any, at: tuple[str, ...]) -> Iterator[str]:
    """The dotted path of each string (key or value) holding a NUL character."""
    if isinstance(value, str):
        if "\x00" in value:
            yield ".".join(at) or "body"
    elif isinstance(value, dict):
        for key, item in value.items():
            name = str(key)
            if "\x00" in name:
                yield ".".join((*at, name.replace("\x00", ""))) or "body"
            else:
                yield from _nul_paths(item, (*at, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_paths(item, (*at, str(index)))
