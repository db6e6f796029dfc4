"""Inputs the PostgreSQL fuzzing run answered with a server error, now refused with a clear 4xx
that changes nothing: If-Match values that are not versions, a repaired quarantined email of
another type than message/rfc822, and template replies with figures too large to be real."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from services.inbox.models import Conversation, Message, Note, OutboxEvent, TimelineEntry
from shared.auth import Role
from shared.db import session_scope
from tests.inbox.builders import email
from tests.inbox.test_outbound import start_conversation
from tests.inbox.test_quarantine import junk, post
from tests.inbox.test_reply_templates import LETTER
from tests.support.apps import Running

AGENT = uuid.uuid4()
NNBSP = "\u202f"


async def assigned_conversation(app: Running) -> tuple[str, dict[str, str]]:
    """A conversation assigned to an agent, and that agent's headers."""
    receipt = await start_conversation(app)
    async with session_scope(app.context("inbox").require_sessions()) as session:
        row = await session.get(Conversation, uuid.UUID(receipt["conversation_id"]))
        assert row is not None
        row.assignee_agent_id = AGENT
        row.routing_status = "assigned"
    token = await app.token(Role.AGENT, agent_id=AGENT, name="Chloé")
    return receipt["conversation_id"], {"Authorization": f"Bearer {token}"}


def raw(headers: dict[str, str], if_match: bytes) -> dict[bytes, bytes]:
    """The headers with an If-Match sent as these exact bytes (a latin-1 byte included)."""
    return {**{k.encode(): v.encode() for k, v in headers.items()}, b"If-Match": if_match}


async def count(app: Running, model: type[Any], *where: Any) -> int:
    async with app.context("inbox").require_sessions()() as session:
        stmt = select(func.count()).select_from(model).where(*where)
        return int(await session.scalar(stmt) or 0)


async def conversation_row(app: Running, conversation_id: str) -> Conversation:
    async with app.context("inbox").require_sessions()() as session:
        row = await session.get(Conversation, uuid.UUID(conversation_id))
    assert row is not None
    return row


@pytest.mark.parametrize(
    "if_match",
    [
        pytest.param(b"\xb2", id="superscript two (latin-1 byte 0xB2)"),
        pytest.param(b'"\xb9"', id="quoted superscript one"),
        pytest.param(b'"99999999999999999999999999"', id="28 digits"),
        pytest.param(b"2147483648", id="past the version column"),
    ],
)
async def test_an_if_match_that_is_no_version_is_a_422_and_changes_nothing(
    app: Running, if_match: bytes
) -> None:
    conversation_id, agent = await assigned_conversation(app)
    url = f"/inbox/v1/conversations/{conversation_id}"
    before = await conversation_row(app, conversation_id)
    entries = await count(app, TimelineEntry)

    note = await app.client.post(f"{url}/notes", json={"body": "x"}, headers=raw(agent, if_match))
    resolved = await app.client.post(
        f"{url}/resolve", json={}, headers=raw({**agent, "Accept-Language": "fr"}, if_match)
    )

    for answer in (note, resolved):
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "request.invalid"
        assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [("If-Match", "etag")]
    assert note.json()["errors"][0]["reason"] == 'Must be the ETag of a read (such as "7") or *.'
    assert resolved.json()["errors"][0]["reason"] == (
        'Doit être l’ETag d’une lecture (par exemple "7") ou *.'
    )
    after = await conversation_row(app, conversation_id)
    assert (after.status, after.version) == (before.status, before.version)
    assert await count(app, Note) == 0
    assert await count(app, TimelineEntry) == entries


async def test_the_largest_version_is_still_read_and_answered_409(app: Running) -> None:
    conversation_id, agent = await assigned_conversation(app)

    answer = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/notes",
        json={"body": "x"},
        headers={**agent, "If-Match": '"2147483647"', "Accept-Language": "fr"},
    )

    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "conversation.changed"
    assert "version 2\u202f147\u202f483\u202f647" in answer.json()["detail"]
    assert await count(app, Note) == 0


async def release(app: Running, message_id: str, body: bytes, content_type: str) -> Any:
    token = await app.token(Role.SUPERVISOR)
    return await app.client.post(
        f"/inbox/v1/quarantine/{message_id}/release",
        content=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": content_type,
            "Accept-Language": "fr" if content_type == "text/plain" else "en",
        },
    )


async def test_a_repaired_copy_of_another_type_than_rfc822_is_415_and_changes_nothing(
    app: Running,
) -> None:
    receipt = await post(app, junk(21))
    repaired = email(subject="Colis endommagé")
    messages = await count(app, Message)

    answers = {
        kind: await release(app, receipt["message_id"], body, kind)
        for kind, body in (
            ("text/plain", repaired),
            ("application/octet-stream", repaired),
            ("text/plain; charset=utf-8", b"not an email at all"),
            ("image/png", b"\x89PNG\r\n\x1a\n"),
        )
    }

    assert {kind: a.status_code for kind, a in answers.items()} == dict.fromkeys(answers, 415)
    assert {a.json()["code"] for a in answers.values()} == {"request.unsupported_media_type"}
    assert answers["text/plain"].json()["title"] == "Type de contenu non pris en charge"
    assert answers["text/plain"].json()["detail"] == (
        "Envoyez le courriel réparé en message/rfc822, ou aucun contenu pour utiliser celui qui "
        "est conservé."
    )
    assert answers["image/png"].json()["detail"] == (
        "Send the repaired email as message/rfc822, or no body to use the stored one."
    )
    async with app.context("inbox").require_sessions()() as session:
        row = await session.get(Message, uuid.UUID(receipt["message_id"]))
    assert row is not None
    assert row.status == "quarantined"
    assert await count(app, Message) == messages
    assert await count(app, Conversation) == 0

    released = await release(app, receipt["message_id"], repaired, "message/rfc822")
    assert released.status_code == 200, released.text
    assert released.json()["state"] == "released"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("total_amount", 1e308),
        ("installment_amount", int("9" * 400)),
        ("installment_count", 1e308),
    ],
)
async def test_a_template_reply_with_a_figure_too_large_is_a_422_and_nothing_is_queued(
    app: Running, name: str, value: object
) -> None:
    conversation_id, agent = await assigned_conversation(app)
    outbox = await count(app, OutboxEvent)

    answer = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/replies",
        json={"template_key": "letter.payment_arrangement", "variables": {**LETTER, name: value}},
        headers=agent,
    )

    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "reply.template_variables"
    assert [e["field"] for e in answer.json()["errors"]] == [f"variables.{name}"]
    assert await count(app, Message, Message.direction == "outbound") == 0
    assert await count(app, OutboxEvent) == outbox
