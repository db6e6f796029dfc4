"""A NUL character in a path, query or JSON value is 422 naming the field, and nothing is stored
(PostgreSQL cannot store it: before, such requests failed as 500s deep in a statement)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from services.inbox.models import CallEvent, Disposition, Message
from shared.auth import Role
from tests.inbox.builders import email
from tests.support.apps import Running

CALL = {"call_id": "CA1", "event": "ringing", "from": "+15145550101", "to": "+15145550199"}


async def headers(app: Running, role: Role = Role.ADMIN) -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(role)}", "Accept-Language": "fr"}


async def count(app: Running, model: Any) -> int:
    async with app.context("inbox").require_sessions()() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def fields(answer: Any) -> list[str]:
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["code"] == "request.invalid"
    assert {error["reason"] for error in problem["errors"]} == {
        "Ne doit pas contenir le caractère NUL."
    }
    return [error["field"] for error in problem["errors"]]


async def test_a_nul_in_a_json_value_is_refused_by_field_and_nothing_is_stored(
    app: Running,
) -> None:
    gateway = await headers(app, Role.GATEWAY)
    admin = await headers(app)
    before = await count(app, Disposition)

    call = await app.client.post(
        "/inbox/v1/inbound/calls", json={**CALL, "call_id": "CA\x001"}, headers=gateway
    )
    label = await app.client.put(
        "/inbox/v1/dispositions/wrong_number",
        json={"label_en": "Wrong number", "label_fr": "Mauvais\x00 numéro"},
        headers=admin,
    )
    nested = await app.client.post(
        "/routing/v1/queues",
        json={
            "name": "Courriel — VIP",
            "language": "fr",
            "channels": ["email"],
            "rules": [{"attributes": {"segment": "vip\x00"}}],
        },
        headers=admin,
    )

    assert fields(call) == ["call_id"]
    assert fields(label) == ["label_fr"]
    assert fields(nested) == ["rules.0.attributes.segment"]
    assert await count(app, Message) == 0
    assert await count(app, CallEvent) == 0
    assert await count(app, Disposition) == before
    queues = await app.client.get("/routing/v1/queues", headers=admin)
    assert "Courriel — VIP" not in {queue["name"] for queue in queues.json()}


async def test_a_nul_in_the_query_or_path_is_refused(app: Running) -> None:
    admin = await headers(app)

    search = await app.client.get("/inbox/v1/conversations?q=facture%00", headers=admin)
    path = await app.client.put(
        "/inbox/v1/dispositions/wrong%00number",
        json={"label_en": "Wrong number", "label_fr": "Mauvais numéro"},
        headers=admin,
    )

    assert fields(search) == ["q"]
    assert fields(path) == ["path"]


async def test_the_text_backslash_u0000_is_kept_as_written(app: Running) -> None:
    admin = await headers(app)
    # JSON "\\u0000": a backslash then the letters u0000, as someone may type them.
    body = b'{"label_en": "Code \\\\u0000", "label_fr": "Code \\\\u0000"}'

    stored = await app.client.put(
        "/inbox/v1/dispositions/literal_code",
        content=body,
        headers={**admin, "Content-Type": "application/json"},
    )
    gateway = await headers(app, Role.GATEWAY)
    call = await app.client.post("/inbox/v1/inbound/calls", json=CALL, headers=gateway)

    assert stored.status_code == 200, stored.text
    assert stored.json()["label_en"] == "Code \\u0000"
    assert call.status_code in (200, 202), call.text


async def test_a_nul_in_a_form_field_is_refused_and_nothing_is_stored(app: Running) -> None:
    gateway = await headers(app, Role.GATEWAY)
    fax = {"fax_id": "FX\x001", "from": "+14165550188", "to": "+18005550100", "pages": "1"}

    refused_fax = await app.client.post(
        "/inbox/v1/inbound/faxes",
        data=fax,
        files={"document": ("facture.pdf", b"%PDF-1.4 fax", "application/pdf")},
        headers=gateway,
    )
    refused_email = await app.client.post(
        "/inbox/v1/inbound/email",
        data={"to": "support\x00@centre.example"},
        files={"email": ("message.eml", email(), "message/rfc822")},
        headers=gateway,
    )

    assert fields(refused_fax) == ["fax_id"]
    assert fields(refused_email) == ["to"]
    assert await count(app, Message) == 0
