"""The telephony and fax webhooks: calls and faxes become conversations."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from services.inbox.bodies import json_text, media_type, refuse_declared_oversize, refuse_oversize
from services.inbox.contacts import service as contacts
from services.inbox.deps import (
    BlobsDep,
    GatewayDep,
    RoutingDep,
    SessionDep,
    SettingsDep,
    TranslationDep,
)
from services.inbox.errors import CallEventMediaType, FaxMediaType
from services.inbox.ingest import calls, faxes
from services.inbox.ingest.phone import PhoneLine, call_language, e164_field, is_withheld
from services.inbox.ingest.schemas import CallEventIn, CallReceipt, FaxJson, IngestReceipt
from services.inbox.settings import InboxSettings
from shared.clients.base import PeerRejected
from shared.clients.routing import RoutingClient
from shared.contracts.routing import AvailabilityQuery
from shared.contracts.translation import DetectHints, DetectRequest
from shared.db import utc_now
from shared.errors import Unavailable
from shared.logging import get_logger
from shared.null_characters import refuse_in_form
from shared.problems import invalid_input
from shared.schemas import problem_responses
from shared.web import service_context

log = get_logger(__name__)
router = APIRouter(prefix="/inbox/v1/inbound", tags=["inbound"])


def _form_field(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON field's schema as a form field's: never null (a field left out is null)."""
    kinds = [kind for kind in schema.get("anyOf", []) if kind.get("type") != "null"]
    rest = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
    return {**rest, **kinds[0]} if kinds else rest


_FAX_JSON = FaxJson.model_json_schema()
#: Form fields the handler takes from the document's part rather than from the form's text.
_FROM_THE_PART = ("document", "content_type", "filename")
FAX_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "description": "The fields of the JSON form as text, the document as a file "
                    "part whose `Content-Type` and file name are kept with it.",
                    "required": [
                        "document",
                        *(name for name in _FAX_JSON["required"] if name not in _FROM_THE_PART),
                    ],
                    "properties": {
                        "document": {
                            "type": "string",
                            "format": "binary",
                            "description": "The document (PDF or TIFF).",
                        },
                        **{
                            name: _form_field(schema)
                            for name, schema in _FAX_JSON["properties"].items()
                            if name not in _FROM_THE_PART
                        },
                    },
                    "additionalProperties": False,
                }
            },
            "application/json": {
                "schema": _FAX_JSON,
                "example": {
                    "fax_id": "FX20261123-0042",
                    "from": "+15145550123",
                    "to": "+15145550199",
                    "pages": 1,
                    "content_type": "application/pdf",
                    "filename": "formulaire-changement-adresse.pdf",
                    "document": "JVBERi0xLjQKJcTl8uXrp/Og0MTGCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4K"
                    "ZW5kb2JqCnRyYWlsZXIKPDwvUm9vdCAxIDAgUj4+CiUlRU9G",
                    "ocr_text": "Formulaire de changement d’adresse — Julie Gagnon",
                },
            },
        },
    }
}


async def _json_body(request: Request) -> None:
    """CallEventMediaType (415) for a body sent as anything but JSON (an empty body without a
    media type is left to the validation of the body: 422, missing)."""
    kind = media_type(request)
    if kind == "application/json" or kind.endswith("+json"):
        return
    if kind or await request.body():
        raise CallEventMediaType()


def _line(settings: InboxSettings, dialed: str | None) -> PhoneLine | None:
    configured = settings.phone_lines.get(dialed or "")
    if configured is None:
        return None
    return PhoneLine(language=configured.language, ivr_digits=configured.ivr_digits)


@router.post(
    "/calls",
    summary="Receive a telephony event: ringing, answered, completed, missed, voicemail…",
    description="Events are idempotent and may arrive in any order. The answer to the call's "
    "first `ringing` tells the gateway what to do: `queued` (an agent will be offered the call) "
    "or `closed` (outside business hours: play the closed message); a repeat of that `ringing` "
    "is answered the same. Every other event is answered `recorded` (nothing to do). The body "
    "is JSON (`application/json`); any other media type is 415. Language, in order: the IVR "
    "choice, the dialed line's language, the contact's known preference, the caller's region. "
    "A call from a withheld number (see `from`) is taken as any other, under a new contact "
    "without a number; a `from` that is neither a number nor withheld is 422.",
    responses=problem_responses(401, 403, 415, 422, 503),
)
async def receive_call_event(
    body: CallEventIn,
    request: Request,
    gateway: GatewayDep,
    _json: Annotated[None, Depends(_json_body)],
    session: SessionDep,
    settings: SettingsDep,
    routing: RoutingDep,
) -> CallReceipt:
    caller = (
        None
        if is_withheld(body.from_)
        else e164_field(body.from_ or "", "from", settings.default_region)
    )
    dialed = e164_field(body.to, "to", settings.default_region) if body.to else None
    async with service_context(request).require_sessions()() as lookup:
        existing = await calls.find_call(lookup, gateway=gateway.name, call_id=body.call_id)
        contact = (
            await contacts.find_by_identity(lookup, kind="phone", value=caller) if caller else None
        )
        contact_language = contact.language if contact else None
    if existing is not None:
        language, evidence = existing.language, list(existing.language_evidence)
    else:
        language, evidence = call_language(
            chosen=body.language,
            ivr_digit=body.ivr_digit,
            line=_line(settings, dialed),
            contact_language=contact_language,
            caller=caller,
        )
    closed = False
    if body.event == "ringing" and existing is None:
        closed = await _closed(routing, language, dialed)
    data: dict[str, Any] = body.model_dump(
        mode="json",
        include={"duration_seconds", "recording_url", "transcription", "ivr_digit"},
        exclude_none=True,
    )
    result = await calls.apply_call_event(
        session,
        calls.CallInput(
            gateway=gateway.name[:100],
            call_id=body.call_id,
            event=body.event,
            caller=caller,
            dialed=dialed,
            language=language,
            language_evidence=evidence,
            occurred_at=body.occurred_at or utc_now(),
            data=data,
        ),
        closed=closed,
        now=utc_now(),
    )
    return CallReceipt(
        call_id=body.call_id,
        action=result.action,
        message_id=result.message_id,
        conversation_id=result.conversation_id,
        contact_id=result.contact_id,
        language=result.language,
        language_evidence=evidence,
        duplicate=result.duplicate,
    )


