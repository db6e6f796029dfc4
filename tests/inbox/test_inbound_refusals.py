"""The inbound webhooks refuse what is no email or no fax document, over HTTP: an empty email is
422 and a fax document that is neither PDF nor TIFF (by its bytes) is 415, in English and French,
and nothing is stored; the PDFs and TIFFs fax gateways send are still taken."""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Any

import pytest
from sqlalchemy import func, select

from services.inbox.blobs import BlobStore
from services.inbox.models import Message
from shared.auth import Role
from tests.inbox.builders import email
from tests.support.apps import Running

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"This program cannot be run"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(20)
ZIP = b"PK\x03\x04\x14\x00\x00\x00" + bytes(30)
SENDER = "+14165550188"


def tiff(order: bytes, pages: int) -> bytes:
    """A real multi-page bilevel TIFF, 8 by 1 pixels a page, in byte order II or MM, as fax
    servers write them."""
    endian = "<" if order == b"II" else ">"
    out = bytearray(order + struct.pack(f"{endian}HI", 42, 8))
    for page in range(pages):
        strip = len(out) + 2 + 8 * 12 + 4
        # Width, length, bits per sample, no compression, white is zero, the strip's offset,
        # rows per strip, the strip's size: in tag order, SHORTs (3) and LONGs (4).
        fields = [(256, 3, 8), (257, 3, 1), (258, 3, 1), (259, 3, 1), (262, 3, 0)]
        fields += [(273, 4, strip), (278, 3, 1), (279, 4, 1)]
        out += struct.pack(f"{endian}H", len(fields))
        for tag, kind, value in fields:
            packed = f"{endian}HH" if kind == 3 else f"{endian}I"
            out += struct.pack(f"{endian}HHI", tag, kind, 1)
            out += struct.pack(packed, value, 0) if kind == 3 else struct.pack(packed, value)
        out += struct.pack(f"{endian}I", strip + 2 if page < pages - 1 else 0)
        out += b"\xaa\x00"  # the page's one row, and a pad byte: the next IFD starts on a word
    return bytes(out)


@pytest.fixture
async def gateway(app: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(Role.GATEWAY, name='passerelle')}"}


@pytest.fixture
async def supervisor(app: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}


async def stored_messages(app: Running) -> int:
    async with app.context("inbox").require_sessions()() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def nothing_stored(app: Running, supervisor: dict[str, str]) -> None:
    """No quarantined email, no conversation, no message of any kind."""
    quarantine = await app.client.get("/inbox/v1/quarantine", headers=supervisor)
    conversations = await app.client.get("/inbox/v1/conversations", headers=supervisor)
    assert quarantine.status_code == conversations.status_code == 200
    assert quarantine.json()["items"] == []
    assert conversations.json()["items"] == []
    assert await stored_messages(app) == 0


EMPTY_EN = {
    "title": "Empty email",
    "detail": "There is no email to store: the message is empty (no bytes, or only spaces and "
    "line breaks). Nothing was stored.",
    "reason": "Must hold the raw email: it is empty, or only spaces and line breaks.",
}
EMPTY_FR = {
    "title": "Courriel vide",
    "detail": "Il n’y a aucun courriel à enregistrer\u202f: le message est vide (aucun octet, "
    "ou seulement des espaces et des sauts de ligne). Rien n’a été enregistré.",
    "reason": "Doit contenir le courriel brut\u202f: il est vide, ou ne contient que des "
    "espaces et des sauts de ligne.",
}


