"""Emails whose parts say UTF-8 but carry Latin-1 / windows-1252 bytes read as the customer wrote
them, over HTTP: plain, quoted-printable, base64 and HTML bodies; files and the raw message are
kept byte for byte; real UTF-8 is untouched, and a stray byte in it spoils only that byte."""

from __future__ import annotations

import base64
import hashlib
import quopri
from typing import Any

from services.inbox.blobs import BlobStore
from shared.auth import Role
from tests.inbox.builders import raw_headers
from tests.support.apps import Running

#: What the customer typed, in a French mail program that writes windows-1252.
WRITTEN = "Bonjour, je n'arrive pas à me connecter… Pouvez-vous m'aider, s'il vous plaît ? Hélène"
LATIN = WRITTEN.encode("cp1252")
HEADER = (
    b"From: =?utf-8?q?H=C3=A9l=C3=A8ne?= Roy <helene.roy@exemple.ca>\r\n"
    b"To: service@centre.example\r\n"
    b"Subject: Probl\xe8me de connexion\r\n"
    b"Date: Fri, 20 Nov 2026 14:05:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
)


def message(message_id: str, content: bytes) -> bytes:
    """A raw email: our header block with this Message-ID, then the Content-* fields and body."""
    return HEADER + f"Message-ID: <{message_id}@exemple.ca>\r\n".encode() + content


def utf8_part(body: bytes, *, subtype: str = "plain", encoding: str = "8bit") -> bytes:
    """A part that says UTF-8 whatever its bytes are, in the given transfer encoding."""
    if encoding == "quoted-printable":
        body = quopri.encodestring(body)
    elif encoding == "base64":
        body = base64.encodebytes(body)
    return (
        f"Content-Type: text/{subtype}; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    ).encode() + body


async def receive(app: Running, raw: bytes) -> dict[str, Any]:
    """Post the email as a gateway; its message as a supervisor reads it, with its conversation's
    id."""
    answer = await app.client.post(
        "/inbox/v1/inbound/email", content=raw, headers=raw_headers(await app.token(Role.GATEWAY))
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "accepted"
    supervisor = {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}
    read = await app.client.get(
        f"/inbox/v1/conversations/{answer.json()['conversation_id']}", headers=supervisor
    )
    assert read.status_code == 200, read.text
    [stored] = [m for m in read.json()["messages"] if m["id"] == answer.json()["message_id"]]
    found: dict[str, Any] = {**stored, "conversation_id": read.json()["id"]}
    return found


async def test_a_latin1_body_said_utf8_reads_as_written_and_the_raw_is_kept(
    app: Running,
) -> None:
    raw = message("latin-8bit", utf8_part(LATIN))

    stored = await receive(app, raw)

    assert stored["subject"] == "Problème de connexion"
    assert stored["text"] == WRITTEN
    assert "\ufffd" not in stored["text"]
    assert stored["language"] == "fr"
    blobs = app.context("inbox").extras["blobs"]
    assert isinstance(blobs, BlobStore)
    assert await blobs.get(hashlib.sha256(raw).hexdigest()) == raw


async def test_quoted_printable_and_base64_latin1_bodies_said_utf8_read_as_written(
    app: Running,
) -> None:
    quoted = await receive(app, message("latin-qp", utf8_part(LATIN, encoding="quoted-printable")))
    encoded = await receive(app, message("latin-b64", utf8_part(LATIN, encoding="base64")))

    assert quoted["text"] == WRITTEN
    assert encoded["text"] == WRITTEN


async def test_an_html_part_said_utf8_in_latin1_reads_as_written(app: Running) -> None:
    page = b"<html><body><p>" + LATIN + b"</p></body></html>"
    raw = message(
        "latin-html",
        b'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n'
        + b"--alt\r\n"
        + utf8_part(LATIN, encoding="quoted-printable")
        + b"\r\n--alt\r\n"
        + utf8_part(page, subtype="html", encoding="quoted-printable")
        + b"\r\n--alt--\r\n",
    )

    stored = await receive(app, raw)

    assert stored["text"] == WRITTEN
    assert stored["html"] == f"<p>{WRITTEN}</p>"


async def test_an_html_only_email_said_utf8_in_latin1_reads_as_written(app: Running) -> None:
    page = b"<html><body><p>" + LATIN + b"</p></body></html>"

    stored = await receive(app, message("latin-html-only", utf8_part(page, subtype="html")))

    assert stored["text"] == WRITTEN
    assert stored["html"] == f"<p>{WRITTEN}</p>"


async def test_an_attached_text_file_said_utf8_is_kept_byte_for_byte(app: Running) -> None:
    raw = message(
        "latin-file",
        b'Content-Type: multipart/mixed; boundary="mix"\r\n\r\n'
        + b"--mix\r\n"
        + utf8_part(LATIN)
        + b"\r\n--mix\r\n"
        + b"Content-Type: text/plain; charset=utf-8\r\n"
        + b'Content-Disposition: attachment; filename="journal.txt"\r\n'
        + b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        + LATIN
        + b"\r\n--mix--\r\n",
    )

    stored = await receive(app, raw)
    [attachment] = stored["attachments"]
    supervisor = {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}
    got = await app.client.get(
        f"/inbox/v1/conversations/{stored['conversation_id']}/attachments/{attachment['id']}",
        headers=supervisor,
    )

    assert stored["text"] == WRITTEN
    assert got.status_code == 200, got.text
    assert got.content == LATIN


async def test_real_utf8_is_untouched_and_a_stray_byte_spoils_only_itself(
    app: Running,
) -> None:
    # Valid UTF-8 that windows-1252 would read otherwise (Ã© is what é looks like misread).
    sound = "Déjà payé deux fois ; « Ã© » n'est pas une lettre. Merci, Hélène".encode()
    # Mostly UTF-8, one byte broken (a stray 0xFF): the UTF-8 stands, that byte is U+FFFD.
    stray = "Déjà payé deux fois, merci à vous".encode().replace(b"deux", b"deux \xff")

    clean = await receive(app, message("utf8-sound", utf8_part(sound)))
    broken = await receive(app, message("utf8-stray", utf8_part(stray)))

    assert clean["text"] == sound.decode()
    assert broken["text"] == "Déjà payé deux \ufffd fois, merci à vous"
