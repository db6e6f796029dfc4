"""Supervisors release quarantined emails into the inbox (as stored or repaired) or dismiss
them; either way the email as it arrived is kept and the gateway's receipt stays true."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from services.inbox.blobs import BlobStore
from services.inbox.ingest import service as ingest
from services.inbox.models import Conversation, Message, OutboxEvent
from services.routing.models import ProcessedEvent
from shared.auth import Role
from shared.clients.translation import TranslationClient
from shared.db import session_scope, utc_now
from tests.inbox.builders import email
from tests.inbox.test_quarantine import junk, post
from tests.shared.test_metrics import scrape, value
from tests.support.apps import Running, running_all_in_one
from tests.support.processes import free_port

ENGLISH = (
    "Hello,\n\nMy parcel arrived damaged and the box was open. I would like a refund or a "
    "replacement as soon as possible.\n\nThank you,\nJohn"
)


async def lead(app: Running, *, language: str = "en") -> dict[str, str]:
    token = await app.token(Role.SUPERVISOR, name="Chantal (supervisor)")
    return {"Authorization": f"Bearer {token}", "Accept-Language": language}


async def release(
    app: Running, message_id: str, repaired: bytes | None = None, *, language: str = "en"
) -> Any:
    headers = await lead(app, language=language)
    if repaired is not None:
        headers["Content-Type"] = "message/rfc822"
    return await app.client.post(
        f"/inbox/v1/quarantine/{message_id}/release", content=repaired or b"", headers=headers
    )


async def count(app: Running, model: type[Message] | type[Conversation] | type[OutboxEvent]) -> int:
    async with app.context("inbox").require_sessions()() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def listed(app: Running, state: str = "quarantined") -> list[str]:
    page = await app.client.get(
        "/inbox/v1/quarantine", params={"state": state}, headers=await lead(app)
    )
    assert page.status_code == 200, page.text
    return [item["id"] for item in page.json()["items"]]


async def state_of(app: Running, message_id: str) -> tuple[str, dict[str, Any]]:
    async with app.context("inbox").require_sessions()() as session:
        row = await session.get(Message, uuid.UUID(message_id))
        assert row is not None
        return row.status, dict(row.details)


async def test_a_repaired_copy_is_released_threaded_and_routed(app: Running) -> None:
    broken = junk(1)
    receipt = await post(app, broken)
    repaired = email(subject="Colis endommagé — remboursement")

    answer = await release(app, receipt["message_id"], repaired)

    assert answer.status_code == 200, answer.text
    released = answer.json()
    assert released["state"] == "released"
    assert released["repaired"] is True
    assert released["duplicate"] is False
    assert released["handled_by"] == "Chantal (supervisor)"
    assert released["handled_at"] is not None
    conversation = await app.client.get(
        f"/inbox/v1/conversations/{released['conversation_id']}", headers=await lead(app)
    )
    assert conversation.status_code == 200, conversation.text
    thread = conversation.json()
    assert thread["subject"] == "Colis endommagé — remboursement"
    assert thread["routing_status"] == "needs_agent"
    assert thread["language"] == "fr"
    [message] = thread["messages"]
    assert message["id"] == released["released_as"]
    assert "facture deux fois" in message["text"]
    assert thread["contact"]["display_name"] == "Marie Tremblay"
    timeline = await app.client.get(
        f"/inbox/v1/conversations/{released['conversation_id']}/timeline",
        headers=await lead(app),
    )
    [entry] = [e for e in timeline.json() if e["kind"] == "released_from_quarantine"]
    assert (entry["actor_role"], entry["actor_name"]) == ("supervisor", "Chantal (supervisor)")
    assert entry["data"]["quarantined_email_id"] == receipt["message_id"]
    assert entry["data"]["repaired"] is True

    # Routing is asked for an agent through the outbox, like any new email.
    await app.deliver_all()
    async with app.context("routing").require_sessions()() as session:
        processed = (await session.scalars(select(ProcessedEvent))).all()
    assert [event.type for event in processed] == ["conversation.needs_agent"]

    # It left the list; the email as it arrived is kept and still downloadable.
    assert await listed(app) == []
    assert await listed(app, "released") == [receipt["message_id"]]
    raw = await app.client.get(
        f"/inbox/v1/quarantine/{receipt['message_id']}/raw", headers=await lead(app)
    )
    assert raw.content == broken

    # The gateway re-posting the broken original is told its first receipt, nothing more.
    again = await post(app, broken)
    assert (again["duplicate"], again["status"]) == (True, "quarantined")
    assert again["message_id"] == receipt["message_id"]
    assert await count(app, Message) == 2
    assert await count(app, Conversation) == 1


async def kept_by_an_earlier_parser(app: Running, raw: bytes) -> ingest.IngestResult:
    """Arrange what an earlier version of the parser left in quarantine: the email kept raw,
    with that parser's reason (today's parser reads it, so no request can leave it there)."""
    blobs = app.context("inbox").extras["blobs"]
    assert isinstance(blobs, BlobStore)
    await blobs.put_many([raw])
    digest = hashlib.sha256(raw).hexdigest()
    async with session_scope(app.context("inbox").require_sessions()) as session:
        return await ingest.ingest_email(
            session,
            ingest.InboundEmail(
                dedupe_key=f"gw:postfix:{digest}",
                raw_sha256=digest,
                raw_size=len(raw),
                gateway="postfix",
                inbox_address="support@centre.example",
                parsed=None,
                parse_error="an earlier parser failed",
            ),
            detection=None,
            reopen_days=7,
            now=utc_now(),
        )


async def test_an_email_an_earlier_version_could_not_read_is_released_as_stored(
    app: Running,
) -> None:
    # What an earlier version of the parser left in quarantine: a good email, kept raw.
    raw = email(
        sender="John Smith <john@example.com>",
        to="support@centre.example",
        subject="Damaged parcel",
        body=ENGLISH,
    )
    kept = await kept_by_an_earlier_parser(app, raw)
    quarantined = str(kept.message_id)

    answer = await release(app, quarantined)

    assert answer.status_code == 200, answer.text
    released = answer.json()
    assert (released["state"], released["repaired"]) == ("released", False)
    assert released["reason"] == "The email cannot be read."
    assert (released["reason_code"], released["parse_error"]) == (None, "an earlier parser failed")
    async with app.context("inbox").require_sessions()() as session:
        conversation = await session.get(Conversation, uuid.UUID(released["conversation_id"]))
        message = await session.get(Message, uuid.UUID(released["released_as"]))
    assert conversation is not None
    assert message is not None
    # Threaded for the inbox address it was sent to, in its language, with its origin noted.
    assert conversation.inbox_address == "support@centre.example"
    assert (conversation.language, message.language) == ("en", "en")
    assert message.details == {"released_from": quarantined}
    assert message.gateway == "postfix"

    # The same email posted again now parses: it is the released message, not a third copy.
    again = await post(app, raw)
    assert (again["duplicate"], again["message_id"]) == (True, released["released_as"])
    assert await count(app, Message) == 2


async def test_an_email_that_still_cannot_be_read_is_refused_in_french_and_nothing_changes(
    app: Running,
) -> None:
    receipt = await post(app, junk(2))
    before = (await count(app, Message), await count(app, OutboxEvent))

    as_stored = await release(app, receipt["message_id"], language="fr")
    still_junk = await release(app, receipt["message_id"], junk(3), language="fr")

    for answer in (as_stored, still_junk):
        assert answer.status_code == 422
        problem = answer.json()
        assert problem["code"] == "quarantine.still_unparseable"
        assert problem["title"] == "Toujours illisible"
        assert problem["detail"].startswith("Le courriel ne peut toujours pas être lu (")
        assert "rien n’a été modifié" in problem["detail"]
    assert (await count(app, Message), await count(app, OutboxEvent)) == before
    assert await count(app, Conversation) == 0
    status, details = await state_of(app, receipt["message_id"])
    assert status == "quarantined"
    assert "handled_by" not in details
    assert await listed(app) == [receipt["message_id"]]


async def test_a_repaired_copy_already_in_the_inbox_is_linked_not_stored_twice(
    app: Running,
) -> None:
    good = email()
    delivered = await post(app, good)  # the sender's server sent it again, readable this time
    receipt = await post(app, junk(4))

    answer = await release(app, receipt["message_id"], good)

    assert answer.status_code == 200, answer.text
    released = answer.json()
    assert released["duplicate"] is True
    assert released["released_as"] == delivered["message_id"]
    assert released["conversation_id"] == delivered["conversation_id"]
    assert await count(app, Message) == 2
    assert await count(app, Conversation) == 1
    assert await listed(app) == []


async def test_dismissed_emails_leave_the_list_and_stay_kept(app: Running) -> None:
    spam = await post(app, junk(5))
    test = await post(app, junk(6))

    with_note = await app.client.post(
        f"/inbox/v1/quarantine/{spam['message_id']}/dismiss",
        json={"note": "Pourriel"},
        headers=await lead(app),
    )
    without = await app.client.post(
        f"/inbox/v1/quarantine/{test['message_id']}/dismiss", headers=await lead(app)
    )

    assert with_note.status_code == 200, with_note.text
    assert with_note.json()["state"] == "dismissed"
    assert with_note.json()["note"] == "Pourriel"
    assert with_note.json()["handled_by"] == "Chantal (supervisor)"
    assert with_note.json()["released_as"] is None
    assert without.status_code == 200, without.text
    assert without.json()["note"] is None
    assert await listed(app) == []
    assert await listed(app, "dismissed") == [test["message_id"], spam["message_id"]]
    raw = await app.client.get(
        f"/inbox/v1/quarantine/{spam['message_id']}/raw", headers=await lead(app)
    )
    assert raw.content == junk(5)
    again = await post(app, junk(5))
    assert (again["duplicate"], again["status"]) == (True, "quarantined")
    assert await count(app, Conversation) == 0
    assert await count(app, OutboxEvent) == 0


async def test_an_email_leaves_the_quarantine_once(app: Running) -> None:
    released = await post(app, junk(7))
    dismissed = await post(app, junk(8))
    assert (await release(app, released["message_id"], email())).status_code == 200
    headers = await lead(app, language="fr")
    first = await app.client.post(
        f"/inbox/v1/quarantine/{dismissed['message_id']}/dismiss", headers=headers
    )
    assert first.status_code == 200
    before = await state_of(app, released["message_id"]), await count(app, Message)

    again = await release(app, released["message_id"], email(), language="fr")
    dismiss_released = await app.client.post(
        f"/inbox/v1/quarantine/{released['message_id']}/dismiss", headers=headers
    )
    release_dismissed = await release(app, dismissed["message_id"], email())

    for answer in (again, dismiss_released, release_dismissed):
        assert answer.status_code == 409, answer.text
        assert answer.json()["code"] == "quarantine.already_handled"
    assert again.json()["title"] == "Déjà traité"
    assert "a déjà quitté la quarantaine" in again.json()["detail"]
    assert (await state_of(app, released["message_id"]), await count(app, Message)) == before
    assert (await state_of(app, dismissed["message_id"]))[0] == "dismissed"
    assert await count(app, Conversation) == 1


async def test_two_supervisors_releasing_at_once_deliver_it_once(app: Running) -> None:
    receipt = await post(app, junk(9))
    repaired = email()

    answers = await asyncio.gather(
        release(app, receipt["message_id"], repaired),
        release(app, receipt["message_id"], repaired),
    )

    assert sorted(answer.status_code for answer in answers) == [200, 409]
    assert await count(app, Conversation) == 1
    assert await count(app, Message) == 2
    assert await count(app, OutboxEvent) == 1


async def test_refused_requests_change_nothing(app: Running) -> None:
    receipt = await post(app, junk(10))
    good = await post(app, email())
    target = f"/inbox/v1/quarantine/{receipt['message_id']}"
    agent = await app.token(Role.AGENT, agent_id=uuid.UUID(int=1))
    headers = await lead(app)

    answers = {
        "agent": await app.client.post(
            f"{target}/release", headers={"Authorization": f"Bearer {agent}"}
        ),
        "anonymous": await app.client.post(f"{target}/dismiss"),
        "unknown": await release(app, str(uuid.uuid4())),
        "not quarantined": await release(app, good["message_id"]),
        "json body": await app.client.post(f"{target}/release", json={"raw": "x"}, headers=headers),
        "long note": await app.client.post(
            f"{target}/dismiss", json={"note": "x" * 1001}, headers=headers
        ),
        "unknown field": await app.client.post(
            f"{target}/dismiss", json={"reason": "spam"}, headers=headers
        ),
        "bad state": await app.client.get(
            "/inbox/v1/quarantine", params={"state": "deleted"}, headers=headers
        ),
    }

    assert {name: answer.status_code for name, answer in answers.items()} == {
        "agent": 403,
        "anonymous": 401,
        "unknown": 404,
        "not quarantined": 404,
        "json body": 415,
        "long note": 422,
        "unknown field": 422,
        "bad state": 422,
    }
    assert answers["json body"].json()["detail"] == (
        "Send the repaired email as message/rfc822, or no body to use the stored one."
    )
    assert (await state_of(app, receipt["message_id"]))[0] == "quarantined"
    assert (await state_of(app, good["message_id"]))[0] == "accepted"
    assert await count(app, Message) == 2
    assert await count(app, Conversation) == 1


async def test_a_repaired_copy_over_the_size_limit_is_413(db_url: str, tmp_path: Path) -> None:
    async with running_all_in_one(db_url, tmp_path, max_message_bytes=2048) as app:
        receipt = await post(app, junk(11))

        answer = await release(app, receipt["message_id"], email(body="é" * 2000))

        assert answer.status_code == 413
        assert answer.json()["code"] == "message.too_large"
        assert (await state_of(app, receipt["message_id"]))[0] == "quarantined"
        assert await count(app, Message) == 1


async def test_while_translation_is_down_a_release_is_503_and_works_when_it_is_back(
    app: Running,
) -> None:
    receipt = await post(app, junk(12))
    extras = app.context("inbox").extras
    working = extras["translation"]
    # A real client to a loopback port nobody listens on: the service is down.
    down = TranslationClient(base_url=f"http://127.0.0.1:{free_port()}", token="x", timeout=2)
    extras["translation"] = down
    try:
        refused = await release(app, receipt["message_id"], email())
        while_down = await state_of(app, receipt["message_id"]), await count(app, Message)
    finally:
        extras["translation"] = working
        await down.aclose()
    retried = await release(app, receipt["message_id"], email())

    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) > 0
    assert while_down[0][0] == "quarantined"
    assert while_down[1] == 1
    assert retried.status_code == 200, retried.text
    assert await count(app, Message) == 2


async def test_the_metrics_count_the_emails_waiting_in_quarantine(app: Running) -> None:
    empty = await scrape(app)
    first = await post(app, junk(13))
    await post(app, junk(14))
    await post(app, email())
    two = await scrape(app)
    assert (await release(app, first["message_id"], email())).status_code == 200
    one = await scrape(app)

    assert value(empty, "inbox_quarantined_emails") == 0
    assert value(empty, "inbox_quarantine_oldest_age_seconds") == 0
    assert value(two, "inbox_quarantined_emails") == 2
    assert value(two, "inbox_quarantine_oldest_age_seconds") > 0
    assert value(one, "inbox_quarantined_emails") == 1
    assert value(one, "metrics_source_up", source="inbox_quarantine") == 1
