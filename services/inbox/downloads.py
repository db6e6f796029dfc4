"""A stored file answered as a download: streamed from the blob store, never cached or sniffed."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from fastapi.responses import FileResponse

from services.inbox.blobs import BlobStore
from services.inbox.errors import FilesUnavailable

#: How long a client should wait before asking again for a file that cannot be read.
RETRY_AFTER_SECONDS = 30


async def download(
    blobs: BlobStore,
    sha256: str | None,
    *,
    media_type: str,
    filename: str,
    headers: Mapping[str, str] | None = None,
) -> FileResponse:
    """The blob as an attachment; FilesUnavailable (503) when it cannot be read now."""
    if sha256 is None:
        raise FilesUnavailable(retry_after=RETRY_AFTER_SECONDS)
    path = blobs.path_for(sha256)
    try:
        stat = await asyncio.to_thread(path.stat)
    except OSError as exc:
        raise FilesUnavailable(retry_after=RETRY_AFTER_SECONDS) from exc
    return FileResponse(
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
