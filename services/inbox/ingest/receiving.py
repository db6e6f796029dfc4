"""A parsed inbound email's way to the commit: its files written while its language is detected
and its rows stored. The gateways' webhook and the quarantine's release both take it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from services.inbox.blobs import BlobStore
from services.inbox.ingest import service
from shared.clients.translation import TranslationClient
from shared.contracts.translation import DetectRequest
from shared.db import utc_now

#: Detection reads the start of the text: enough for its language, bounded in time.
DETECTION_CHARS = 20_000


def _no_lap(_stage: str) -> None:
    """A stage timer that records nothing."""


async def store_email(
    session: AsyncSession,
    email: service.InboundEmail,
    raw: bytes,
    *,
    translation: TranslationClient,
    blobs: BlobStore,
    reopen_days: int,
    lap: Callable[[str], None] = _no_lap,
) -> service.IngestResult:
    """Detect the email's language and store it, its raw form and kept attachments synced to
    disk before this returns; ``lap`` is told when each stage (detect, store, files) ends."""
    parsed = email.parsed
    attachments = parsed.attachments if parsed else ()
    # The message and its kept attachments are written (and synced) by the blob store's thread
    # while detection and the transaction run here; the answer, hence the commit, waits for it.
    writing = asyncio.ensure_future(
        blobs.put_many([raw, *(item.data for item in attachments if not item.omitted)])
    )
    try:
        detection = None
        if parsed is not None:
            detection = await translation.detect(
                DetectRequest(
                    text=parsed.text[:DETECTION_CHARS], hints=service.detection_hints(parsed)
                )
            )
            lap("detect")
        result = await service.ingest_email(
            session, email, detection=detection, reopen_days=reopen_days, now=utc_now()
        )
        lap("store")
    except BaseException:
        # The thread cannot be stopped: let it finish; this request's own error is the answer.
        with contextlib.suppress(Exception):
            await writing
        raise
    # Durable files before any answer: a failed write fails the request, and the transaction
    # is then rolled back, not committed.
    await writing
    lap("files")
    return result