@pytest.mark.parametrize(
    ("body", "field", "language"),
    [
        ({"content": b"", "headers": {"Content-Type": "message/rfc822"}}, "body", "en"),
        ({"content": b"\r\n \r\n", "headers": {"Content-Type": "message/rfc822"}}, "body", "fr"),
        ({"json": {"raw": base64.b64encode(b"\r\n\r\n").decode()}}, "raw", "fr"),
        ({"files": {"email": ("message.eml", b"", "message/rfc822")}}, "email", "en"),
        ({"files": {"email": (None, b""), "to": (None, b"service@centre.example")}}, "email", "fr"),
    ],
    ids=["raw-empty", "raw-blank-lines", "json-blank", "form-empty-file", "form-empty-field"],
)
async def test_an_empty_email_is_refused_by_name_and_nothing_is_stored(
    app: Running,
    gateway: dict[str, str],
    supervisor: dict[str, str],
    body: dict[str, Any],
    field: str,
    language: str,
) -> None:
    headers = {**gateway, **body.pop("headers", {}), "Accept-Language": language}

    answer = await app.client.post("/inbox/v1/inbound/email", headers=headers, **body)

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    texts = EMPTY_EN if language == "en" else EMPTY_FR
    assert problem["code"] == "email.empty"
    assert (problem["title"], problem["detail"]) == (texts["title"], texts["detail"])
    assert problem["errors"] == [{"field": field, "code": "empty", "reason": texts["reason"]}]
    await nothing_stored(app, supervisor)


async def test_an_empty_json_raw_is_refused_as_before_and_nothing_is_stored(
    app: Running, gateway: dict[str, str], supervisor: dict[str, str]
) -> None:
    answer = await app.client.post(
        "/inbox/v1/inbound/email", json={"raw": ""}, headers={**gateway, "Accept-Language": "fr"}
    )

    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert (error["field"], error["reason"]) == ("raw", "Ne doit pas être vide.")
    await nothing_stored(app, supervisor)


async def test_an_email_with_a_body_still_goes_through(
    app: Running, gateway: dict[str, str]
) -> None:
    answer = await app.client.post(
        "/inbox/v1/inbound/email",
        content=b"\r\n" + email(),
        headers={**gateway, "Content-Type": "message/rfc822"},
    )

    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "accepted"


DOCUMENT_EN = {
    "title": "Not a PDF or TIFF document",
    "detail": "A fax's document must be a PDF or a TIFF file, as its first bytes show, whatever "
    "type it is declared as; this one is neither. Nothing was stored.",
    "reason": "Must be a PDF or a TIFF file.",
}
DOCUMENT_FR = {
    "title": "Document ni PDF ni TIFF",
    "detail": "Le document d’une télécopie doit être un fichier PDF ou TIFF, d’après ses "
    "premiers octets, quel que soit le type déclaré\u202f; celui-ci n’est ni l’un ni l’autre. "
    "Rien n’a été enregistré.",
    "reason": "Doit être un fichier PDF ou TIFF.",
}


def as_form(fax_id: str, name: str, data: bytes, declared: str) -> dict[str, Any]:
    return {
        "data": {"fax_id": fax_id, "from": SENDER, "pages": "1"},
        "files": {"document": (name, data, declared)},
    }


def as_json(fax_id: str, data: bytes, declared: str | None, name: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"fax_id": fax_id, "from": SENDER}
    body["document"] = base64.b64encode(data).decode()
    if declared is not None:
        body["content_type"] = declared
    if name is not None:
        body["filename"] = name
    return {"json": body}


@pytest.mark.parametrize(
    ("body", "document", "language"),
    [
        (as_form("FX-EXE", "x.exe", EXE, "application/x-msdownload"), EXE, "en"),
        (as_json("FX-EXE", EXE, "application/pdf", "facture.pdf"), EXE, "fr"),
        (as_form("FX-EXE", "page.tif", PNG, "image/tiff"), PNG, "fr"),
        (as_json("FX-EXE", ZIP, None, None), ZIP, "en"),
    ],
    ids=["form-exe", "json-exe-said-pdf", "form-png-said-tiff", "json-zip-undeclared"],
)
async def test_a_fax_document_neither_pdf_nor_tiff_is_refused_and_nothing_is_stored(
    app: Running,
    gateway: dict[str, str],
    supervisor: dict[str, str],
    body: dict[str, Any],
    document: bytes,
    language: str,
) -> None:
    answer = await app.client.post(
        "/inbox/v1/inbound/faxes", headers={**gateway, "Accept-Language": language}, **body
    )

    assert answer.status_code == 415, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    texts = DOCUMENT_EN if language == "en" else DOCUMENT_FR
    assert problem["code"] == "fax.document_type"
    assert (problem["title"], problem["detail"]) == (texts["title"], texts["detail"])
    assert problem["errors"] == [
        {"field": "document", "code": "not_pdf_or_tiff", "reason": texts["reason"]}
    ]
    await nothing_stored(app, supervisor)
    blobs = app.context("inbox").extras["blobs"]
    assert isinstance(blobs, BlobStore)
    assert not blobs.path_for(hashlib.sha256(document).hexdigest()).exists()
    # The fax id was not taken: the gateway's retry with the real document is a new fax.
    retry = await app.client.post(
        "/inbox/v1/inbound/faxes",
        headers=gateway,
        **as_form("FX-EXE", "fax.pdf", PDF, "application/pdf"),
    )
    assert retry.status_code == 202, retry.text
    assert retry.json()["duplicate"] is False


