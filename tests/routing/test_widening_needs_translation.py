"""The other_language widening step needs machine translation: routing asks translation whether
it is on, and never hands a written contact to an agent who cannot read it while it is off or
translation cannot be reached."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from services.routing.engine.translation_check import TranslationCheck
from services.routing.models import Task
from shared.clients.translation import TranslationClient
from shared.db import utc_now
from tests.fakes.mt_server import FakeMtServer, running_mt_server
from tests.routing.scenario import (
    admin,
    agent_headers,
    create_agent,
    emitted,
    offers_of,
    open_task,
    run_engine,
    task_of,
)
from tests.support.apps import Running, running_all_in_one
from tests.support.database import empty_tables
from tests.support.logs import captured_logs
from tests.support.processes import free_port

FRENCH_EMAIL = "Courriel — français"


@pytest.fixture
async def server() -> AsyncIterator[FakeMtServer]:
    async with running_mt_server() as fake:
        yield fake


def machine_translation_on(fake: FakeMtServer, **extra: Any) -> dict[str, Any]:
    return {
        "mt_provider": "libretranslate",
        "libretranslate_url": fake.url,
        "libretranslate_api_key": fake.api_key,
        **extra,
    }


async def queue_stats(app: Running, headers: dict[str, str], name: str) -> dict[str, Any]:
    queues = await app.client.get("/routing/v1/queues", headers=headers)
    [queue_id] = [queue["id"] for queue in queues.json() if queue["name"] == name]
    answer = await app.client.get(f"/routing/v1/queues/{queue_id}/stats", headers=headers)
    assert answer.status_code == 200, answer.text
    stats: dict[str, Any] = answer.json()
    return stats


def translation_check(app: Running) -> TranslationCheck:
    check = app.context("routing").extras["translation"]
    assert isinstance(check, TranslationCheck)
    return check


async def test_with_machine_translation_off_a_french_email_waits_for_an_agent_who_reads_it(
    app: Running,
) -> None:
    headers = await admin(app)
    english = await create_agent(app, headers, name="John Smith", languages={"en": 5})
    conversation = await open_task(app, language="fr")
    now = utc_now()

    for waited in (0, 61, 601, 3600):
        await run_engine(app, now + timedelta(seconds=waited))

    every = await app.client.get(
        f"/routing/v1/agents/{english['id']}/offers?state=all", headers=headers
    )
    assert every.status_code == 200
    assert every.json() == []
    task = await task_of(app, conversation, headers)
    assert (task["state"], task["agent_id"], task["needs_translation"]) == ("waiting", None, False)
    assert task["offers"] == []
    stats = await queue_stats(app, headers, FRENCH_EMAIL)
    assert stats["translation_held_back"] is True
    assert stats["waiting"] == 1
    # A French agent coming available takes it at once, untranslated.
    french = await create_agent(app, headers, name="Marie Tremblay", languages={"fr": 5})
    await run_engine(app, now + timedelta(seconds=3601))
    [offer] = await offers_of(app, french["id"], headers)
    assert offer["conversation_id"] == conversation
    assert offer["why"]["needs_translation"] is False


async def test_with_machine_translation_off_bilingual_agents_are_still_reached(
    app: Running,
) -> None:
    headers = await admin(app)
    bilingual = await create_agent(app, headers, name="Sam Roy", languages={"en": 5, "fr": 3})
    conversation = await open_task(app, language="fr")
    now = utc_now()

    await run_engine(app, now)
    before = await offers_of(app, bilingual["id"], headers)
    await run_engine(app, now + timedelta(seconds=61))

    assert before == []
    [offer] = await offers_of(app, bilingual["id"], headers)
    assert offer["conversation_id"] == conversation
    assert offer["why"]["language_step"]["kind"] == "bilingual"
    assert offer["why"]["needs_translation"] is False


async def test_with_machine_translation_on_the_english_agent_gets_it_flagged_for_translation(
    db_url: str, tmp_path: Path, server: FakeMtServer
) -> None:
    async with running_all_in_one(db_url, tmp_path, **machine_translation_on(server)) as app:
        headers = await admin(app)
        english = await create_agent(app, headers, name="John Smith", languages={"en": 5})
        conversation = await open_task(app, language="fr")
        now = utc_now()

        await run_engine(app, now + timedelta(seconds=590))
        before = await offers_of(app, english["id"], headers)
        await run_engine(app, now + timedelta(seconds=601))
        [offer] = await offers_of(app, english["id"], headers)
        accepted = await app.client.post(
            f"/routing/v1/offers/{offer['id']}/accept",
            headers=await agent_headers(app, english["id"]),
        )
        task = await task_of(app, conversation, headers)
        [assigned] = await emitted(app, "conversation.assigned")
        stats = await queue_stats(app, headers, FRENCH_EMAIL)

    assert before == []
    assert offer["conversation_id"] == conversation
    assert offer["why"]["needs_translation"] is True
    assert offer["why"]["language_step"]["kind"] == "other_language"
    assert offer["why"]["languages"] == {"en": 5}
    assert accepted.status_code == 200, accepted.text
    assert (task["state"], task["agent_id"], task["needs_translation"]) == (
        "assigned",
        english["id"],
        True,
    )
    assert assigned["needs_translation"] is True
    assert stats["translation_held_back"] is False
    # Asking whether translation is on costs the provider nothing.
    assert server.received == []


async def test_a_call_never_goes_to_an_agent_of_the_other_language_even_with_translation(
    db_url: str, tmp_path: Path, server: FakeMtServer
) -> None:
    async with running_all_in_one(db_url, tmp_path, **machine_translation_on(server)) as app:
        headers = await admin(app)
        english = await create_agent(app, headers, name="John Smith", languages={"en": 5})
        await open_task(app, language="fr", channel="phone")

        await run_engine(app, utc_now() + timedelta(hours=1))
        offers = await offers_of(app, english["id"], headers)

    assert offers == []


async def test_translation_unreachable_holds_the_step_back_and_the_engine_serves_the_rest(
    db_url: str, tmp_path: Path, server: FakeMtServer
) -> None:
    settings = machine_translation_on(server, translation_check_seconds=0)
    async with running_all_in_one(db_url, tmp_path, **settings) as app:
        headers = await admin(app)
        english = await create_agent(app, headers, name="John Smith", languages={"en": 5})
        french = await open_task(app, language="fr")
        other = await open_task(app, language="en")
        now = utc_now()
        check = translation_check(app)
        reachable = check.client
        down = TranslationClient(
            base_url=f"http://127.0.0.1:{free_port()}", token=None, timeout=1.0
        )
        check.client = down
        try:
            with captured_logs() as records:
                await run_engine(app, now + timedelta(seconds=601))
                offers_while_down = await offers_of(app, english["id"], headers)
                stats_while_down = await queue_stats(app, headers, FRENCH_EMAIL)
        finally:
            check.client = reachable
            await down.aclose()
        await run_engine(app, now + timedelta(seconds=602))
        offers_once_back = await offers_of(app, english["id"], headers)

    assert [offer["conversation_id"] for offer in offers_while_down] == [other]
    assert stats_while_down["translation_held_back"] is True
    assert stats_while_down["waiting"] == 1
    assert any(record["event"] == "routing.translation_unreachable" for record in records)
    assert not any(record["event"] == "routing.pass_failed" for record in records)
    assert {offer["conversation_id"] for offer in offers_once_back} == {french, other}
    [translated] = [o for o in offers_once_back if o["conversation_id"] == french]
    assert translated["why"]["needs_translation"] is True


async def waited_since(app: Running, conversation: str, seconds: int) -> None:
    """The conversation's task has waited ``seconds`` already (queued that long ago)."""
    async with app.context("routing").require_sessions()() as session, session.begin():
        await session.execute(
            update(Task)
            .where(Task.conversation_id == uuid.UUID(conversation))
            .values(queued_at=utc_now() - timedelta(seconds=seconds))
        )


async def test_a_waiting_tasks_explanation_says_translation_holds_the_step_back(
    db_url: str, tmp_path: Path, server: FakeMtServer
) -> None:
    """The supervisor reading why a French email waits past the bilingual step is told what
    the engine does: with translation off, no step is left and the English agent never
    qualifies; with it on, the other-language step comes in 500 s."""
    waits = {}
    for translation, settings in (("off", {}), ("on", machine_translation_on(server))):
        async with running_all_in_one(db_url, tmp_path / translation, **settings) as app:
            headers = await admin(app)
            await create_agent(app, headers, name="John Smith", languages={"en": 5})
            conversation = await open_task(app, language="fr")
            await waited_since(app, conversation, 100)
            waits[translation] = (await task_of(app, conversation, headers))["wait"]
            await empty_tables(db_url)

    off, on = waits["off"], waits["on"]
    assert (off["translation_held_back"], off["next_widening_in_seconds"]) == (True, None)
    assert on["translation_held_back"] is False
    assert 495 <= on["next_widening_in_seconds"] <= 500
    assert [refusal["code"] for refusal in off["refusals"]] == ["language"]
