"""HTTP endpoints for reading conversations."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from services.inbox.conversations import service
from services.inbox.conversations.schemas import (
    Channel,
    ConversationRead,
    ConversationStatus,
    ConversationSummary,
)
from services.inbox.deps import ReaderDep, SessionDep
from shared.schemas import Language, Page, problem_responses

router = APIRouter(prefix="/inbox/v1", tags=["conversations"])


@router.get(
    "/conversations",
    summary="List conversations, most recently active first (cursor-paginated)",
    responses=problem_responses(401, 403, 422),
)
async def list_conversations(
    session: SessionDep,
    _: ReaderDep,
    status: ConversationStatus | None = None,
    channel: Channel | None = None,
    language: Language | None = None,
    contact_id: UUID | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ConversationSummary]:
    rows, next_cursor = await service.list_conversations(
        session,
        filters=service.ConversationFilter(
            status=status, channel=channel, language=language, contact_id=contact_id
        ),
        cursor=cursor,
        limit=limit,
    )
    return Page[ConversationSummary](
        items=[ConversationSummary.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.get(
    "/conversations/{conversation_id}",
    summary="Read a conversation with its contact and messages",
    responses=problem_responses(401, 403, 404, 422),
)
async def read_conversation(
    conversation_id: UUID, response: Response, session: SessionDep, _: ReaderDep
) -> ConversationRead:
    conversation = await service.get_conversation(session, conversation_id)
    response.headers["ETag"] = f'"{conversation.version}"'
    return ConversationRead.model_validate(conversation)
