"""Why a quarantined email could not be read, in the supervisor's language, per cause, with a
stable code and the parser's own text; rows stored before read sensibly too."""

from __future__ import annotations

from typing import Any

import pytest

from services.inbox.ingest.mime import MAX_CONTENT_FIELD_CHARS, MAX_HEADER_LINES, UNPARSEABLE_TEXTS
from services.inbox.quarantine.causes import PATTERNS
from shared.auth import Role
from tests.inbox.builders import email
from tests.inbox.test_quarantine import junk, post
from tests.inbox.test_quarantine_release import kept_by_an_earlier_parser
from tests.support.apps import Running

NNBSP = "\u202f"
LONG_HEADER = b"From: a@example.com\r\n" + b"X-Pad: x\r\n" * (MAX_HEADER_LINES + 1) + b"\r\nHi\r\n"
LONG_CONTENT_FIELD = (
    b"From: a@example.com\r\nContent-Type: text/plain; x="
    + b"y" * (MAX_CONTENT_FIELD_CHARS + 1)
    + b"\r\n\r\nHi\r\n"
)


async def headers(app: Running, language: str) -> dict[str, str]:
    token = await app.token(Role.SUPERVISOR)
    return {"Authorization": f"Bearer {token}", "Accept-Language": language}


async def listed(app: Running, language: str, state: str = "quarantined") -> list[Any]:
    answer = await app.client.get(
        "/inbox/v1/quarantine", params={"state": state}, headers=await headers(app, language)
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Language"] == language
    items: list[Any] = answer.json()["items"]
    return items


@pytest.mark.parametrize(
    ("raw", "code", "parse_error", "english", "french"),
    [
        (
            junk(1),
            "no_header",
            "does not start with a header field",
            "The email cannot be read: it does not start with a header field.",
            f"Le courriel ne peut pas être lu{NNBSP}: il ne commence pas par un champ d’en-tête.",
        ),
        (
            LONG_HEADER,
            "header_too_long",
            f"header block longer than {MAX_HEADER_LINES} lines",
            "The email cannot be read: its header block has too many lines.",
            f"Le courriel ne peut pas être lu{NNBSP}: son bloc d’en-têtes compte trop de lignes.",
        ),
        (
            LONG_CONTENT_FIELD,
            "content_field_too_long",
            f"Content-Type field longer than {MAX_CONTENT_FIELD_CHARS} chars",
            "The email cannot be read: a Content-* header field is too long.",
            f"Le courriel ne peut pas être lu{NNBSP}: un champ d’en-tête Content-* est trop long.",
        ),
    ],
)
async def test_the_list_says_why_in_the_readers_language_with_a_code_and_the_parsers_text(
    app: Running, raw: bytes, code: str, parse_error: str, english: str, french: str
) -> None:
    receipt = await post(app, raw)

    [in_english] = await listed(app, "en")
    [in_french] = await listed(app, "fr")

    assert receipt["status"] == "quarantined"
    assert in_english["id"] == in_french["id"] == receipt["message_id"]
    assert (in_english["reason"], in_french["reason"]) == (english, french)
    assert in_english["reason_code"] == in_french["reason_code"] == code
    assert in_english["parse_error"] == in_french["parse_error"] == parse_error


async def test_a_dismissed_email_answers_and_lists_its_reason_in_french(app: Running) -> None:
    receipt = await post(app, junk(2))
    french = await headers(app, "fr")

    dismissed = await app.client.post(
        f"/inbox/v1/quarantine/{receipt['message_id']}/dismiss",
        json={"note": "Pourriel"},
        headers=french,
    )
    [item] = await listed(app, "fr", state="dismissed")

    assert dismissed.status_code == 200, dismissed.text
    expected = (
        f"Le courriel ne peut pas être lu{NNBSP}: il ne commence pas par un champ d’en-tête.",
        "no_header",
    )
    assert (dismissed.json()["reason"], dismissed.json()["reason_code"]) == expected
    assert (item["reason"], item["reason_code"]) == expected
    assert await listed(app, "fr") == []


async def test_a_row_whose_text_names_no_known_cause_reads_plainly_and_keeps_its_text(
    app: Running,
) -> None:
    # What another parser could have left: a text none of today's causes reads like.
    await kept_by_an_earlier_parser(app, email(subject="Kept by an older parser"))

    [in_english] = await listed(app, "en")
    [in_french] = await listed(app, "fr")

    assert in_english["reason"] == "The email cannot be read."
    assert in_french["reason"] == "Le courriel ne peut pas être lu."
    assert in_english["reason_code"] is in_french["reason_code"] is None
    assert in_french["parse_error"] == "an earlier parser failed"


def test_every_cause_the_parser_names_has_its_pattern() -> None:
    assert set(PATTERNS) == set(UNPARSEABLE_TEXTS)
