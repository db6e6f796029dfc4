"""HTTP endpoint for replying to a conversation by email."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Request, Response

from services.inbox.conversations.schemas import MessageRead
from services.inbox.deps import (
    BlobsDep,
    IfMatch,
    SessionDep,
    SettingsDep,
    TranslationDep,
    VisibilityDep,
    WriterDep,
    expected_version,
)
from services.inbox.ingest.mime import sanitize_html
from services.inbox.models import Conversation
from services.inbox.outbound import service
from services.inbox.outbound.attachments import FileUpload
from services.inbox.outbound.schemas import ReplyCreate
from shared.db import utc_now
from shared.schemas import problem_responses
from shared.web import service_context

router = APIRouter(prefix="/inbox/v1", tags=["replies"])


@router.post(
    "/conversations/{conversation_id}/replies",
    status_code=201,
    summary="Reply to the customer by email, as free text or from a template (queued, then "
    "sent exactly once)",
    description="The reply is free `text` (and `html`) or an approved template by "
    "`template_key`, rendered by the translation service in the customer's language (French "
    "typography included) with the inbox's standard variables filled in; files come in "
    "`attachments` (base64). It is stored with its final Message-ID, threading headers and "
    "attachments and sent by the outbox relay; temporary SMTP failures retry with backoff, a "
    "permanent refusal marks it `failed` with the server's reason. A repeated `Idempotency-Key` "
    "returns the reply it created (200) and sends nothing again; the same key with a different "
    "body is 422 `request.idempotency_key_reused` and changes nothing (a retry is answered so "
    "even if the conversation changed since, by this reply among others). With `If-Match`, a "
    "conversation that changed since that read is 409 `conversation.changed` with its current "
    "state, and nothing is sent. A reply in a "
    "language other than the customer's needs "
    "`confirm_language: true`. Bad content, an unknown template or variable, or a bad file is "
    "422 (413 for a file too large) and the translation service down is 503: nothing is queued.",
    responses={
        200: {
            "model": MessageRead,
            "description": "The reply this `Idempotency-Key` already created, as it is now "
            "(nothing is sent again).",
        },
        201: {"description": "The reply, stored and queued for sending."},
        **problem_responses(401, 403, 404, 409, 413, 422, 503),
    },
)
async def reply(
    conversation_id: UUID,
    body: ReplyCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    blobs: BlobsDep,
    translation: TranslationDep,
    principal: WriterDep,
    visibility: VisibilityDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=200,
            description="Any string of yours (a UUID) naming this reply: sending the same "
            "request again with it returns the reply it created (200) instead of a second "
            "email; with a different body it is refused (422). Per conversation.",
            examples=["2f6c0d1e-8b7a-4c1e-9f3a-5d2b7e4a9c10"],
        ),
    ] = None,
    if_match: IfMatch = None,
) -> MessageRead:
    version = expected_version(if_match)
    draft = service.ReplyDraft(
        text=body.text,
        html=sanitize_html(body.html) if body.html else None,
        language=body.language,
        confirm_language=body.confirm_language,
        idempotency_key=idempotency_key,
        author_agent_id=principal.agent_id,
        template_key=body.template_key,
        variables=body.variables,
        author_name=principal.name,
        attachments=[
            FileUpload(item.filename, item.content_type, item.content_base64)
            for item in body.attachments
        ],
    )
    files = service.check_draft(
        draft,
        service.FileLimits(
            file_bytes=settings.max_attachment_bytes, total_bytes=settings.max_message_bytes
        ),
    )
    if draft.text is not None and draft.language is None:
        # English typed into a French conversation is not sent labelled French: it needs the
        # same confirmation as a reply declared in the other language.
        draft = replace(draft, written_in=await service.written_in(translation, draft.text))
    # Reads before the translation service is asked use short sessions of their own: the
    # request's session opens its transaction only to write.
    sessions = service_context(request).require_sessions()
    if visibility.restricts(principal):
        async with sessions() as lookup:
            conversation = await lookup.get(Conversation, conversation_id)
        if conversation is not None:
            # The same rule as reading it: what an agent may not see is 404.
            await visibility.ensure_visible(principal, conversation)
    prepared = await service.prepare_reply(
        sessions, conversation_id=conversation_id, draft=draft, translation=translation
    )
    message, created = await service.queue_reply(
        session,
        conversation_id=conversation_id,
        draft=draft,
        prepared=prepared,
        files=files,
        sender=service.Sender(
            address=settings.mail_from, name=settings.mail_from_name, domain=settings.mail_domain
        ),
        blobs=blobs,
        now=utc_now(),
        expected_version=version,
    )
    if not created:
        response.status_code = 200
    await session.refresh(message, ["attachments"])
    return MessageRead.model_validate(message)
