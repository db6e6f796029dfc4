"""An email's attachments and a fax's document, downloaded by whoever may read the conversation."""

from __future__ import annotations

import email.policy
import uuid
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from services.inbox.blobs import BlobStore
from shared.auth import Role
from tests.inbox.builders import raw_headers
from tests.routing.scenario import admin, create_agent
from tests.support.apps import Running, running_all_in_one

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PAGE = b"<html><body><script>alert('hi')</script><p>Bonjour</p></body></html>"
BIG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # over the limit below
LIMIT = 4_096


@pytest.fixture
async def app(db_url: str, tmp_path: Path) -> AsyncIterator[Running]:
    async with running_all_in_one(db_url, tmp_path / "data", max_attachment_bytes=LIMIT) as running:
        yield running


def with_files(
    *files: tuple[str, bytes, str], sender: str = "Élise Gagnon <elise.gagnon@exemple.ca>"
) -> bytes:
    """A French customer's email carrying these (filename, bytes, type) files."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "service@centre.example"
    message["Subject"] = "Facture et photo"
    message.set_content("Bonjour, voici ma facture et une photo du compteur. Merci, Élise")
    for filename, data, content_type in files:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes(policy=email.policy.default.clone(linesep="\r\n"))


async def receive(app: Running, raw: bytes) -> dict[str, Any]:
    """Post the email; the conversation as a supervisor reads it."""
    answer = await app.client.post(
        "/inbox/v1/inbound/email", content=raw, headers=raw_headers(await app.token(Role.GATEWAY))
    )
    assert answer.status_code == 202, answer.text
    conversation_id = answer.json()["conversation_id"]
    read = await app.client.get(
        f"/inbox/v1/conversations/{conversation_id}", headers=await lead(app)
    )
    conversation: dict[str, Any] = read.json()
    return conversation


async def lead(app: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}", "Accept-Language": "fr"}


def files_of(conversation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        item["filename"]: item
        for message in conversation["messages"]
        for item in message["attachments"]
    }


async def download(
    app: Running, conversation_id: str, attachment_id: str, headers: dict[str, str]
) -> Any:
    return await app.client.get(
        f"/inbox/v1/conversations/{conversation_id}/attachments/{attachment_id}", headers=headers
    )


async def test_a_file_downloads_as_it_arrived_with_its_type_and_accented_name(
    app: Running,
) -> None:
    conversation = await receive(
        app,
        with_files(("facture_été.pdf", PDF, "application/pdf"), ("page.html", PAGE, "text/html")),
    )
    files = files_of(conversation)
    headers = await lead(app)

    pdf = await download(app, conversation["id"], files["facture_été.pdf"]["id"], headers)
    page = await download(app, conversation["id"], files["page.html"]["id"], headers)

    assert pdf.status_code == 200, pdf.text
    assert pdf.content == PDF
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == (
        "attachment; filename*=utf-8''facture_%C3%A9t%C3%A9.pdf"
    )
    assert pdf.headers["content-length"] == str(len(PDF))
    assert pdf.headers["cache-control"] == "no-store"
    # A page sent by a customer is never shown in place: downloaded, sandboxed, not sniffed.
    assert page.status_code == 200
    assert page.content == PAGE
    assert page.headers["content-disposition"] == 'attachment; filename="page.html"'
    assert page.headers["content-security-policy"] == "sandbox"
    assert page.headers["x-content-type-options"] == "nosniff"


async def test_a_fax_document_downloads(app: Running) -> None:
    answer = await app.client.post(
        "/inbox/v1/inbound/faxes",
        data={"fax_id": "FX-9", "from": "+14165550188", "to": "+18005550100", "pages": "1"},
        files={"document": ("télécopie.pdf", PDF, "application/pdf")},
        headers={"Authorization": f"Bearer {await app.token(Role.GATEWAY)}"},
    )
    assert answer.status_code == 202, answer.text
    conversation_id = answer.json()["conversation_id"]
    read = await app.client.get(
        f"/inbox/v1/conversations/{conversation_id}", headers=await lead(app)
    )
    (document,) = files_of(read.json()).values()

    got = await download(app, conversation_id, document["id"], await lead(app))

    assert got.status_code == 200
    assert got.content == PDF


async def test_a_file_over_the_limit_was_not_kept_and_says_so_in_french(app: Running) -> None:
    conversation = await receive(app, with_files(("compteur.png", BIG, "image/png")))
    shown = files_of(conversation)["compteur.png"]

    got = await download(app, conversation["id"], shown["id"], await lead(app))

    assert shown["stored"] is False
    assert got.status_code == 410
    problem = got.json()
    assert problem["code"] == "attachment.not_kept"
    assert problem["title"] == "Pièce jointe non conservée"
    assert "octets)\u202f:" in problem["detail"]


async def test_unknown_or_foreign_files_and_unreadable_conversations_are_not_found(
    app: Running,
) -> None:
    ours = await receive(app, with_files(("facture.pdf", PDF, "application/pdf")))
    theirs = await receive(
        app,
        with_files(("autre.pdf", PDF + b"%2", "application/pdf"), sender="luc@exemple.ca"),
    )
    assert theirs["id"] != ours["id"]
    headers = await lead(app)
    other_file = files_of(theirs)["autre.pdf"]["id"]
    our_file = files_of(ours)["facture.pdf"]["id"]
    # An English-only agent may not take this French conversation: for it, it does not exist.
    agent = await create_agent(
        app, await admin(app), name="John", languages={"en": 5}, status="offline"
    )
    as_agent = {
        "Authorization": f"Bearer {await app.token(Role.AGENT, agent_id=uuid.UUID(agent['id']))}"
    }

    unknown = await download(app, ours["id"], str(uuid.uuid4()), headers)
    foreign = await download(app, ours["id"], other_file, headers)
    hidden = await download(app, ours["id"], our_file, as_agent)
    anonymous = await app.client.get(f"/inbox/v1/conversations/{ours['id']}/attachments/{our_file}")
    gateway = await download(
        app, ours["id"], our_file, {"Authorization": f"Bearer {await app.token(Role.GATEWAY)}"}
    )
    malformed = await download(app, ours["id"], "not-an-id", headers)

    assert unknown.status_code == 404
    assert unknown.json()["code"] == "attachment.not_found"
    assert unknown.json()["title"] == "Pièce jointe introuvable"
    assert foreign.status_code == 404
    assert foreign.json()["code"] == "attachment.not_found"
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "conversation.not_found"
    assert anonymous.status_code == 401
    assert gateway.status_code == 403
    assert malformed.status_code == 422


async def test_files_that_cannot_be_read_answer_503_with_retry_after(
    app: Running, tmp_path: Path
) -> None:
    conversation = await receive(app, with_files(("facture.pdf", PDF, "application/pdf")))
    shown = files_of(conversation)["facture.pdf"]
    blobs = app.context("inbox").extras["blobs"]
    assert isinstance(blobs, BlobStore)
    blobs.path_for(shown["sha256"]).unlink()

    got = await download(app, conversation["id"], shown["id"], await lead(app))
    again = await app.client.get(
        f"/inbox/v1/conversations/{conversation['id']}", headers=await lead(app)
    )

    assert got.status_code == 503
    assert got.headers["retry-after"] == "30"
    assert got.json()["code"] == "files.unavailable"
    # The conversation itself still reads, its file listed as before.
    assert files_of(again.json())["facture.pdf"] == shown
