"""The gateways' inbound webhooks: 2xx only once the contact is stored."""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from prometheus_client import Histogram
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import UploadFile

from services.inbox.bodies import (
    RAW_MEDIA_TYPES,
    json_text,
    media_type,
    refuse_declared_oversize,
    refuse_oversize,
)
from services.inbox.deps import (
    BlobsDep,
    GatewayDep,
    ParserDep,
    SessionDep,
    SettingsDep,
    TranslationDep,
)
from services.inbox.errors import EmptyEmail, UnsupportedMediaType
from services.inbox.ingest import receiving, service
from services.inbox.ingest.mime import ParsedEmail, UnparseableEmail
from services.inbox.ingest.schemas import (
    InboundEmailJson,
    InboxAddress,
    IngestReceipt,
    is_mailbox_address,
)
from services.inbox.metrics import email_stages
from shared.errors import FieldError
from shared.null_characters import refuse_in_form
from shared.problems import invalid_input
from shared.schemas import problem_responses
from shared.web import service_context

router = APIRouter(prefix="/inbox/v1/inbound", tags=["inbound"])
_INBOX_ADDRESS: TypeAdapter[str] = TypeAdapter(InboxAddress)
#: Why a message without a byte to read is refused (its French is in the inbox catalog).
REASON_EMPTY_EMAIL = "Must hold the raw email: it is empty, or only spaces and line breaks."
#: What a gateway posts: a French customer's email as it arrived.
EXAMPLE_EMAIL = (
    "From: Julie Gagnon <julie.gagnon@example.ca>\r\nTo: service@example.com\r\n"
    "Subject: =?utf-8?q?Facture_erron=C3=A9e?=\r\nMessage-ID: <20261123.1@example.ca>\r\n"
    "Date: Mon, 23 Nov 2026 14:30:00 -0500\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    "Bonjour,\r\n\r\nMa facture de novembre est erronée : on m’a facturé deux fois.\r\n\r\n"
    "Merci,\r\nJulie Gagnon\r\n"
)

EMAIL_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "message/rfc822": {
                "schema": {"type": "string", "format": "binary"},
                "example": EXAMPLE_EMAIL,
            },
            "application/json": {
                "schema": InboundEmailJson.model_json_schema(),
                "example": {
                    "raw": base64.b64encode(EXAMPLE_EMAIL.encode()).decode(),
                    "gateway_message_id": "sg-4f1c2",
                    "recipient": "service@example.com",
                },
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["email"],
                    "properties": {
                        "email": {"type": "string", "description": "The raw message."},
                        "to": {
                            "type": "string",
                            "format": "email",
                            "maxLength": 320,
                            "description": "The inbox address.",
                        },
                    },
                },
                "example": {"email": EXAMPLE_EMAIL, "to": "service@example.com"},
            },
        },
    }
}


@router.post(
    "/email",
    status_code=202,
    summary="Receive an email from a gateway (raw RFC 5322, JSON or form)",
    description="Stores the message exactly once and threads it; answers 202 only after the "
    "commit. A message that cannot be parsed is kept raw and answered `quarantined`; an empty "
    "one (no bytes, or only spaces and line breaks) is 422 `email.empty` and stores nothing. "
    "Deduplication: Message-ID per inbox address and sender, else the gateway's id, else "
    "`Idempotency-Key`, else the hash of the raw message. A web form's email (from a no-reply "
    "address, the customer in Reply-To) is told by its Date header too: forms give every "
    "submission one Message-ID. A copy of an email its conversation "
    "already holds (the same Message-ID, sender, subject and text, posted for another of our "
    "addresses; without a Message-ID, the same Date header instead) answers the first copy's "
    "ids with `duplicate: true`.",
    responses=problem_responses(401, 403, 413, 415, 422, 503),
    openapi_extra=EMAIL_BODY,
)
async def receive_email(
    request: Request,
    gateway: GatewayDep,
    session: SessionDep,
    settings: SettingsDep,
    translation: TranslationDep,
    blobs: BlobsDep,
    parser: ParserDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    to: Annotated[
        InboxAddress | None, Query(description="The inbox address it was sent to.")
    ] = None,
) -> IngestReceipt:
    refuse_declared_oversize(request, settings.max_message_bytes)
    raw, gateway_message_id, recipient = await _read_email(request, settings.max_message_bytes)
    refuse_oversize(raw, settings.max_message_bytes)
    parsed: ParsedEmail | None = None
    parse_error: str | None = None
    lap = _Lap(email_stages(service_context(request).metrics))
    try:
        parsed = await parser.parse(raw, max_attachment_bytes=settings.max_attachment_bytes)
    except UnparseableEmail as exc:
        parse_error = str(exc)
    lap("parse")
    raw_sha256 = hashlib.sha256(raw).hexdigest()
    inbox_address = (to or recipient or _delivered_to(parsed) or "").lower()[:320] or None
    key = service.dedupe_key(
        parsed=parsed,
        inbox_address=inbox_address,
        gateway=gateway.name,
        gateway_message_id=gateway_message_id,
        idempotency_key=idempotency_key,
        raw_sha256=raw_sha256,
    )
    earlier = await service.find_earlier(service_context(request).require_sessions(), key)
    if earlier is not None:
        return _receipt(earlier)
    result = await receiving.store_email(
        session,
        service.InboundEmail(
            dedupe_key=key,
            raw_sha256=raw_sha256,
            raw_size=len(raw),
            gateway=gateway.name,
            inbox_address=inbox_address,
            parsed=parsed,
            parse_error=parse_error,
            attachment_digests=service.kept_digests(parsed),
        ),
        raw,
        translation=translation,
        blobs=blobs,
        reopen_days=settings.reopen_days,
        lap=lap,
    )
    return _receipt(result)


