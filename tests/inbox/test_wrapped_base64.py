"""Base64 as MIME writes it, in lines of 76 characters, is taken in a gateway's JSON (an email's
`raw`, a fax's `document`) and stored byte for byte; what is not base64 is still refused."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from shared.auth import Role
from tests.inbox.builders import email
from tests.support.apps import Running

#: A fax document long enough for several base64 lines.
DOCUMENT = b"%PDF-1.4\n" + b"% page of a fax, written out at length\n" * 12 + b"%%EOF\n"


@pytest.fixture
async def gateway(app: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(Role.GATEWAY, name='passerelle')}"}


@pytest.fixture
async def reader(app: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}


def wrapped(data: bytes) -> str:
    """base64 in lines of 76 characters, CRLF between them (base64.encodebytes uses LF)."""
    return base64.encodebytes(data).decode().replace("\n", "\r\n")


async def conversation(app: Running, receipt: dict[str, Any], reader: dict[str, str]) -> Any:
    answer = await app.client.get(
        f"/inbox/v1/conversations/{receipt['conversation_id']}", headers=reader
    )
    assert answer.status_code == 200
    return answer.json()


async def test_an_email_in_wrapped_base64_is_stored(
    app: Running, gateway: dict[str, str], reader: dict[str, str]
) -> None:
    raw = email(subject="Facture erronée", message_id="<wrapped-1@exemple.ca>")
    assert len(wrapped(raw).splitlines()) > 2

    answer = await app.client.post(
        "/inbox/v1/inbound/email", json={"raw": wrapped(raw)}, headers=gateway
    )
    again = await app.client.post(
        "/inbox/v1/inbound/email", json={"raw": base64.b64encode(raw).decode()}, headers=gateway
    )

    assert answer.status_code == 202, answer.text
    assert (await conversation(app, answer.json(), reader))["subject"] == "Facture erronée"
    assert again.json()["duplicate"] is True
    assert again.json()["message_id"] == answer.json()["message_id"]


async def test_a_fax_document_in_wrapped_base64_is_stored_whole(
    app: Running, gateway: dict[str, str], reader: dict[str, str]
) -> None:
    body = {"fax_id": "FX-W1", "from": "+14185550199", "document": wrapped(DOCUMENT)}

    answer = await app.client.post("/inbox/v1/inbound/faxes", json=body, headers=gateway)

    assert answer.status_code == 202, answer.text
    [message] = (await conversation(app, answer.json(), reader))["messages"]
    [attachment] = message["attachments"]
    assert attachment["sha256"] == hashlib.sha256(DOCUMENT).hexdigest()


async def test_what_is_not_base64_is_still_refused_and_stores_nothing(
    app: Running, gateway: dict[str, str], reader: dict[str, str]
) -> None:
    refused = await app.client.post(
        "/inbox/v1/inbound/email",
        json={"raw": "RnJvbTog\r\nbWFyaWU*"},
        headers={**gateway, "Accept-Language": "fr"},
    )
    listed = await app.client.get("/inbox/v1/conversations", headers=reader)

    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["raw"]
    assert listed.json()["items"] == []
