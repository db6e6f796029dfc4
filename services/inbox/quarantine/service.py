"""Reading the quarantine: inbound emails kept raw because they could not be parsed."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.inbox.errors import QuarantinedEmailNotFound
from services.inbox.models import Message
from shared.cursors import after_cursor, encode_cursor

_QUARANTINED = and_(
    Message.direction == "inbound", Message.channel == "email", Message.status == "quarantined"
)


async def list_quarantined(
    session: AsyncSession, *, cursor: str | None, limit: int
) -> tuple[list[Message], str | None]:
    """One page of quarantined emails, newest first, and the next page's cursor."""
    stmt = select(Message).where(_QUARANTINED)
    if cursor:
        stmt = stmt.where(after_cursor(cursor, Message.received_at, Message.id))
    stmt = stmt.order_by(Message.received_at.desc(), Message.id.desc()).limit(limit + 1)
    rows = list((await session.scalars(stmt)).all())
    last = rows[limit - 1] if len(rows) > limit else None
    return rows[:limit], encode_cursor(last.received_at, last.id) if last else None


async def get_quarantined(session: AsyncSession, message_id: uuid.UUID) -> Message:
    """One quarantined email; raises QuarantinedEmailNotFound (also for any other message)."""
    message = await session.scalar(select(Message).where(Message.id == message_id, _QUARANTINED))
    if message is None:
        raise QuarantinedEmailNotFound(message_id=str(message_id))
    return message
