"""An install seeded by an earlier release gets today's seed text at start-up where it still holds
the earlier one, untouched; an administrator's edit stays, and the twins stay consistent."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from services.translation.models import Template, TemplateSeed
from services.translation.templates.seed import SEED_TEMPLATES
from services.translation.templates.service import upgrade_seeds
from services.translation.templates.superseded import SUPERSEDED_SEEDS, SupersededSeed
from shared.auth import Role
from shared.db import session_scope
from tests.support.apps import SERVICE_TOKEN, Running, running_all_in_one

BASE = "/translation/v1/templates"
SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
EARLIER = datetime(2025, 1, 1, tzinfo=UTC)
EDITED = datetime(2025, 6, 1, tzinfo=UTC)
CURRENT = {(v.key, v.locale): v for v in SEED_TEMPLATES}
#: Each slot's first superseded text (as the first release seeded it).
OLD = {(v.key, v.locale): v for v in reversed(SUPERSEDED_SEEDS)}
OLD_NOTICE_WORDS = "destiné au service"


async def as_an_earlier_release_left_it(
    app: Running, *slots: tuple[str, str], texts: dict[tuple[str, str], SupersededSeed] = OLD
) -> None:
    """Store the earlier seed text of each (key, locale) as that release's seeding did: the
    version created, last written and marked as offered at one moment."""
    async with session_scope(app.context("translation").require_sessions()) as session:
        for key, locale in slots:
            row = await session.scalar(
                select(Template).where(Template.key == key, Template.locale == locale)
            )
            marker = await session.get(TemplateSeed, (key, locale))
            assert row is not None
            assert marker is not None
            row.subject, row.body = texts[key, locale].subject, texts[key, locale].body
            row.created_at = row.updated_at = marker.seeded_at = EARLIER


async def patch(app: Running, key: str, body: dict[str, Any]) -> Any:
    """An administrator's edit over HTTP; returns the template as the answer gives it."""
    token = await app.token(Role.SUPERVISOR)
    answer = await app.client.patch(
        f"{BASE}/{key}", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def version(key: str, locale: str, subject: str, body: str) -> dict[str, Any]:
    """A version to write, declaring the seed's variables."""
    variables = [{"name": v.name, "type": v.type} for v in CURRENT[key, locale].variables]
    return {"locale": locale, "subject": subject, "body": body, "variables": variables}


def earlier(key: str, locale: str) -> dict[str, Any]:
    return version(key, locale, OLD[key, locale].subject, OLD[key, locale].body)


def texts(template: Any) -> list[tuple[str, str, str]]:
    return [(v["locale"], v["subject"], v["body"]) for v in template["versions"]]


async def read(app: Running, key: str) -> Any:
    answer = await app.client.get(f"{BASE}/{key}", headers=SERVICE)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def render_notice(app: Running) -> str:
    answer = await app.client.post(
        f"{BASE}/notice.out_of_hours/render",
        json={"locale": "fr-CA", "variables": {"queue_name": "Courriel — français",
                                               "hours": "du lundi au vendredi, de 9 h à 17 h"}},
        headers=SERVICE,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    body: str = answer.json()["body"]
    return body


async def test_an_earlier_seed_text_is_replaced_at_start_up(db_url: str, tmp_path: Path) -> None:
    async with running_all_in_one(db_url, tmp_path) as app:
        await as_an_earlier_release_left_it(
            app,
            ("notice.out_of_hours", "en"),
            ("notice.out_of_hours", "fr"),
            ("email.acknowledgement", "fr"),  # its English did not change
        )
        before = await render_notice(app)

    async with running_all_in_one(db_url, tmp_path) as app:
        notice = await read(app, "notice.out_of_hours")
        acknowledgement = await read(app, "email.acknowledgement")
        after = await render_notice(app)

    assert f"{OLD_NOTICE_WORDS} Courriel — français" in before
    assert OLD_NOTICE_WORDS not in after
    assert "Courriel" not in after
    for template in (notice, acknowledgement):
        key = template["key"]
        assert [(v["locale"], v["subject"], v["body"]) for v in template["versions"]] == [
            (locale, CURRENT[key, locale].subject, CURRENT[key, locale].body)
            for locale in ("en", "fr")
        ]
        # changed as an edit is: dated now, both twins together, so neither reads as stale
        dates = {v["updated_at"] for v in template["versions"]}
        assert len(dates) == 1
        assert datetime.fromisoformat(dates.pop()) > EARLIER
        assert template["problems"] == []


async def test_an_edited_text_is_kept_and_its_twin_still_upgraded(
    db_url: str, tmp_path: Path
) -> None:
    edited_body = CURRENT["notice.out_of_hours", "en"].body.replace(
        "Thank you for your patience.", "Thank you for your patience, and see you soon."
    )
    async with running_all_in_one(db_url, tmp_path) as app:
        token = await app.token(Role.SUPERVISOR)
        await as_an_earlier_release_left_it(
            app, ("notice.out_of_hours", "fr"), ("conversation.closing", "fr")
        )
        # an administrator's edit of an earlier seed: no longer the earlier text exactly
        edited_closing = OLD["conversation.closing", "fr"].body + "\n"
        patched = await app.client.patch(
            f"{BASE}/conversation.closing",
            json={"versions": [{
                "locale": "fr", "subject": OLD["conversation.closing", "fr"].subject,
                "body": edited_closing,
                "variables": [{"name": n} for n in ("customer_name", "reference", "agent_name")],
            }]},
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
        assert patched.status_code == 200, patched.text
        patched = await app.client.patch(
            f"{BASE}/notice.out_of_hours",
            json={"versions": [{
                "locale": "en", "subject": CURRENT["notice.out_of_hours", "en"].subject,
                "body": edited_body,
                "variables": [{"name": "queue_name"}, {"name": "hours"}],
            }]},
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
        assert patched.status_code == 200, patched.text
        async with session_scope(app.context("translation").require_sessions()) as session:
            english = await session.scalar(
                select(Template).where(
                    Template.key == "notice.out_of_hours", Template.locale == "en"
                )
            )
            assert english is not None
            english.updated_at = EDITED  # the edit was made long before this upgrade
        closing_before = await read(app, "conversation.closing")
        notice_before = await read(app, "notice.out_of_hours")

    async with running_all_in_one(db_url, tmp_path) as app:
        closing = await read(app, "conversation.closing")
        notice = await read(app, "notice.out_of_hours")

    assert closing == closing_before
    assert closing["versions"][1]["body"] == edited_closing
    english, french = notice["versions"]
    assert english == notice_before["versions"][0]
    assert english["body"] == edited_body
    assert (french["subject"], french["body"]) == (
        CURRENT["notice.out_of_hours", "fr"].subject,
        CURRENT["notice.out_of_hours", "fr"].body,
    )
    assert french["updated_at"] > english["updated_at"]
    # the edited English is older than its revised French: reviewing it is the editor's call
    assert [(p["kind"], p["locale"]) for p in notice["problems"]] == [("stale_twin", "en")]


async def test_starting_again_changes_nothing_more(db_url: str, tmp_path: Path) -> None:
    async with running_all_in_one(db_url, tmp_path) as app:
        await as_an_earlier_release_left_it(app, ("letter.payment_arrangement", "en"))
    async with running_all_in_one(db_url, tmp_path) as app:
        first = await read(app, "letter.payment_arrangement")
    async with running_all_in_one(db_url, tmp_path) as app:
        second = await read(app, "letter.payment_arrangement")

    assert first == second
    assert "Number of payments: {installment_count}" in first["versions"][0]["body"]


def test_each_superseded_text_is_an_earlier_text_of_a_current_seed() -> None:
    for old in SUPERSEDED_SEEDS:
        current = CURRENT[old.key, old.locale]
        assert (old.subject, old.body) != (current.subject, current.body)
    assert len({(v.key, v.locale, v.subject, v.body) for v in SUPERSEDED_SEEDS}) == len(
        SUPERSEDED_SEEDS
    )


async def test_an_earlier_text_an_administrator_restored_is_kept(
    db_url: str, tmp_path: Path
) -> None:
    acknowledgement = ("email.acknowledgement", "fr")
    async with running_all_in_one(db_url, tmp_path) as app:
        await as_an_earlier_release_left_it(app, acknowledgement, ("callback.confirmation", "fr"))
        # edited, then put back as it was: the earlier seed's text again, by choice
        await patch(app, acknowledgement[0], {"versions": [
            version(*acknowledgement, OLD[acknowledgement].subject, "Bonjour {customer_name}.")
        ]})  # fmt: skip
        restored = await patch(app, acknowledgement[0], {"versions": [earlier(*acknowledgement)]})

    async with running_all_in_one(db_url, tmp_path) as app:
        kept = await read(app, "email.acknowledgement")
        callback = await read(app, "callback.confirmation")

    assert kept == restored
    assert texts(kept)[1] == ("fr", OLD[acknowledgement].subject, OLD[acknowledgement].body)
    # the untouched earlier seed of the same start is still upgraded
    assert texts(callback) == [
        (locale, CURRENT["callback.confirmation", locale].subject,
         CURRENT["callback.confirmation", locale].body)
        for locale in ("en", "fr")
    ]  # fmt: skip


async def test_an_earlier_text_saved_again_after_the_upgrade_stays(
    db_url: str, tmp_path: Path
) -> None:
    slot = ("notice.out_of_hours", "fr")
    async with running_all_in_one(db_url, tmp_path) as app:
        await as_an_earlier_release_left_it(app, slot)
    async with running_all_in_one(db_url, tmp_path) as app:
        upgraded = await read(app, slot[0])
        # the administrator prefers the earlier wording and saves it back
        saved = await patch(app, slot[0], {"versions": [earlier(*slot)]})
    async with running_all_in_one(db_url, tmp_path) as app:
        after_restart = await read(app, slot[0])

    assert texts(upgraded)[1] == ("fr", CURRENT[slot].subject, CURRENT[slot].body)
    assert after_restart == saved
    assert texts(after_restart)[1] == ("fr", OLD[slot].subject, OLD[slot].body)
    assert OLD_NOTICE_WORDS in after_restart["versions"][1]["body"]


async def test_a_version_written_anew_with_an_earlier_text_is_kept(
    db_url: str, tmp_path: Path
) -> None:
    key = "conversation.closing"
    async with running_all_in_one(db_url, tmp_path) as app:
        await as_an_earlier_release_left_it(app, (key, "fr"))
        token = await app.token(Role.SUPERVISOR)
        deleted = await app.client.delete(
            f"{BASE}/{key}", headers={"Authorization": f"Bearer {token}"}
        )
        assert deleted.status_code == 204, deleted.text
        english = CURRENT[key, "en"]
        created = await app.client.post(
            BASE,
            json={"key": key, "versions": [
                version(key, "en", english.subject, english.body), earlier(key, "fr")
            ]},
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
        assert created.status_code == 201, created.text

    async with running_all_in_one(db_url, tmp_path) as app:
        after_restart = await read(app, key)

    assert after_restart == created.json()
    assert texts(after_restart)[1] == ("fr", OLD[key, "fr"].subject, OLD[key, "fr"].body)


async def test_an_earlier_text_kept_alone_on_purpose_stays_alone(
    db_url: str, tmp_path: Path
) -> None:
    key = "conversation.closing"
    async with running_all_in_one(db_url, tmp_path) as app:
        await as_an_earlier_release_left_it(app, (key, "fr"))
        # the same text, now the template's only version: only its single-language mark changes
        alone = await patch(app, key, {
            "versions": [{**earlier(key, "fr"), "single_language": True}],
            "remove_locales": ["en"],
        })  # fmt: skip

    async with running_all_in_one(db_url, tmp_path) as app:
        after_restart = await read(app, key)

    assert after_restart == alone
    (french,) = after_restart["versions"]
    assert (french["body"], french["single_language"]) == (OLD[key, "fr"].body, True)
    assert after_restart["problems"] == []


async def test_an_upgraded_seed_is_upgraded_again_by_a_later_release(
    db_url: str, tmp_path: Path
) -> None:
    key = "email.acknowledgement"
    async with running_all_in_one(db_url, tmp_path) as app:
        await as_an_earlier_release_left_it(app, (key, "fr"))
    async with running_all_in_one(db_url, tmp_path) as app:
        # started: French upgraded, its English twin dated with it; then a later release
        # replaces both of today's texts, as its start-up would
        later = {
            locale: dataclasses.replace(
                CURRENT[key, locale], body=CURRENT[key, locale].body + "\n(2)"
            )
            for locale in ("en", "fr")
        }
        async with session_scope(app.context("translation").require_sessions()) as session:
            replaced = await upgrade_seeds(
                session,
                now=datetime.now(UTC),
                templates=later.values(),
                superseded=[
                    SupersededSeed(key, locale, CURRENT[key, locale].subject,
                                   CURRENT[key, locale].body)
                    for locale in ("en", "fr")
                ],
            )  # fmt: skip
        acknowledgement = await read(app, key)

    assert replaced == 2
    assert texts(acknowledgement) == [
        (locale, later[locale].subject, later[locale].body) for locale in ("en", "fr")
    ]


async def test_the_letter_seeded_with_dear_greets_a_nameless_customer_once_upgraded(
    db_url: str, tmp_path: Path
) -> None:
    """The English letter seeded as "Dear {customer_name}," read "Dear," without a name; an
    install that kept it untouched gets "Hello {customer_name}," at start-up, and the closing an
    administrator edited (to a "Dear" of their own) stays theirs."""
    letter = ("letter.payment_arrangement", "en")
    dear = next(v for v in reversed(SUPERSEDED_SEEDS) if v.body.startswith("Dear {customer_name},"))
    closing = CURRENT["conversation.closing", "en"]
    edited_closing = closing.body.replace("Hello {customer_name},", "Dear {customer_name},")
    async with running_all_in_one(db_url, tmp_path) as app:
        await as_an_earlier_release_left_it(app, letter, texts={letter: dear})
        before = await render_letter(app)
        edited = await patch(app, "conversation.closing", {
            "versions": [version("conversation.closing", "en", closing.subject, edited_closing)]
        })  # fmt: skip

    async with running_all_in_one(db_url, tmp_path) as app:
        upgraded = await read(app, letter[0])
        after = await render_letter(app)
        kept = await read(app, "conversation.closing")

    assert before.startswith("Dear,\n")
    assert after.startswith("Hello,\n")
    assert texts(upgraded)[0] == ("en", CURRENT[letter].subject, CURRENT[letter].body)
    assert upgraded["problems"] == []
    assert kept == edited
    assert texts(kept)[0][2].startswith("Dear {customer_name},")


async def render_letter(app: Running) -> str:
    """The English payment letter rendered for a customer who gave no name."""
    answer = await app.client.post(
        f"{BASE}/letter.payment_arrangement/render",
        json={"locale": "en-CA", "variables": {
            "customer_name": "", "agent_name": "Julie Gagnon", "account_number": "4417-2231",
            "agreed_on": "2026-03-02", "total_amount": "1234.56", "installment_count": 3,
            "installment_amount": "411.52", "first_due": "2026-04-01", "last_due": "2026-06-01",
        }},
        headers=SERVICE,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    body: str = answer.json()["body"]
    return body
