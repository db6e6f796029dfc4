"""Emails that could not be parsed are listed for supervisors and downloadable as they arrived."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from services.inbox.blobs import BlobStore
from shared.auth import Role
from tests.inbox.builders import email, raw_headers
from tests.support.apps import Running


def junk(n: int) -> bytes:
    """Bytes no parser reads as an email, different for each n."""
    return b"\x00\x01\x02 ceci n'est pas un courriel \xff\xfe " + str(n).encode() * 20


async def post(app: Running, raw: bytes) -> dict[str, Any]:
    answer = await app.client.post(
        "/inbox/v1/inbound/email", content=raw, headers=raw_headers(await app.token(Role.GATEWAY))
    )
    assert answer.status_code == 202, answer.text
    receipt: dict[str, Any] = answer.json()
    return receipt


async def lead(app: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}", "Accept-Language": "fr"}


async def test_quarantined_emails_are_listed_newest_first_page_by_page(app: Running) -> None:
    posted = [await post(app, junk(n)) for n in range(3)]
    await post(app, email())  # a good one is not in quarantine
    headers = await lead(app)

    first = await app.client.get("/inbox/v1/quarantine", params={"limit": 2}, headers=headers)
    second = await app.client.get(
        "/inbox/v1/quarantine",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=headers,
    )

    assert [receipt["status"] for receipt in posted] == ["quarantined"] * 3
    assert first.status_code == 200, first.text
    items = first.json()["items"] + second.json()["items"]
    assert [item["id"] for item in items] == [r["message_id"] for r in reversed(posted)]
    assert second.json()["next_cursor"] is None
    newest = items[0]
    assert newest["raw_size"] == len(junk(2))
    assert newest["raw_sha256"] == hashlib.sha256(junk(2)).hexdigest()
    assert newest["reason"]


async def test_a_quarantined_email_downloads_as_it_arrived(app: Running) -> None:
    receipt = await post(app, junk(7))

    got = await app.client.get(
        f"/inbox/v1/quarantine/{receipt['message_id']}/raw", headers=await lead(app)
    )

    assert got.status_code == 200
    assert got.content == junk(7)
    assert got.headers["content-type"] == "message/rfc822"
    assert got.headers["content-disposition"] == (
        f'attachment; filename="quarantined-{receipt["message_id"]}.eml"'
    )
    assert got.headers["cache-control"] == "no-store"


async def test_only_supervisors_see_it_and_other_messages_are_not_in_it(app: Running) -> None:
    bad = await post(app, junk(1))
    good = await post(app, email())
    agent = await app.token(Role.AGENT, agent_id=uuid.UUID(int=1))
    headers = await lead(app)

    as_agent = await app.client.get(
        "/inbox/v1/quarantine", headers={"Authorization": f"Bearer {agent}"}
    )
    anonymous = await app.client.get(f"/inbox/v1/quarantine/{bad['message_id']}/raw")
    not_quarantined = await app.client.get(
        f"/inbox/v1/quarantine/{good['message_id']}/raw", headers=headers
    )
    unknown = await app.client.get(f"/inbox/v1/quarantine/{uuid.uuid4()}/raw", headers=headers)
    bad_cursor = await app.client.get(
        "/inbox/v1/quarantine", params={"cursor": "not-ours"}, headers=headers
    )

    assert as_agent.status_code == 403
    assert anonymous.status_code == 401
    assert not_quarantined.status_code == 404
    assert not_quarantined.json()["code"] == "quarantine.not_found"
    assert not_quarantined.json()["title"] == "Courriel en quarantaine introuvable"
    assert unknown.status_code == 404
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["code"] == "request.invalid_cursor"


async def test_a_lost_file_answers_503_with_retry_after(app: Running) -> None:
    receipt = await post(app, junk(3))
    blobs = app.context("inbox").extras["blobs"]
    assert isinstance(blobs, BlobStore)
    blobs.path_for(hashlib.sha256(junk(3)).hexdigest()).unlink()

    got = await app.client.get(
        f"/inbox/v1/quarantine/{receipt['message_id']}/raw", headers=await lead(app)
    )
    listed = await app.client.get("/inbox/v1/quarantine", headers=await lead(app))

    assert got.status_code == 503
    assert got.headers["retry-after"] == "30"
    assert [item["id"] for item in listed.json()["items"]] == [receipt["message_id"]]
