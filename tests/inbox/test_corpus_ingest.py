"""Every message of the shared corpus through the HTTP endpoint: no 5xx, facts kept, once only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from services.inbox.ingest.mime import normalize_message_id, parse_email
from services.inbox.models import Attachment, Message
from shared.auth import Role
from tests.inbox.builders import raw_headers
from tests.inbox.test_mime import CORPUS, DISAGREEMENTS, INDEX, UNPARSEABLE
from tests.support.apps import Running


async def ingest_all(app: Running, token: str) -> dict[str, dict[str, Any]]:
    receipts: dict[str, dict[str, Any]] = {}
    for row in INDEX:
        raw = (CORPUS / str(row["path"])).read_bytes()
        answer = await app.client.post(
            "/inbox/v1/inbound/email", content=raw, headers=raw_headers(token)
        )
        assert answer.status_code == 202, (row["path"], answer.status_code, answer.text[:300])
        receipts[str(row["path"])] = answer.json()
    return receipts


async def stored_messages(app: Running) -> dict[str, Message]:
    async with app.context("inbox").require_sessions()() as session:
        rows = (await session.scalars(select(Message))).all()
    return {str(row.id): row for row in rows}


async def test_the_whole_corpus_is_ingested_once_with_its_facts(app: Running) -> None:
    token = await app.token(Role.GATEWAY)

    first = await ingest_all(app, token)
    messages = await stored_messages(app)
    second = await ingest_all(app, token)

    seen: set[tuple[str, str, str]] = set()
    # Each email kept, by what makes another message a copy of it: a copy sent to another of
    # our addresses (the corpus holds a few such variants) joins its conversation only once.
    kept: dict[tuple[str | None, ...], str] = {}
    for row in INDEX:
        path = str(row["path"])
        receipt = first[path]
        stored = messages[receipt["message_id"]]
        message_id = normalize_message_id(row["message_id"])
        if path in UNPARSEABLE:
            assert receipt["status"] == "quarantined", path
            continue
        parsed = parse_email((CORPUS / path).read_bytes())
        # The dedupe key: its Message-ID per inbox address and sender, else its own bytes.
        sender = (parsed.from_address or "").lower() if message_id else ""
        key = (message_id or path, parsed.to[0] if parsed.to else "", sender)
        copy = (message_id, parsed.from_address, parsed.subject, parsed.text)
        if receipt["duplicate"] and key not in seen:
            assert kept.get(copy) == receipt["message_id"], path
            continue
        assert receipt["duplicate"] is (key in seen), path
        if receipt["duplicate"]:
            continue
        seen.add(key)
        kept.setdefault(copy, receipt["message_id"])
        assert stored.message_id_header == message_id, path
        assert (receipt["status"] == "auto_reply") == bool(stored.auto_reply_signals), path
        if row["auto_reply"]:
            assert receipt["status"] == "auto_reply", path
        if row["has_attachments"] and (path, "has_attachments") not in DISAGREEMENTS:
            async with app.context("inbox").require_sessions()() as session:
                count = await session.scalar(
                    select(func.count())
                    .select_from(Attachment)
                    .where(Attachment.message_id == stored.id)
                )
            assert count, path
    assert all(receipt["duplicate"] for receipt in second.values())
    assert {path: r["message_id"] for path, r in second.items()} == {
        path: r["message_id"] for path, r in first.items()
    }
    assert len(await stored_messages(app)) == len(messages)
