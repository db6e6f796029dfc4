"""The task list: a supervisor finds a conversation's task (its id, and through it why it
waits) before anyone was offered it, filters tasks and pages through them; an agent sees only
the tasks offered to it; bad filters and cursors are refused and change nothing."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from services.routing.models import Task
from shared.auth import Role
from shared.db import utc_now
from tests.routing.scenario import (
    admin,
    agent_headers,
    bearer,
    create_agent,
    offers_of,
    open_task,
    post_event,
    run_engine,
)
from tests.routing.test_queue_offerable import queue_named
from tests.support.apps import Running

URL = "/routing/v1/tasks"


async def listed(app: Running, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every task of the list, page after page."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = await app.client.get(URL, params=query, headers=headers)
        assert page.status_code == 200, page.text
        items.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


async def only_task(app: Running, headers: dict[str, str], conversation_id: str) -> dict[str, Any]:
    [task] = await listed(app, headers, conversation_id=conversation_id)
    return task


async def test_a_waiting_conversations_task_is_listed_and_opens_with_why_it_waits(
    app: Running,
) -> None:
    headers = await admin(app)
    await create_agent(app, headers, name="Luke", languages={"en": 5})
    supervisor = bearer(await app.token(Role.SUPERVISOR), "fr")
    # A French email, and only an English-speaking agent: no one may take it.
    conversation = await open_task(app, channel="email", language="fr")
    other = await open_task(app, channel="email", language="fr")
    await run_engine(app)
    email_fr = await queue_named(app, headers, "Courriel — français")

    found = await app.client.get(URL, params={"conversation_id": conversation}, headers=supervisor)

    assert found.status_code == 200, found.text
    assert found.json()["next_cursor"] is None
    [item] = found.json()["items"]
    assert item["conversation_id"] == conversation
    assert item["state"] == "waiting"
    assert (item["channel"], item["language"]) == ("email", "fr")
    assert (item["queue_id"], item["queue_name"]) == (email_fr, "Courriel — français")
    assert item["agent_id"] is None
    assert item["offered_at"] is item["assigned_at"] is item["ended_at"] is None
    assert item["end_reason"] is None
    # Its id opens the task, which says (in the caller's language) why it still waits.
    task = await app.client.get(f"{URL}/{item['id']}", headers=supervisor)
    assert task.status_code == 200, task.text
    assert task.json()["conversation_id"] == conversation
    wait = task.json()["wait"]
    assert wait is not None
    assert wait["reason"] == "no_eligible_agent"
    assert [(r["code"], r["subject"], r["agents"]) for r in wait["refusals"]] == [
        ("language", "fr", 1)
    ]
    assert "français" in wait["refusals"][0]["text"]
    # The list's item reads as the task does.
    for field, value in item.items():
        if field != "queue_name":
            assert task.json()[field] == value, field
    # Another conversation's task is not in this one's list.
    assert item["id"] != (await only_task(app, supervisor, other))["id"]


async def test_a_supervisor_filters_tasks_newest_first(app: Running) -> None:
    headers = await admin(app)
    luke = await create_agent(app, headers, name="Luke", languages={"en": 5})
    supervisor = bearer(await app.token(Role.SUPERVISOR))
    waiting_fr = await open_task(app, channel="email", language="fr")
    offered_en = await open_task(app, channel="email", language="en")
    # A call waits: no agent's event stream is connected.
    call_en = await open_task(app, channel="phone", language="en")
    fax_fr = await open_task(app, channel="fax", language="fr")
    await run_engine(app)
    canceled = await post_event(
        app, "conversation.canceled", {"conversation_id": fax_fr, "reason": "abandoned"}
    )
    assert canceled.status_code == 200, canceled.text
    phone_en = await queue_named(app, headers, "Phone — English")
    by_conversation = {
        conversation: (await only_task(app, supervisor, conversation))["id"]
        for conversation in (waiting_fr, offered_en, call_en, fax_fr)
    }
    task = by_conversation.__getitem__

    everything = await listed(app, supervisor)
    waiting = await listed(app, supervisor, state="waiting")
    offered = await listed(app, supervisor, state="offered")
    ended = await listed(app, supervisor, state="canceled")
    completed = await listed(app, supervisor, state="completed")
    in_french = await listed(app, supervisor, language="fr")
    emails = await listed(app, supervisor, channel="email")
    in_phone_en = await listed(app, supervisor, queue_id=phone_en)
    waiting_emails_fr = await listed(
        app, supervisor, state="waiting", channel="email", language="fr"
    )
    nowhere = await listed(app, supervisor, conversation_id=str(uuid.uuid4()))
    admins = await listed(app, headers)

    newest_first = [task(fax_fr), task(call_en), task(offered_en), task(waiting_fr)]
    assert ids(everything) == ids(admins) == newest_first
    assert ids(waiting) == [task(call_en), task(waiting_fr)]
    assert ids(offered) == [task(offered_en)]
    assert offered[0]["agent_id"] == luke["id"]
    assert offered[0]["offered_at"] is not None
    assert ids(ended) == [task(fax_fr)]
    assert ended[0]["end_reason"] == "abandoned"
    assert ended[0]["ended_at"] is not None
    assert completed == []
    assert ids(in_french) == [task(fax_fr), task(waiting_fr)]
    assert ids(emails) == [task(offered_en), task(waiting_fr)]
    assert ids(in_phone_en) == [task(call_en)]
    assert in_phone_en[0]["queue_name"] == "Phone — English"
    assert ids(waiting_emails_fr) == [task(waiting_fr)]
    assert nowhere == []


async def test_pages_follow_each_other_without_duplicates_or_gaps(app: Running) -> None:
    headers = await admin(app)
    supervisor = bearer(await app.token(Role.SUPERVISOR))
    for _ in range(5):
        await open_task(app, channel="email", language="fr")
    everything = await listed(app, supervisor)

    first = await app.client.get(URL, params={"limit": 2}, headers=supervisor)
    # A task queued while the supervisor pages goes to the top, and shifts no page.
    newcomer = await open_task(app, channel="email", language="fr")
    rest = await listed(app, supervisor, limit=2, cursor=first.json()["next_cursor"])
    one_by_one = await listed(app, supervisor, limit=1)

    assert len(everything) == 5
    assert ids(first.json()["items"]) + ids(rest) == ids(everything)
    assert ids(one_by_one)[1:] == ids(everything)
    assert one_by_one[0]["conversation_id"] == newcomer
    # Tasks queued at the same instant are told apart by id: none is repeated nor skipped.
    same_instant = utc_now() - timedelta(minutes=5)
    async with app.context("routing").require_sessions()() as session:
        await session.execute(
            update(Task)
            .where(Task.id.in_([uuid.UUID(i) for i in ids(everything)[1:4]]))
            .values(queued_at=same_instant)
        )
        await session.commit()
    tied = await listed(app, supervisor)
    tied_by_one = await listed(app, supervisor, limit=1)
    tied_by_two = await listed(app, supervisor, limit=2)

    assert ids(tied_by_one) == ids(tied_by_two) == ids(tied)
    assert len(set(ids(tied))) == 6
    assert set(ids(tied)) == {*ids(everything), one_by_one[0]["id"]}
    assert ids(tied)[-3:] == sorted(ids(everything)[1:4], reverse=True)
    assert (await app.client.get(URL, headers=headers)).json()["items"] == tied


async def test_an_agent_lists_only_the_tasks_offered_to_it(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    luke = await create_agent(app, headers, name="Luke", languages={"en": 5})
    as_marie = await agent_headers(app, marie["id"], "fr")
    as_luke = await agent_headers(app, luke["id"])
    supervisor = bearer(await app.token(Role.SUPERVISOR))
    for_marie = await open_task(app, channel="email", language="fr")
    declined_by_marie = await open_task(app, channel="email", language="fr")
    for_luke = await open_task(app, channel="email", language="en")
    nobodys = await open_task(app, channel="phone", language="fr")
    await run_engine(app)
    task = {
        conversation: (await only_task(app, supervisor, conversation))["id"]
        for conversation in (for_marie, declined_by_marie, for_luke, nobodys)
    }
    marie_offers = {
        offer["task_id"]: offer for offer in await offers_of(app, marie["id"], as_marie)
    }
    assert set(marie_offers) == {task[for_marie], task[declined_by_marie]}
    rejected = await app.client.post(
        f"/routing/v1/offers/{marie_offers[task[declined_by_marie]]['id']}/reject",
        headers=as_marie,
    )
    assert rejected.status_code == 200, rejected.text

    marie_sees = await listed(app, as_marie)
    luke_sees = await listed(app, as_luke)
    marie_asks_for_lukes = await listed(app, as_marie, conversation_id=for_luke)
    marie_asks_for_nobodys = await listed(app, as_marie, conversation_id=nobodys)
    marie_waiting = await listed(app, as_marie, state="waiting")

    # The offer she declined stays hers to see; the task waits again.
    assert ids(marie_sees) == [task[declined_by_marie], task[for_marie]]
    assert [item["state"] for item in marie_sees] == ["waiting", "offered"]
    assert ids(luke_sees) == [task[for_luke]]
    assert marie_asks_for_lukes == marie_asks_for_nobodys == []
    assert ids(marie_waiting) == [task[declined_by_marie]]
    # The list holds exactly the tasks the agent may open one by one.
    for conversation, task_id in task.items():
        answer = await app.client.get(f"{URL}/{task_id}", headers=as_marie)
        assert (answer.status_code == 200) == (task_id in ids(marie_sees)), conversation


def forged(when: str, ident: str) -> str:
    payload = json.dumps([when, ident]).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


async def test_bad_filters_and_cursors_are_refused_in_both_languages_and_change_nothing(
    app: Running,
) -> None:
    headers = await admin(app)
    await create_agent(app, headers, name="Luke", languages={"en": 5})
    conversation = await open_task(app, channel="email", language="fr")
    await open_task(app, channel="email", language="en")
    await run_engine(app)
    before = await listed(app, headers)
    refused: dict[str, dict[str, Any]] = {
        "state": {"state": "done"},
        "conversation_id": {"conversation_id": "C-7K3M9QXA"},
        "queue_id": {"queue_id": "phone"},
        "channel": {"channel": "sms"},
        "language": {"language": "de"},
        "limit": {"limit": 0},
    }
    cursors = [
        "not-ours",
        forged("2026-01-01T00:00:00", str(uuid.uuid4())),
        forged("0001-01-01T00:00:00+05:00", str(uuid.uuid4())),
        forged(utc_now().isoformat(), "not-an-id"),
    ]

    for language in ("en", "fr"):
        supervisor = bearer(await app.token(Role.SUPERVISOR), language)
        answers = {
            field: await app.client.get(
                URL, params={"conversation_id": conversation, **params}, headers=supervisor
            )
            for field, params in refused.items()
        }
        bad_cursors = [
            await app.client.get(URL, params={"cursor": cursor}, headers=supervisor)
            for cursor in cursors
        ]
        for field, answer in answers.items():
            assert answer.status_code == 422, (field, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.headers["content-language"] == language
            assert answer.json()["code"] == "request.invalid"
            assert [error["field"] for error in answer.json()["errors"]] == [field]
            assert "items" not in answer.json()
        for answer in bad_cursors:
            assert answer.status_code == 422, answer.text
            assert answer.json()["code"] == "request.invalid_cursor"
            assert "items" not in answer.json()
        state_reason = answers["state"].json()["errors"][0]["reason"]
        uuid_reason = answers["conversation_id"].json()["errors"][0]["reason"]
        cursor_title = bad_cursors[0].json()["title"]
        if language == "en":
            assert state_reason.startswith("Must be one of: ")
            assert "'wrap_up'" in state_reason
            assert uuid_reason == "Must be a UUID."
            assert cursor_title == "Invalid cursor"
        else:
            assert state_reason.startswith("Doit être l’une des valeurs suivantes\u202f: ")
            assert "«\u202fwrap_up\u202f»" in state_reason
            assert uuid_reason == "Doit être un UUID."
            assert cursor_title == "Curseur invalide"
    # Nothing changed: the same tasks, in the same states.
    assert await listed(app, headers) == before
    assert [item["state"] for item in before] == ["offered", "waiting"]


async def test_the_list_answers_who_may_ask(app: Running) -> None:
    anonymous = await app.client.get(URL)
    service = await app.client.get(URL, headers=bearer(await app.token(Role.SERVICE)))

    assert anonymous.status_code == 401
    assert service.status_code == 403