async def fax_document(
    app: Running, gateway: dict[str, str], supervisor: dict[str, str], body: dict[str, Any]
) -> tuple[dict[str, Any], bytes]:
    """Post the fax; its document as the conversation shows it, and the downloaded bytes."""
    answer = await app.client.post("/inbox/v1/inbound/faxes", headers=gateway, **body)
    assert answer.status_code == 202, answer.text
    conversation_id = answer.json()["conversation_id"]
    read = await app.client.get(f"/inbox/v1/conversations/{conversation_id}", headers=supervisor)
    [message] = [m for m in read.json()["messages"] if m["id"] == answer.json()["message_id"]]
    [document] = message["attachments"]
    assert message["fax"]["document_id"] == document["id"]
    got = await app.client.get(
        f"/inbox/v1/conversations/{conversation_id}/attachments/{document['id']}",
        headers=supervisor,
    )
    assert got.status_code == 200, got.text
    found: dict[str, Any] = document
    return found, got.content


@pytest.mark.parametrize(
    ("body", "sent", "kept_as"),
    [
        (as_form("FX-P1", "fax.pdf", PDF, "application/pdf"), PDF, ("fax.pdf", "application/pdf")),
        (
            as_form("FX-T1", "fax.tif", tiff(b"II", 3), "image/tiff"),
            tiff(b"II", 3),
            ("fax.tif", "image/tiff"),
        ),
        (
            as_json("FX-T2", tiff(b"MM", 2), "image/tiff", None),
            tiff(b"MM", 2),
            ("fax-FX-T2.tif", "image/tiff"),
        ),
        (as_json("FX-P2", PDF, None, None), PDF, ("fax-FX-P2.pdf", "application/pdf")),
        # Gateways that say octet-stream, or the wrong one of the two: the bytes tell.
        (
            as_form("FX-P3", "fax.pdf", PDF, "application/octet-stream"),
            PDF,
            ("fax.pdf", "application/pdf"),
        ),
        (
            as_json("FX-T3", tiff(b"II", 1), "application/pdf", None),
            tiff(b"II", 1),
            ("fax-FX-T3.tif", "image/tiff"),
        ),
        # PDF readers find the header within the first 1024 bytes.
        (
            as_json("FX-P4", b"\r\n" + PDF, None, "f.pdf"),
            b"\r\n" + PDF,
            ("f.pdf", "application/pdf"),
        ),
    ],
    ids=[
        "form-pdf",
        "form-tiff-le-3-pages",
        "json-tiff-be-2-pages",
        "json-pdf-undeclared",
        "form-pdf-said-octet-stream",
        "json-tiff-said-pdf",
        "json-pdf-after-a-blank-line",
    ],
)
async def test_pdf_and_tiff_faxes_are_kept_with_the_type_their_bytes_show(
    app: Running,
    gateway: dict[str, str],
    supervisor: dict[str, str],
    body: dict[str, Any],
    sent: bytes,
    kept_as: tuple[str, str],
) -> None:
    document, downloaded = await fax_document(app, gateway, supervisor, body)

    assert (document["filename"], document["content_type"]) == kept_as
    assert downloaded == sent


async def test_a_fax_with_only_its_ocr_text_is_still_refused(
    app: Running, gateway: dict[str, str], supervisor: dict[str, str]
) -> None:
    answer = await app.client.post(
        "/inbox/v1/inbound/faxes",
        json={"fax_id": "FX-OCR", "from": SENDER, "ocr_text": "Bonjour, voici ma facture."},
        headers=gateway,
    )

    assert answer.status_code == 422
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [("document", "missing")]
    await nothing_stored(app, supervisor)
