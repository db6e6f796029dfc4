"""Opaque cursors of the paginated lists: a position as (time, id), newest first."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from shared.errors import InvalidCursor


def encode_cursor(when: datetime, ident: uuid.UUID) -> str:
    """A cursor pointing after the row at this time with this id."""
    payload = json.dumps([when.isoformat(), str(ident)])
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position a cursor points after; InvalidCursor when this API did not write it."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        when, ident = json.loads(base64.urlsafe_b64decode(padded.encode()))
        at, last = datetime.fromisoformat(when), uuid.UUID(ident)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise InvalidCursor() from exc
    if at.tzinfo is None:  # ours always carry their offset: a time without one is no instant
        raise InvalidCursor()
    try:
        # An instant the database can hold: year 1 at +05:00 is before the first UTC instant.
        at = at.astimezone(UTC)
    except OverflowError as exc:
        raise InvalidCursor() from exc
    return at, last


def after_cursor(cursor: str, when: Any, ident: Any) -> ColumnElement[bool]:
    """The rows after the cursor's position, listed by ``when`` then ``ident``, newest first."""
    at, last = decode_cursor(cursor)
    return or_(when < at, and_(when == at, ident < last))
