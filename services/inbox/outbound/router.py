"""HTTP endpoint for replying to a conversation by email."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Response

from services.inbox.conversations.schemas import MessageRead
from services.inbox.deps import BlobsDep, SessionDep, SettingsDep, WriterDep
from services.inbox.errors import NotYourConversation
from services.inbox.ingest.mime import sanitize_html
from services.inbox.models import Conversation
from services.inbox.outbound import service
from services.inbox.outbound.schemas import ReplyCreate
from shared.auth import Role
from shared.db import utc_now
from shared.schemas import problem_responses

router = APIRouter(prefix="/inbox/v1", tags=["replies"])


@router.post(
    "/conversations/{conversation_id}/replies",
    status_code=201,
    summary="Reply to the customer by email (queued, then sent exactly once)",
    description="The reply is stored with its final Message-ID and threading headers and sent "
    "by the outbox relay; temporary SMTP failures retry with backoff, a permanent refusal marks "
    "it `failed` with the server's reason. A repeated `Idempotency-Key` returns the first reply. "
    "A reply in a language other than the customer's needs `confirm_language: true`.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def reply(
    conversation_id: UUID,
    body: ReplyCreate,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    blobs: BlobsDep,
    principal: WriterDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> MessageRead:
    if principal.role is Role.AGENT:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is not None and conversation.assignee_agent_id != principal.agent_id:
            raise NotYourConversation(conversation_id=str(conversation_id))
    message, created = await service.queue_reply(
        session,
        conversation_id=conversation_id,
        draft=service.ReplyDraft(
            text=body.text,
            html=sanitize_html(body.html) if body.html else None,
            language=body.language,
            confirm_language=body.confirm_language,
            idempotency_key=idempotency_key,
            author_agent_id=principal.agent_id,
        ),
        sender=service.Sender(
            address=settings.mail_from, name=settings.mail_from_name, domain=settings.mail_domain
        ),
        blobs=blobs,
        now=utc_now(),
    )
    if not created:
        response.status_code = 200
    await session.refresh(message, ["attachments"])
    return MessageRead.model_validate(message)
