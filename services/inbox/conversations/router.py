"""HTTP endpoints for reading conversations."""

from __future__ import annotations

import re
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import FileResponse

from services.inbox.conversations import service
from services.inbox.conversations.schemas import (
    Channel,
    ConversationRead,
    ConversationStatus,
    ConversationSummary,
)
from services.inbox.deps import BlobsDep, ReaderDep, ReadSessionDep, VisibilityDep
from services.inbox.downloads import download
from services.inbox.errors import AttachmentNotFound, AttachmentNotKept
from services.inbox.models import Conversation
from shared.auth import Principal
from shared.errors import FieldError, InvalidInput
from shared.problems import PROBLEM_MEDIA_TYPE
from shared.schemas import Instant, Language, Page, Problem, problem_responses

router = APIRouter(prefix="/inbox/v1", tags=["conversations"])
# A declared type is sent back only when it reads as one (the sender wrote it).
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
REASON_ASSIGNEE = "Must be 'me' or an agent's id."
REASON_NOT_AN_AGENT = "Only an agent's token stands for 'me': give an agent's id."
RANGE_HEADER = {
    "name": "Range",
    "in": "header",
    "required": False,
    "description": "Part of the file, in bytes (RFC 9110): `bytes=0-1023`, `bytes=1024-`, "
    "`bytes=-500`, or several separated by commas. Honoured unless an `If-Range` no longer "
    "matches the file.",
    "schema": {"type": "string", "examples": ["bytes=0-1023"]},
}


async def visible_conversation(
    conversation_id: UUID, session: ReadSessionDep, principal: ReaderDep, visibility: VisibilityDep
) -> Conversation:
    """The conversation with its contact, messages and files, when the caller may read it."""
    conversation = await service.get_conversation(session, conversation_id)
    await visibility.ensure_visible(principal, conversation)
    return conversation


VisibleDep = Annotated[Conversation, Depends(visible_conversation)]


@router.get(
    "/conversations",
    summary="List conversations, most recently active first (cursor-paginated)",
    description="Agents see the conversations assigned to them and those waiting unassigned "
    "in the queues they serve (`GET /routing/v1/agents/{agent_id}/queues`), in a language and "
    "on a channel they may take there; supervisors, admins and services see all. While routing "
    "cannot say which queues an agent serves, the agent's list holds only its own "
    "conversations rather than failing.",
    responses=problem_responses(401, 403, 422, 503),
)
async def list_conversations(
    session: ReadSessionDep,
    principal: ReaderDep,
    visibility: VisibilityDep,
    status: ConversationStatus | None = None,
    channel: Channel | None = None,
    language: Language | None = None,
    contact_id: UUID | None = None,
    queue_id: UUID | None = None,
    assignee: Annotated[
        str | None,
        Query(
            description="`me` (agents) or an agent id.",
            max_length=36,
            # Documented only: the server answers any other value with a reason that says what
            # it takes (``_assignee_id``).
            json_schema_extra={"pattern": r"^(me|[0-9a-fA-F-]{36})$"},
        ),
    ] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    created_after: Instant | None = None,
    created_before: Instant | None = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Words to find in subjects, message texts and notes, each stemmed in "
            "the text's language, accents and case ignored; punctuation is not syntax.",
            examples=["factures impayées"],
        ),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ConversationSummary]:
    assignee_id = _assignee_id(assignee, principal)
    rows, next_cursor = await service.list_conversations(
        session,
        filters=service.ConversationFilter(
            status=status,
            channel=channel,
            language=language,
            contact_id=contact_id,
            queue_id=queue_id,
            assignee_agent_id=assignee_id,
            tag=tag.lower() if tag else None,
            created_after=created_after,
            created_before=created_before,
            visible_to=await visibility.view_for_listing(principal),
            search=q,
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
    description="An agent reads the conversations it would see in its list; any other is 404, "
    "as if it did not exist. One waiting in a queue while routing cannot be asked is 503.",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def read_conversation(response: Response, conversation: VisibleDep) -> ConversationRead:
    response.headers["ETag"] = f'"{conversation.version}"'
    return ConversationRead.model_validate(conversation)


@router.get(
    "/conversations/{conversation_id}/attachments/{attachment_id}",
    summary="Download a file of the conversation's messages (an email's attachment, a fax)",
    description="The file as it arrived, with its type and name, always as a download (never "
    "shown in place by a browser). Whoever may read the conversation may download its files; "
    "for anyone else it is 404. A file that was over the size limit when it arrived was not "
    "kept: 410. A `Range` header asks for part of it (206, several ranges as "
    "`multipart/byteranges`); a range past its end is 416, a `Range` that cannot be read 400.",
    response_class=FileResponse,
    responses={
        200: {
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The file, under the media type it arrived with (`application/pdf`, "
            "`image/png`…; `application/octet-stream` when none could be read), as a download "
            "(`Content-Disposition: attachment`).",
        },
        206: {
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The part the `Range` header asks for, with `Content-Range`; several "
            "ranges come as `multipart/byteranges`, one part each.",
        },
        **problem_responses(401, 403, 404, 410, 422, 503),
        400: {
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {}},
            "description": "`range.malformed`: the `Range` header cannot be read "
            "(`bytes=5-2`, `items=0-1`).",
        },
        416: {
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {}},
            "description": "`range.not_satisfiable`: the range starts past the file's end; "
            "`Content-Range: bytes */<size>` gives its size.",
        },
    },
    openapi_extra={"parameters": [RANGE_HEADER]},
)
async def download_attachment(
    attachment_id: UUID, conversation: VisibleDep, blobs: BlobsDep
) -> FileResponse:
    found = [
        attachment
        for message in conversation.messages
        for attachment in message.attachments
        if attachment.id == attachment_id
    ]
    if not found:
        raise AttachmentNotFound(
            conversation_id=str(conversation.id), attachment_id=str(attachment_id)
        )
    attachment = found[0]
    if not attachment.stored:
        raise AttachmentNotKept(size=attachment.size)
    media_type = attachment.content_type.lower()
    return await download(
        blobs,
        attachment.sha256,
        media_type=media_type if _MEDIA_TYPE.match(media_type) else "application/octet-stream",
        filename=attachment.filename or f"attachment-{attachment.position + 1}",
        # A page or an image a customer sent never runs in the agents' origin.
        headers={"Content-Security-Policy": "sandbox"},
    )


def _assignee_id(assignee: str | None, principal: Principal) -> UUID | None:
    """The agent the ``assignee`` filter names: ``me`` for the calling agent, or an id."""
    if assignee is None:
        return None
    try:
        agent_id = principal.agent_id if assignee == "me" else UUID(assignee)
    except ValueError:  # 36 characters of hexadecimal digits and dashes, but not a UUID
        agent_id = None
    if agent_id is None:
        reason = REASON_NOT_AN_AGENT if assignee == "me" else REASON_ASSIGNEE
        raise InvalidInput(errors=[FieldError(field="assignee", code="value_error", reason=reason)])
    return agent_id
