"""Request bodies the inbox reads itself: their media type and the message size limit."""

from __future__ import annotations

from starlette.requests import Request

from services.inbox.errors import MessageTooLarge

#: Media types under which a raw RFC 5322 message may be posted.
RAW_MEDIA_TYPES = ("message/rfc822", "text/plain", "application/octet-stream")


def media_type(request: Request) -> str:
    """The request's media type, without parameters, lower-cased ('' when none)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def refuse_declared_oversize(request: Request, limit: int) -> None:
    """MessageTooLarge (413) before reading, when Content-Length already says too much."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise MessageTooLarge(limit=limit)


def refuse_oversize(data: bytes, limit: int) -> None:
    """MessageTooLarge (413) for a body or document read whole and over the limit."""
    if len(data) > limit:
        raise MessageTooLarge(limit=limit)
