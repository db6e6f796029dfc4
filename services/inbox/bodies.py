"""Request bodies the inbox reads itself: their media type, encoding and the message size limit."""

from __future__ import annotations

from starlette.requests import Request

from services.inbox.errors import MessageTooLarge
from shared.errors import MalformedBody

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


async def json_text(request: Request) -> bytes:
    """The body of a JSON request, MalformedBody (400) unless it is UTF-8 (RFC 8259), as the
    framework answers for the routes whose JSON it decodes itself."""
    body = await request.body()
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBody() from exc
    return body
