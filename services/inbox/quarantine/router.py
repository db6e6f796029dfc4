"""HTTP endpoints of the quarantine, for supervisors and admins: review, release, dismiss."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse

from services.inbox.bodies import media_type, refuse_declared_oversize, refuse_oversize
from services.inbox.deps import (
    BlobsDep,
    ParserDep,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
    SupervisorDep,
    TranslationDep,
)
from services.inbox.downloads import download
from services.inbox.errors import RepairedCopyMediaType
from services.inbox.models import Message
from services.inbox.quarantine import causes, service
from services.inbox.quarantine.schemas import Dismissal, QuarantinedEmail
from shared.db import utc_now
from shared.i18n import negotiate_locale
from shared.schemas import Page, problem_responses
from shared.web import service_context

router = APIRouter(prefix="/inbox/v1", tags=["quarantine"])
REPAIRED_MEDIA_TYPE = "message/rfc822"

REPAIRED_BODY = {
    "requestBody": {
        "required": False,
        "content": {
            "message/rfc822": {
                "schema": {"type": "string", "format": "binary"},
                # A broken header folded again by hand: what a supervisor's repair looks like.
                "example": "From: Jean Roy <jean.roy@example.com>\r\nTo: service@example.com\r\n"
                "Subject: Change of address\r\nMessage-ID: <repaired.1@example.com>\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                "Hello, I moved: please update my mailing address.\r\n",
            }
        },
        "description": "A repaired copy of the email; without a body, the stored one is used.",
    }
}


@router.get(
    "/quarantine",
    summary="List the emails that could not be parsed, newest first (cursor-paginated)",
    description="Each was answered `quarantined` to its gateway and kept as it arrived; "
    "download one to read it or to hand it to whoever can repair it, then release it into "
    "the inbox or dismiss it. `state` lists those already released or dismissed.",
    responses=problem_responses(401, 403, 422, 503),
)
async def list_quarantine(
    request: Request,
    response: Response,
    session: ReadSessionDep,
    _: SupervisorDep,
    state: service.State = "quarantined",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[QuarantinedEmail]:
    rows, next_cursor = await service.list_quarantined(
        session, state=state, cursor=cursor, limit=limit
    )
    words = _Words(request, response)
    return Page[QuarantinedEmail](
        items=[_item(row, words) for row in rows], next_cursor=next_cursor
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


@router.post(
    "/quarantine/{message_id}/release",
    summary="Release a quarantined email into the inbox, as stored or from a repaired copy",
    description="Parses the email again (a repaired copy sent as `message/rfc822`, else the "
    "stored one), then stores, threads and routes it as if it had just arrived; the answer "
    "names the message and conversation it became. When it still cannot be parsed: 422 "
    "`quarantine.still_unparseable` and nothing changes. A body of any other type: 415. "
    "Already released or dismissed: 409. "
    "The email as it arrived stays downloadable here, and a gateway posting it again is still "
    "answered with its original `quarantined` receipt.",
    responses=problem_responses(401, 403, 404, 409, 413, 415, 422, 503),
    openapi_extra=REPAIRED_BODY,
)
async def release_quarantined(
    message_id: UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: SupervisorDep,
    settings: SettingsDep,
    parser: ParserDep,
    translation: TranslationDep,
    blobs: BlobsDep,
) -> QuarantinedEmail:
    repaired = await _repaired_copy(request, settings.max_message_bytes)
    message = await service.release(
        session,
        message_id,
        repaired=repaired,
        by=principal,
        now=utc_now(),
        release=service.Release(
            parser=parser,
            translation=translation,
            blobs=blobs,
            max_attachment_bytes=settings.max_attachment_bytes,
            reopen_days=settings.reopen_days,
        ),
    )
    return _item(message, _Words(request, response))


@router.post(
    "/quarantine/{message_id}/dismiss",
    summary="Dismiss a quarantined email: it leaves the list, is never delivered, stays kept",
    description="For spam, tests and garbage. The email as it arrived stays downloadable and "
    "listed under `state=dismissed`. Already released or dismissed: 409.",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def dismiss_quarantined(
    message_id: UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: SupervisorDep,
    body: Dismissal | None = None,
) -> QuarantinedEmail:
    message = await service.dismiss(
        session, message_id, by=principal, note=body.note if body else None, now=utc_now()
    )
    return _item(message, _Words(request, response))


async def _repaired_copy(request: Request, limit: int) -> bytes | None:
    """The repaired email in the body, or None for an empty body (use the stored one)."""
    refuse_declared_oversize(request, limit)
    body = await request.body()
    if not body:
        return None
    refuse_oversize(body, limit)
    # only the documented type: a text/plain form or a stray file is not a repaired email
    if media_type(request) != REPAIRED_MEDIA_TYPE:
        raise RepairedCopyMediaType()
    return body


class _Words:
    """The language the caller reads (``Accept-Language``) and the catalogs, for the reasons;
    the answer says which language it is in."""

    def __init__(self, request: Request, response: Response) -> None:
        context = service_context(request)
        self.translator = context.translator
        self.locale = negotiate_locale(
            request.headers.get("accept-language"), context.settings.default_locale
        )
        response.headers["Content-Language"] = self.locale
        response.headers["Vary"] = "Accept-Language"


def _item(message: Message, words: _Words) -> QuarantinedEmail:
    details: dict[str, Any] = message.details or {}
    parse_error = details.get("parse_error")
    code = causes.cause_code(parse_error)
    return QuarantinedEmail(
        id=message.id,
        state=message.status,
        received_at=message.received_at,
        gateway=message.gateway,
        raw_size=message.raw_size,
        raw_sha256=message.raw_sha256,
        reason=causes.cause_text(code, words.locale, words.translator),
        reason_code=code,
        parse_error=parse_error,
        handled_by=details.get("handled_by"),
        handled_at=details.get("handled_at"),
        note=details.get("note"),
        released_as=details.get("released_as"),
        conversation_id=details.get("conversation_id"),
        duplicate=details.get("duplicate"),
        repaired=details.get("repaired"),
    )