async def _closed(routing: RoutingClient, language: str, dialed: str | None) -> bool:
    """Whether routing says the call meets a closed queue; unknown counts as open (queued)."""
    query = AvailabilityQuery.model_validate(
        {"channel": "phone", "language": language, "attributes": {"dialed": dialed or ""}}
    )
    try:
        availability = await routing.availability(query)
    except (Unavailable, PeerRejected) as exc:
        log.warning("call.availability_unknown", error=type(exc).__name__)
        return False
    return bool(availability.action == "closed")


@router.post(
    "/faxes",
    status_code=202,
    summary="Receive a fax (multipart with the document, or JSON with it base64-encoded)",
    description="Idempotent by `fax_id`. The document is kept as an attachment; the language "
    "comes from the OCR text, else as for calls (dialed line, contact, sender's region). The "
    "document is required and must be a PDF or a TIFF (multi-page TIFF included), told by its "
    "first bytes: it is kept with the type they show, whatever type was declared; any other "
    "file is 415 `fax.document_type` and stores nothing.",
    responses=problem_responses(401, 403, 413, 415, 422, 503),
    openapi_extra=FAX_BODY,
)
async def receive_fax(
    request: Request,
    gateway: GatewayDep,
    session: SessionDep,
    settings: SettingsDep,
    translation: TranslationDep,
    blobs: BlobsDep,
) -> IngestReceipt:
    fax, document = await _read_fax(request, settings.max_message_bytes)
    sender = e164_field(fax.from_, "from", settings.default_region)
    dialed = e164_field(fax.to, "to", settings.default_region) if fax.to else None
    line = _line(settings, dialed)
    async with service_context(request).require_sessions()() as lookup:
        contact = await contacts.find_by_identity(lookup, kind="fax", value=sender)
        contact_language = contact.language if contact else None
    language, evidence = call_language(
        chosen=None, ivr_digit=None, line=line, contact_language=contact_language, caller=sender
    )
    confidence = 1.0 if language != "und" else 0.0
    if fax.ocr_text and fax.ocr_text.strip():
        detection = await translation.detect(
            DetectRequest(
                text=fax.ocr_text[:20_000],
                hints=DetectHints(
                    line_language=line.language if line else None,
                    contact_language=contact_language,
                ),
            )
        )
        if detection.language != "und" or language == "und":
            language, confidence = detection.language, detection.confidence
            evidence = ["ocr_text", *detection.evidence]
    digest = await blobs.put(document)
    result = await faxes.ingest_fax(
        session,
        faxes.FaxInput(
            gateway=gateway.name[:100],
            fax_id=fax.fax_id,
            sender=sender,
            dialed=dialed,
            pages=fax.pages,
            received_at=fax.received_at,
            ocr_text=fax.ocr_text,
            document_sha256=digest,
            document_size=len(document),
            document_type=fax.content_type,
            document_name=fax.filename or faxes.document_name(fax.fax_id, fax.content_type),
            language=language,
            language_confidence=confidence,
            language_evidence=evidence,
        ),
        now=utc_now(),
    )
    return IngestReceipt(
        message_id=result.message_id,
        conversation_id=result.conversation_id,
        contact_id=result.contact_id,
        duplicate=result.duplicate,
        status="accepted",
        language=result.language,
    )


async def _read_fax(request: Request, limit: int) -> tuple[FaxJson, bytes]:
    refuse_declared_oversize(request, limit)
    kind = media_type(request)
    if kind == "application/json":
        try:
            fax = FaxJson.model_validate_json(await json_text(request))
        except ValidationError as exc:
            raise invalid_input(exc.errors()) from exc
        try:
            document = base64.b64decode("".join(fax.document.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise invalid_input([{"loc": ("body", "document"), "type": "base64_invalid"}]) from exc
    elif kind == "multipart/form-data":
        async with request.form(max_part_size=limit + 1) as form:
            upload = form.get("document")
            if not isinstance(upload, UploadFile):
                raise invalid_input([{"loc": ("body", "document"), "type": "missing"}])
            document = await upload.read()
            fields: dict[str, Any] = {
                key: value for key, value in form.items() if isinstance(value, str)
            }
            fields["document"] = "-"
            fields["content_type"] = upload.content_type or "application/pdf"
            fields["filename"] = upload.filename
            refuse_in_form(fields)
            try:
                fax = FaxJson.model_validate(fields)
            except ValidationError as exc:
                raise invalid_input(exc.errors()) from exc
    else:
        raise FaxMediaType()
    refuse_oversize(document, limit)
    if not document:
        raise invalid_input([{"loc": ("body", "document"), "type": "missing"}])
    return fax.model_copy(update={"content_type": faxes.document_type(document)}), document
