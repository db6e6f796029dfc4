"""HTTP endpoints of the quarantine, for supervisors and admins."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from services.inbox.deps import BlobsDep, ReadSessionDep, SupervisorDep
from services.inbox.downloads import download
from services.inbox.quarantine import service
from services.inbox.quarantine.schemas import QuarantinedEmail
from shared.schemas import Page, problem_responses

router = APIRouter(prefix="/inbox/v1", tags=["quarantine"])


@router.get(
    "/quarantine",
    summary="List the emails that could not be parsed, newest first (cursor-paginated)",
    description="Each was answered `quarantined` to its gateway and kept as it arrived; "
    "download one to read it or to hand it to whoever can repair it.",
    responses=problem_responses(401, 403, 422),
)
async def list_quarantine(
    session: ReadSessionDep,
    _: SupervisorDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[QuarantinedEmail]:
    rows, next_cursor = await service.list_quarantined(session, cursor=cursor, limit=limit)
    return Page[QuarantinedEmail](
        items=[
            QuarantinedEmail(
                id=row.id,
                received_at=row.received_at,
                gateway=row.gateway,
                raw_size=row.raw_size,
                raw_sha256=row.raw_sha256,
                reason=(row.details or {}).get("parse_error"),
            )
            for row in rows
        ],
        next_cursor=next_cursor,
    )


@router.get(
    "/quarantine/{message_id}/raw",
    summary="Download a quarantined email as it arrived (message/rfc822)",
    response_class=FileResponse,
    responses={
        200: {"content": {"message/rfc822": {}}, "description": "The raw message."},
        **problem_responses(401, 403, 404, 422, 503),
    },
)
async def download_quarantined(
    message_id: UUID, session: ReadSessionDep, _: SupervisorDep, blobs: BlobsDep
) -> FileResponse:
    message = await service.get_quarantined(session, message_id)
    return await download(
        blobs,
        message.raw_sha256,
        media_type="message/rfc822",
        filename=f"quarantined-{message.id}.eml",
    )
