"""Inbound faxes over HTTP: the document kept, idempotent by fax id, language from OCR text."""

from __future__ import annotations

import base64
import hashlib
import uuid

import pytest
from sqlalchemy import func, select

from services.inbox.models import Attachment, Message, OutboxEvent
from shared.auth import Role
from tests.support.apps import Running

DOCUMENT = b"%PDF-1.4\n% fake but real bytes of a one-page fax\n%%EOF\n"
OCR_FR = (
    "Objet : demande de remboursement. Madame, Monsieur, je vous prie de trouver ci-joint "
    "la copie de ma facture. Je vous remercie de bien vouloir procéder au remboursement."
)


@pytest.fixture
async def gateway(app: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(Role.GATEWAY, name='fax')}"}


async def test_a_multipart_fax_is_stored_with_its_document_in_french(
    app: Running, gateway: dict[str, str]
) -> None:
    fields = {
        "fax_id": "FX-1",
        "from": "+14165550188",
        "to": "+18005550100",
        "pages": "1",
        "ocr_text": OCR_FR,
    }

    answer = await app.client.post(
        "/inbox/v1/inbound/faxes",
        data=fields,
        files={"document": ("facture.pdf", DOCUMENT, "application/pdf")},
        headers=gateway,
    )
    again = await app.client.post(
        "/inbox/v1/inbound/faxes",
        data=fields,
        files={"document": ("facture.pdf", DOCUMENT, "application/pdf")},
        headers=gateway,
    )

    receipt = answer.json()
    assert answer.status_code == 202, answer.text
    assert receipt["language"] == "fr"
    assert again.json() == {**receipt, "duplicate": True}
    async with app.context("inbox").require_sessions()() as session:
        message = await session.get(Message, uuid.UUID(receipt["message_id"]))
        attachment = await session.scalar(select(Attachment))
        events = (await session.scalars(select(OutboxEvent))).all()
    assert message is not None
    assert message.kind == "fax"
    assert message.text == OCR_FR
    assert message.language_evidence[0] == "ocr_text"
    assert attachment is not None
    assert attachment.filename == "facture.pdf"
    assert attachment.sha256 == hashlib.sha256(DOCUMENT).hexdigest()
    assert await app.context("inbox").extras["blobs"].get(attachment.sha256) == DOCUMENT
    assert [(e.type, e.payload["channel"]) for e in events] == [("conversation.needs_agent", "fax")]


async def test_a_json_fax_without_text_takes_the_senders_region(
    app: Running, gateway: dict[str, str]
) -> None:
    body = {
        "fax_id": "FX-2",
        "from": "418 555 0199",
        "document": base64.b64encode(DOCUMENT).decode(),
    }

    answer = await app.client.post("/inbox/v1/inbound/faxes", json=body, headers=gateway)

    assert answer.status_code == 202, answer.text
    assert answer.json()["language"] == "fr"
    contact = await app.client.get(
        f"/inbox/v1/contacts/{answer.json()['contact_id']}", headers=gateway
    )
    assert contact.status_code == 403


async def test_a_fax_received_at_a_time_without_an_offset_is_stored_as_utc(
    app: Running, gateway: dict[str, str]
) -> None:
    supervisor = {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}
    as_json = await app.client.post(
        "/inbox/v1/inbound/faxes",
        json={
            "fax_id": "FX-naive-1",
            "from": "+14165550188",
            "received_at": "2026-11-01T01:30:00",
            "document": base64.b64encode(DOCUMENT).decode(),
        },
        headers=gateway,
    )
    as_form = await app.client.post(
        "/inbox/v1/inbound/faxes",
        data={"fax_id": "FX-naive-2", "from": "+14165550188", "received_at": "2026-11-01T01:30"},
        files={"document": ("fax.pdf", DOCUMENT, "application/pdf")},
        headers=gateway,
    )

    for answer in (as_json, as_form):
        assert answer.status_code == 202, answer.text
        conversation = await app.client.get(
            f"/inbox/v1/conversations/{answer.json()['conversation_id']}", headers=supervisor
        )
        assert conversation.status_code == 200, conversation.text
        [message] = [
            m for m in conversation.json()["messages"] if m["id"] == answer.json()["message_id"]
        ]
        assert message["sent_at"] == "2026-11-01T01:30:00Z"


async def test_bad_faxes_are_refused_and_store_nothing(
    app: Running, gateway: dict[str, str]
) -> None:
    good = base64.b64encode(DOCUMENT).decode()
    answers = [
        await app.client.post("/inbox/v1/inbound/faxes", json=body, headers=gateway)
        for body in (
            {"fax_id": "FX-3", "from": "+14165550188", "document": "%%% not base64"},
            {"fax_id": "FX-3", "from": "nope", "document": good},
            {"fax_id": "FX-3", "from": "+14165550188"},
        )
    ]
    no_file = await app.client.post(
        "/inbox/v1/inbound/faxes",
        data={"fax_id": "FX-4", "from": "+14165550188"},
        files={"cover": ("cover.txt", b"no document here", "text/plain")},
        headers=gateway,
    )

    assert [a.status_code for a in answers] == [422, 422, 422]
    # The document's error says what is wrong with it, as the email webhook's raw does.
    assert [(e["field"], e["code"], e["reason"]) for e in answers[0].json()["errors"]] == [
        ("document", "base64_invalid", "Not valid base64.")
    ]
    assert no_file.status_code == 422
    async with app.context("inbox").require_sessions()() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0


async def test_a_fax_in_another_media_type_is_415_naming_what_the_fax_webhook_takes(
    app: Running, gateway: dict[str, str]
) -> None:
    answers = {
        language: await app.client.post(
            "/inbox/v1/inbound/faxes",
            content=f"fax_id=FX-{language}&from=%2B14165550188&document=JVBERi0x",
            headers={
                **gateway,
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept-Language": language,
            },
        )
        for language in ("en", "fr")
    }

    assert [answer.status_code for answer in answers.values()] == [415, 415]
    assert answers["en"].json()["code"] == "request.unsupported_media_type"
    assert answers["en"].json()["detail"] == (
        "Send the fax as multipart/form-data with the document as a file part named "
        "'document', or as JSON with the document base64-encoded in a 'document' field."
    )
    assert answers["fr"].json()["detail"] == (
        "Envoyez la télécopie en multipart/form-data avec le document dans une partie fichier "
        "nommée «\u202fdocument\u202f», ou en JSON avec le document encodé en base64 dans un "
        "champ «\u202fdocument\u202f»."
    )
    async with app.context("inbox").require_sessions()() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0