class _Lap:
    """Records each stage's time in the histogram; the next stage begins when one ends."""

    def __init__(self, stages: Histogram) -> None:
        self._stages, self._started = stages, time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self._stages.labels(stage).observe(now - self._started)
        self._started = now


def _receipt(result: service.IngestResult) -> IngestReceipt:
    return IngestReceipt(
        message_id=result.message_id,
        conversation_id=result.conversation_id,
        contact_id=result.contact_id,
        duplicate=result.duplicate,
        status=result.status,
        language=result.language,
    )


def _delivered_to(parsed: ParsedEmail | None) -> str | None:
    """The message's first To address, when it is one a reply can come from."""
    if parsed is None or not parsed.to or not is_mailbox_address(parsed.to[0]):
        return None
    return parsed.to[0]


async def _read_email(request: Request, limit: int) -> tuple[bytes, str | None, str | None]:
    """The raw message, the gateway's id and the recipient, from any accepted body format."""
    kind = media_type(request)
    if kind in RAW_MEDIA_TYPES:
        return _not_empty(await request.body(), "body"), None, None
    if kind == "application/json":
        try:
            body = InboundEmailJson.model_validate_json(await json_text(request))
        except ValidationError as exc:
            raise invalid_input(exc.errors()) from exc
        try:
            # MIME writes base64 in lines of 76: line breaks and spaces are no error.
            raw = base64.b64decode("".join(body.raw.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise invalid_input([{"loc": ("body", "raw"), "type": "base64_invalid"}]) from exc
        return _not_empty(raw, "raw"), body.gateway_message_id, body.recipient
    if kind == "multipart/form-data":
        async with request.form(max_part_size=limit + 1) as form:
            field = form.get("email")
            if field is None:
                raise invalid_input([{"loc": ("body", "email"), "type": "missing"}])
            raw = await field.read() if isinstance(field, UploadFile) else field.encode()
            recipient = form.get("to")
            refuse_in_form({"to": recipient})
        return _not_empty(raw, "email"), None, _form_address(recipient)
    raise UnsupportedMediaType()


def _not_empty(raw: bytes, field: str) -> bytes:
    """The raw message, unless there is nothing in it to read (EmptyEmail, naming the field):
    such a body is a gateway's mistake, not an email to quarantine."""
    if not raw or raw.isspace():  # the spaces strip() drops, without copying a large body
        raise EmptyEmail(errors=[FieldError(field, "empty", REASON_EMPTY_EMAIL)])
    return raw


def _form_address(value: object) -> str | None:
    """The form's ``to`` checked as the query's and the JSON's are; a file there is ignored."""
    if not isinstance(value, str):
        return None
    try:
        return _INBOX_ADDRESS.validate_python(value)
    except ValidationError as exc:
        raise invalid_input(
            [{**error, "loc": ("body", "to", *error["loc"])} for error in exc.errors()]
        ) from exc
