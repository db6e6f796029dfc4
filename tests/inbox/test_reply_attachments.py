"""Files attached to replies: checked, stored content-addressed, shown, and sent by real SMTP."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.inbox.blobs import BlobStore
from services.inbox.models import Attachment, Message
from tests.inbox.test_outbound import drain_mail, start_conversation, supervisor
from tests.support.apps import Running
from tests.support.smtp import SmtpServer, running_with_smtp

FILE_LIMIT = 64 * 1024
MESSAGE_LIMIT = 100_000
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
async def mail_app(db_url: str, tmp_path: Path, smtp_server: SmtpServer) -> AsyncIterator[Running]:
    async with running_with_smtp(
        db_url,
        tmp_path,
        smtp_server,
        max_attachment_bytes=FILE_LIMIT,
        max_message_bytes=MESSAGE_LIMIT,
    ) as running:
        yield running


def parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


async def stored_counts(app: Running) -> tuple[int, int]:
    """(outgoing messages, attachment rows) in the database."""
    async with app.context("inbox").require_sessions()() as session:
        messages = await session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "outbound")
        )
        attachments = await session.scalar(select(func.count()).select_from(Attachment))
    return int(messages or 0), int(attachments or 0)


async def test_attachments_go_out_with_their_bytes_and_rfc_2231_names_and_are_shown(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await start_conversation(mail_app)
    headers = await supervisor(mail_app)
    notes = "Échéancier : 3 versements.\n".encode()

    answer = await mail_app.client.post(
        f"/inbox/v1/conversations/{receipt['conversation_id']}/replies",
        json={
            "text": "Bonjour Marie, voici votre facture corrigée.",
            "attachments": [
                {
                    "filename": "facture-été.pdf",
                    "content_type": "application/pdf",
                    # Line breaks as MIME writes base64 are accepted.
                    "content_base64": "\n".join(b64(PDF)[i : i + 40] for i in range(0, 80, 40)),
                },
                {"filename": "notes.txt", "content_base64": b64(notes)},
            ],
        },
        headers=headers,
    )
    await drain_mail(mail_app)

    assert answer.status_code == 201, answer.text
    [sent] = smtp_server.messages
    parsed = parse(sent.data)
    parts = list(parsed.iter_attachments())
    assert [
        (p.get_filename(), p.get_content_type(), p.get_payload(decode=True)) for p in parts
    ] == [
        ("facture-été.pdf", "application/pdf", PDF),
        ("notes.txt", "text/plain", notes),
    ]
    assert parts[1].get_content() == notes.decode()  # text files say they are UTF-8
    assert b"filename*=utf-8''facture-%C3%A9t%C3%A9.pdf" in sent.data
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    assert "voici votre facture corrigée" in body.get_content()
    shown = answer.json()["attachments"]
    assert [(a["filename"], a["content_type"], a["size"], a["stored"]) for a in shown] == [
        ("facture-été.pdf", "application/pdf", len(PDF), True),
        ("notes.txt", "text/plain", len(notes), True),
    ]
    assert shown[0]["sha256"] == hashlib.sha256(PDF).hexdigest()
    blobs = mail_app.context("inbox").extras["blobs"]
    assert isinstance(blobs, BlobStore)
    assert await blobs.get(shown[0]["sha256"]) == PDF
    conversation = await mail_app.client.get(
        f"/inbox/v1/conversations/{receipt['conversation_id']}", headers=headers
    )
    assert conversation.json()["messages"][-1]["attachments"] == shown


async def test_a_french_template_reply_carries_its_attachment(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await start_conversation(mail_app)

    answer = await mail_app.client.post(
        f"/inbox/v1/conversations/{receipt['conversation_id']}/replies",
        json={
            "template_key": "conversation.closing",
            "variables": {"agent_name": "Julie Gagnon"},
            "attachments": [{"filename": "reçu-final.pdf", "content_base64": b64(PDF)}],
        },
        headers=await supervisor(mail_app),
    )
    await drain_mail(mail_app)

    assert answer.status_code == 201, answer.text
    parsed = parse(smtp_server.messages[0].data)
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    assert "Merci de votre confiance et bonne journée\u202f!" in body.get_content()
    [part] = parsed.iter_attachments()
    assert (part.get_filename(), part.get_content_type()) == ("reçu-final.pdf", "application/pdf")
    assert part.get_content() == PDF


async def test_bad_attachments_are_refused_by_field_and_change_nothing(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await start_conversation(mail_app)
    headers = {**await supervisor(mail_app), "Accept-Language": "fr"}
    url = f"/inbox/v1/conversations/{receipt['conversation_id']}/replies"
    good = {"filename": "facture.pdf", "content_base64": b64(PDF)}
    cases: list[tuple[list[dict[str, Any]], int, str, str]] = [
        ([{**good, "content_base64": "pas du base64 !"}], 422, "reply.attachment_invalid",
         "attachments.0.content_base64"),
        ([good, {**good, "content_base64": b64(PDF)[:-2]}], 422, "reply.attachment_invalid",
         "attachments.1.content_base64"),
        ([{**good, "filename": "   "}], 422, "reply.attachment_invalid",
         "attachments.0.filename"),
        ([{**good, "filename": ""}], 422, "request.invalid", "attachments.0.filename"),
        ([{**good, "filename": "../../etc/passwd"}], 422, "reply.attachment_invalid",
         "attachments.0.filename"),
        ([{**good, "filename": "facture\u202efdp.exe"}], 422, "reply.attachment_invalid",
         "attachments.0.filename"),
        ([{**good, "filename": "mise-à-jour.EXE"}], 422, "reply.attachment_invalid",
         "attachments.0.filename"),
        ([{**good, "content_type": "pdf"}], 422, "request.invalid",
         "attachments.0.content_type"),
        ([good] * 11, 422, "request.invalid", "attachments"),
        ([{**good, "content_base64": b64(b"x" * (FILE_LIMIT + 1))}], 413,
         "reply.attachment_too_large", "attachments.0.content_base64"),
        ([{**good, "content_base64": b64(b"x" * FILE_LIMIT)}] * 2, 413, "message.too_large", ""),
    ]  # fmt: skip

    answers = [
        await mail_app.client.post(
            url, json={"text": "Bonjour.", "attachments": files}, headers=headers
        )
        for files, *_ in cases
    ]
    await drain_mail(mail_app)

    for answer, (_, status, code, field) in zip(answers, cases, strict=True):
        problem = answer.json()
        assert (answer.status_code, problem["code"]) == (status, code), problem
        if field:
            assert field in [error["field"] for error in problem["errors"]], problem
    invalid = answers[0].json()
    assert invalid["detail"] == (
        "Une pièce jointe ne peut pas être envoyée telle quelle\u202f; voyez errors. "
        "Rien n’a été envoyé."
    )
    assert invalid["errors"][0]["reason"] == "Base64 invalide."
    assert answers[6].json()["errors"][0]["reason"] == (
        "Les programmes et les scripts (.exe) ne sont pas envoyés par courriel."
    )
    assert answers[9].json()["detail"] == (
        # 64 KiB, grouped the French way (narrow no-break space).
        "La pièce jointe «\u202ffacture.pdf\u202f» dépasse la limite de 65\u202f536 octets"
        "\u202f; rien n’a été envoyé."
    )
    assert await stored_counts(mail_app) == (0, 0)
    assert smtp_server.messages == []


async def test_a_repeated_idempotency_key_returns_the_first_reply_and_its_files(
    mail_app: Running, smtp_server: SmtpServer
) -> None:
    receipt = await start_conversation(mail_app)
    headers = {**await supervisor(mail_app), "Idempotency-Key": "facture-42"}
    url = f"/inbox/v1/conversations/{receipt['conversation_id']}/replies"
    body = {
        "text": "Bonjour, voici la facture.",
        "attachments": [{"filename": "facture-été.pdf", "content_base64": b64(PDF)}],
    }

    first = await mail_app.client.post(url, json=body, headers=headers)
    again = await mail_app.client.post(url, json=body, headers=headers)
    await drain_mail(mail_app)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert [a["filename"] for a in again.json()["attachments"]] == ["facture-été.pdf"]
    assert await stored_counts(mail_app) == (1, 1)
    assert len(smtp_server.messages) == 1
