"""Dead-lettered outbox events, for operators: list them, read why they failed, send them again.

An event its peer refused too often (see ``shared.outbox``) stops being retried and no longer
holds back its conversation. It is kept whole; once the cause is fixed (a peer upgraded, a bad
row repaired), an admin sends it again, one at a time or all of a type.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal, Role
from shared.cursors import after_cursor, encode_cursor
from shared.db import utc_now
from shared.errors import NotFound
from shared.outbox import OutboxEventMixin, note_emitted
from shared.schemas import Page, Schema, problem_responses
from shared.web import ReadSessionDep, SessionDep, require_roles

AdminDep = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
EventType = Annotated[str | None, Query(max_length=100, description="Only events of this type.")]


class DeadLetterNotFound(NotFound):
    code = "outbox.dead_letter_not_found"
    title = "Dead letter not found"
    detail_template = "No dead-lettered event has this id: it is unknown, or not dead-lettered."


class DeadLetter(Schema):
    """An event set aside after its peer refused it too often."""

    id: uuid.UUID
    type: str
    conversation_id: str | None
    occurred_at: datetime
    dead_at: datetime
    attempts: int
    rejections: int
    last_error: str | None
    payload: dict[str, Any]


class Retried(Schema):
    """How many dead letters were sent back to the outbox; the relay delivers them next."""

    retried: int


def dead_letters_router(prefix: str, model: type[OutboxEventMixin]) -> APIRouter:
    """``{prefix}/outbox/dead-letters``: list, and retry one or all (of a type); admins only."""
    router = APIRouter(prefix=f"{prefix}/outbox/dead-letters", tags=["operations"])

    @router.get(
        "",
        summary="List the dead-lettered events, last set aside first (cursor-paginated)",
        description="Events this service's outbox stopped retrying after its peer refused them "
        "`OUTBOX_MAX_REJECTIONS` times (outages never count), with the last error.",
        responses=problem_responses(401, 403, 422, 503),
    )
    async def list_dead_letters(
        session: ReadSessionDep,
        _: AdminDep,
        type: EventType = None,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> Page[DeadLetter]:
        stmt = select(model).where(*_dead(model, type))
        if cursor is not None:
            stmt = stmt.where(after_cursor(cursor, model.dead_at, model.id))
        stmt = stmt.order_by(model.dead_at.desc(), model.id.desc()).limit(limit + 1)
        rows = list((await session.scalars(stmt)).all())
        page, more = rows[:limit], len(rows) > limit
        last = page[-1] if more else None
        return Page[DeadLetter](
            items=[_read(row) for row in page],
            next_cursor=encode_cursor(_when(last), last.id) if last else None,
        )

    @router.post(
        "/{event_id}/retry",
        status_code=status.HTTP_202_ACCEPTED,
        summary="Send one dead-lettered event again",
        description="It is delivered as soon as the relay runs, and retried again on failure.",
        responses=problem_responses(401, 403, 404, 422, 503),
    )
    async def retry_dead_letter(event_id: uuid.UUID, session: SessionDep, _: AdminDep) -> Retried:
        retried = await _retry(session, model, model.id == event_id)
        if not retried:
            raise DeadLetterNotFound()
        return Retried(retried=retried)

    @router.post(
        "/retry",
        status_code=status.HTTP_202_ACCEPTED,
        summary="Send every dead-lettered event again, or every one of a type",
        responses=problem_responses(401, 403, 422, 503),
    )
    async def retry_dead_letters(
        session: SessionDep, _: AdminDep, type: EventType = None
    ) -> Retried:
        return Retried(retried=await _retry(session, model, *_dead(model, type)))

    return router


def _dead(model: type[OutboxEventMixin], event_type: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [model.dead_at.is_not(None)]
    if event_type is not None:
        conditions.append(model.type == event_type)
    return conditions


async def _retry(
    session: AsyncSession, model: type[OutboxEventMixin], *where: ColumnElement[bool]
) -> int:
    """Put the dead letters matching ``where`` back in the outbox, due now, with no refusals
    counted; the relay is woken once the transaction commits."""
    result = await session.execute(
        update(model)
        .where(model.dead_at.is_not(None), *where)
        .values(dead_at=None, rejections=0, available_at=utc_now(), locked_until=None)
        .execution_options(synchronize_session=False)
    )
    retried = int(result.rowcount)  # type: ignore[attr-defined]
    if retried:
        note_emitted(session)
    return retried


def _when(row: OutboxEventMixin) -> datetime:
    assert row.dead_at is not None
    return row.dead_at


def _read(row: OutboxEventMixin) -> DeadLetter:
    return DeadLetter(
        id=row.id,
        type=row.type,
        conversation_id=row.ordering_key,
        occurred_at=row.occurred_at,
        dead_at=_when(row),
        attempts=row.attempts,
        rejections=row.rejections,
        last_error=row.last_error,
        payload=row.payload,
    )
