"""Cursors of the paginated lists: one this API did not write is refused with a clear 422."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from tests.routing.scenario import admin
from tests.support.apps import Running

LISTS = [
    "/inbox/v1/conversations",
    "/inbox/v1/quarantine",
    "/inbox/v1/outbox/dead-letters",
    "/routing/v1/outbox/dead-letters",
]


def forged(*position: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode().rstrip("=")


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    "cursor",
    [
        forged("2026-11-20T14:05:00", str(uuid.uuid4())),  # a time without its offset
        forged("2026-11-20T14:05:00+00:00", "not-an-id"),
        "not-ours",
        forged("0001-01-01T00:00:00+05:00", str(uuid.uuid4())),  # before the first UTC instant
    ],
    ids=["time-without-offset", "not-an-id", "not-base64-json", "before-time-began"],
)
async def test_a_cursor_this_api_did_not_write_is_refused(
    app: Running, path: str, cursor: str
) -> None:
    answer = await app.client.get(
        path, params={"cursor": cursor}, headers=await admin(app) | {"Accept-Language": "fr-CA"}
    )

    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "request.invalid_cursor"
    assert answer.json()["title"] == "Curseur invalide"
