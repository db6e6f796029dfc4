"""The quarantine: inbound emails kept raw because they could not be parsed, until a supervisor
releases them into the inbox (as they are, or repaired) or dismisses them. Neither deletes: the
email as it arrived stays downloadable, and a gateway re-posting it is still told duplicate."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement, TextClause

from services.inbox.blobs import BlobStore
from services.inbox.downloads import RETRY_AFTER_SECONDS
from services.inbox.errors import (
    FilesUnavailable,
    QuarantinedEmailNotFound,
    QuarantineHandled,
    StillUnparseable,
)
from services.inbox.ingest import receiving
from services.inbox.ingest import service as ingest
from services.inbox.ingest.mime import UnparseableEmail
from services.inbox.ingest.parsing import EmailParser
from services.inbox.models import HANDLED_FROM_QUARANTINE, QUARANTINED, Message, TimelineEntry
from shared.auth import Principal
from shared.clients.translation import TranslationClient
from shared.cursors import after_cursor, encode_cursor
from shared.i18n import Term

State = Literal["quarantined", "released", "dismissed"]
STATES: tuple[State, ...] = ("quarantined", "released", "dismissed")

_EMAIL = and_(Message.direction == "inbound", Message.channel == "email")


@dataclass(frozen=True)
class Release:
    """What releasing needs besides the email: the parser, detection, files and the limits."""

    parser: EmailParser
    translation: TranslationClient
    blobs: BlobStore
    max_attachment_bytes: int
    reopen_days: int


async def list_quarantined(
    session: AsyncSession, *, state: State = "quarantined", cursor: str | None, limit: int
) -> tuple[list[Message], str | None]:
    """One page of the emails in this state, newest first, and the next page's cursor."""
    # Read through a partial index, whose condition must appear as is for SQLite to use it.
    in_state: ColumnElement[bool] | TextClause = (
        QUARANTINED
        if state == "quarantined"
        else and_(HANDLED_FROM_QUARANTINE, Message.status == state)
    )
    stmt = select(Message).where(_EMAIL, in_state)
    if cursor:
        stmt = stmt.where(after_cursor(cursor, Message.received_at, Message.id))
    stmt = stmt.order_by(Message.received_at.desc(), Message.id.desc()).limit(limit + 1)
    rows = list((await session.scalars(stmt)).all())
    last = rows[limit - 1] if len(rows) > limit else None
    return rows[:limit], encode_cursor(last.received_at, last.id) if last else None


async def get_quarantined(
    session: AsyncSession, message_id: uuid.UUID, *, for_update: bool = False
) -> Message:
    """An email that is or was in quarantine; raises QuarantinedEmailNotFound for any other."""
    stmt = select(Message).where(Message.id == message_id, _EMAIL, Message.status.in_(STATES))
    if for_update:
        stmt = stmt.with_for_update()
    message = await session.scalar(stmt)
    if message is None:
        raise QuarantinedEmailNotFound(message_id=str(message_id))
    return message


async def dismiss(
    session: AsyncSession,
    message_id: uuid.UUID,
    *,
    by: Principal,
    note: str | None,
    now: datetime,
) -> Message:
    """Take the email out of the quarantine without delivering it (spam, a test, garbage)."""
    message = await _in_quarantine(session, message_id)
    details = {**(message.details or {}), **_handled(by, now), "note": note}
    await _leave(session, message_id, "dismissed", details)
    return await get_quarantined(session, message_id)


async def release(
    session: AsyncSession,
    message_id: uuid.UUID,
    *,
    repaired: bytes | None,
    by: Principal,
    now: datetime,
    release: Release,
) -> Message:
    """Deliver the email into the inbox as if it had just arrived: parsed from a repaired copy
    when given, else from the stored one (a newer parser may read it now), then threaded,
    language-detected and routed. Raises StillUnparseable, and changes nothing, when it
    still cannot be read."""
    message = await _in_quarantine(session, message_id)
    raw = repaired if repaired is not None else await _stored(release.blobs, message)
    try:
        parsed = await release.parser.parse(raw, max_attachment_bytes=release.max_attachment_bytes)
    except UnparseableEmail as exc:
        raise StillUnparseable(reason=Term(exc.text)) from exc
    details: dict[str, Any] = dict(message.details or {})
    inbox_address = details.get("inbox_address") or (parsed.to[0].lower() if parsed.to else None)
    raw_sha256 = hashlib.sha256(raw).hexdigest()
    key = ingest.dedupe_key(
        parsed=parsed,
        inbox_address=inbox_address,
        gateway=message.gateway or "",
        gateway_message_id=None,
        idempotency_key=None,
        raw_sha256=raw_sha256,
    )
    if key == message.dedupe_key:
        # The quarantined row keeps its key, so that the gateway re-posting it is told duplicate.
        key = f"rel:{message.id}"
    result = await receiving.store_email(
        session,
        ingest.InboundEmail(
            dedupe_key=key,
            raw_sha256=raw_sha256,
            raw_size=len(raw),
            gateway=message.gateway or "",
            inbox_address=inbox_address,
            parsed=parsed,
            parse_error=None,
            attachment_digests=ingest.kept_digests(parsed),
            released_from=message.id,
        ),
        raw,
        translation=release.translation,
        blobs=release.blobs,
        reopen_days=release.reopen_days,
    )
    # Storing may have rolled back (the email was already in the inbox): the quarantined row is
    # changed by its id and state alone, which also stops a concurrent second release.
    await _leave(
        session,
        message_id,
        "released",
        {
            **details,
            **_handled(by, now),
            "released_as": str(result.message_id),
            "conversation_id": str(result.conversation_id) if result.conversation_id else None,
            "duplicate": result.duplicate,
            "repaired": repaired is not None,
        },
    )
    if result.conversation_id is not None:
        # The agents reading the conversation see where its message came from, and who sent it.
        session.add(
            TimelineEntry(
                id=uuid.uuid4(),
                conversation_id=result.conversation_id,
                kind="released_from_quarantine",
                actor_role=by.role.value,
                actor_name=by.name[:200],
                actor_agent_id=by.agent_id,
                data={
                    "quarantined_email_id": str(message_id),
                    "message_id": str(result.message_id),
                    "repaired": repaired is not None,
                },
                at=now,
            )
        )
    return await get_quarantined(session, message_id)


async def _in_quarantine(session: AsyncSession, message_id: uuid.UUID) -> Message:
    """The email, locked where the database can, if it is still in quarantine."""
    message = await get_quarantined(session, message_id, for_update=True)
    if message.status != "quarantined":
        raise QuarantineHandled(message_id=str(message_id))
    return message


async def _leave(
    session: AsyncSession, message_id: uuid.UUID, state: State, details: dict[str, Any]
) -> None:
    """Move the email out of quarantine, unless someone else did first (QuarantineHandled)."""
    moved = await session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == "quarantined")
        .values(status=state, details=details)
        .returning(Message.id)
        .execution_options(synchronize_session=False)
    )
    if moved.first() is None:
        raise QuarantineHandled(message_id=str(message_id))
    session.expire_all()


def _handled(by: Principal, now: datetime) -> dict[str, Any]:
    return {"handled_by": by.name, "handled_at": now.isoformat()}


async def _stored(blobs: BlobStore, message: Message) -> bytes:
    """The email as it arrived; FilesUnavailable (503) when the file cannot be read now."""
    if message.raw_sha256 is None:
        raise FilesUnavailable(retry_after=RETRY_AFTER_SECONDS)
    try:
        return await blobs.get(message.raw_sha256)
    except OSError as exc:
        raise FilesUnavailable(retry_after=RETRY_AFTER_SECONDS) from exc
