"""An unknown wrap-up code is refused naming the field that gave it, in English and French, and
the request changes nothing: a resolve with one resolves nothing and records no note."""

from __future__ import annotations

from typing import Any

import pytest

from tests.inbox.test_workspace import agent, conversation_id  # noqa: F401 (fixtures)
from tests.support.apps import Running


async def read(app: Running, conversation: str, headers: dict[str, str]) -> dict[str, Any]:
    answer = await app.client.get(f"/inbox/v1/conversations/{conversation}", headers=headers)
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


@pytest.mark.parametrize(
    ("language", "reason", "detail"),
    [
        ("en", "Not an active wrap-up code.", "nonexistent_code is not an active wrap-up code."),
        (
            "fr",
            "N’est pas un code de clôture actif.",
            "«\u202fnonexistent_code\u202f» n’est pas un code de clôture actif.",
        ),
    ],
)
async def test_a_resolve_with_an_unknown_code_names_the_field_and_changes_nothing(
    app: Running,
    conversation_id: str,  # noqa: F811
    agent: dict[str, str],  # noqa: F811
    language: str,
    reason: str,
    detail: str,
) -> None:
    before = await read(app, conversation_id, agent)

    refused = await app.client.post(
        f"/inbox/v1/conversations/{conversation_id}/resolve",
        json={"disposition": "nonexistent_code", "note": "Réglé au téléphone."},
        headers={**agent, "Accept-Language": language},
    )

    assert refused.status_code == 422
    problem = refused.json()
    assert problem["code"] == "disposition.unknown"
    assert problem["detail"] == detail
    assert problem["errors"] == [
        {"field": "disposition", "code": "unknown_disposition", "reason": reason}
    ]
    after = await read(app, conversation_id, agent)
    assert after == before
    assert after["status"] == "open"


async def test_setting_an_unknown_code_names_the_code_field(
    app: Running,
    conversation_id: str,  # noqa: F811
    agent: dict[str, str],  # noqa: F811
) -> None:
    refused = await app.client.put(
        f"/inbox/v1/conversations/{conversation_id}/disposition",
        json={"code": "made_up"},
        headers=agent,
    )

    assert refused.status_code == 422
    assert [error["field"] for error in refused.json()["errors"]] == ["code"]
