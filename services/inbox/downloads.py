"""A stored file answered as a download: streamed from the blob store, never cached or sniffed."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from fastapi import Request
from fastapi.responses import FileResponse
from starlette.responses import MalformedRangeHeader
from starlette.responses import RangeNotSatisfiable as StarletteRangeNotSatisfiable
from starlette.types import Receive, Scope, Send

from services.inbox.blobs import BlobStore
from services.inbox.errors import FilesUnavailable, RangeMalformed, RangeNotSatisfiable
from shared.errors import AppError
from shared.web import problem_response

#: How long a client should wait before asking again for a file that cannot be read.
RETRY_AFTER_SECONDS = 30


async def download(
    blobs: BlobStore,
    sha256: str | None,
    *,
    media_type: str,
    filename: str,
    headers: Mapping[str, str] | None = None,
) -> Download:
    """The blob as an attachment; FilesUnavailable (503) when it cannot be read now."""
    if sha256 is None:
        raise FilesUnavailable(retry_after=RETRY_AFTER_SECONDS)
    path = blobs.path_for(sha256)
    try:
        stat = await asyncio.to_thread(path.stat)
    except OSError as exc:
        raise FilesUnavailable(retry_after=RETRY_AFTER_SECONDS) from exc
    return Download(
        path,
        stat_result=stat,
        media_type=media_type,
        filename=filename,
        headers={
            "X-Content-Type-Options": "nosniff",
            # Customers' documents stay off shared desks' disks and caches.
            "Cache-Control": "no-store",
            **(headers or {}),
        },
    )


class Download(FileResponse):
    """A file response whose refusals of a ``Range`` header (400, 416) are problems in the
    request's language, like every other error, instead of the framework's plain text.

    The header is checked with the framework's own parser, under the same conditions as it
    would be (a GET or HEAD, an ``If-Range`` that still matches); the file is then sent by it.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self._range_refusal(Request(scope))
        if refusal is not None:
            await problem_response(Request(scope), refusal)(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def _range_refusal(self, request: Request) -> AppError | None:
        asked = request.headers.get("range")
        if_range = request.headers.get("if-range")
        if (
            asked is None
            or self.stat_result is None
            or request.method not in ("GET", "HEAD")
            or (if_range is not None and not self._should_use_range(if_range))
        ):
            return None
        size = self.stat_result.st_size
        try:
            self._parse_range_header(asked, size)
        except MalformedRangeHeader:
            return RangeMalformed()
        except StarletteRangeNotSatisfiable:
            return RangeNotSatisfiable(size=size, headers={"Content-Range": f"bytes */{size}"})
        return None
