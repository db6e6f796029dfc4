"""States, statuses and channels read as words in each language; the fields keep their codes."""

from __future__ import annotations

from tests.routing.scenario import (
    admin,
    agent_headers,
    create_agent,
    offers_of,
    open_task,
    run_engine,
    task_of,
)
from tests.support.apps import Running

NNBSP = "\u202f"


async def test_a_closed_offer_says_what_became_of_it_in_words(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    await open_task(app, language="fr")
    await open_task(app, language="fr")
    await run_engine(app)
    first, second = await offers_of(app, marie["id"], headers)
    url = "/routing/v1/offers/{}/{}"

    await app.client.post(
        url.format(first["id"], "accept"), headers=await agent_headers(app, marie["id"])
    )
    await app.client.post(
        url.format(second["id"], "reject"), headers=await agent_headers(app, marie["id"])
    )
    accepted = [  # rejected once accepted (accepting again answers it as it stands)
        await app.client.post(
            url.format(first["id"], "reject"), headers=await agent_headers(app, marie["id"], lang)
        )
        for lang in ("en", "fr")
    ]
    declined = [
        await app.client.post(
            url.format(second["id"], "accept"), headers=await agent_headers(app, marie["id"], lang)
        )
        for lang in ("en", "fr")
    ]

    assert [r.status_code for r in accepted + declined] == [409] * 4
    assert {r.json()["code"] for r in accepted + declined} == {"offer.closed"}
    assert [r.json()["detail"] for r in accepted] == [
        "This offer can no longer be answered: it is accepted.",
        f"Il n’est plus possible de répondre à cette offre{NNBSP}: elle est acceptée.",
    ]
    assert [r.json()["detail"] for r in declined] == [
        "This offer can no longer be answered: it is declined.",
        f"Il n’est plus possible de répondre à cette offre{NNBSP}: elle est refusée.",
    ]
    # The offers themselves still carry the codes.
    states = {o["id"]: o["state"] for o in await offers_of_all(app, marie["id"], headers)}
    assert (states[first["id"]], states[second["id"]]) == ("accepted", "rejected")


async def offers_of_all(
    app: Running, agent_id: str, headers: dict[str, str]
) -> list[dict[str, str]]:
    answer = await app.client.get(
        f"/routing/v1/agents/{agent_id}/offers", params={"state": "all"}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    result: list[dict[str, str]] = answer.json()
    return result


async def test_completing_a_waiting_task_names_its_state_in_words(app: Running) -> None:
    headers = await admin(app)
    conversation = await open_task(app, language="fr")
    task = await task_of(app, conversation, headers)
    url = f"/routing/v1/tasks/{task['id']}/complete"

    english = await app.client.post(url, headers=headers)
    french = await app.client.post(url, headers={**headers, "Accept-Language": "fr"})

    assert english.json()["detail"] == (
        "Only an assigned task can be completed; this one is waiting."
    )
    assert french.json()["detail"] == (
        f"Seule une tâche attribuée peut être terminée{NNBSP}; celle-ci est en attente."
    )
    assert (await task_of(app, conversation, headers))["state"] == "waiting"


async def test_why_a_task_waits_names_statuses_channels_and_languages_in_words(
    app: Running,
) -> None:
    headers = await admin(app)
    await create_agent(app, headers, name="Away", languages={"fr": 5}, status="away")
    await create_agent(app, headers, name="English", languages={"en": 5})
    conversation = await open_task(app, language="fr")
    await run_engine(app)

    english = await task_of(app, conversation, headers)
    french = await task_of(app, conversation, {**headers, "Accept-Language": "fr"})

    def refusals(task: dict[str, object]) -> dict[tuple[str, str | None], str]:
        wait = task["wait"]
        assert isinstance(wait, dict)
        return {(r["code"], r["subject"]): r["text"] for r in wait["refusals"]}

    assert refusals(english) == {
        ("not_available", "away"): "The agent is not available (away).",
        ("language", "fr"): "The agent does not speak French at the required level.",
    }
    assert refusals(french) == {
        ("not_available", "away"): "L’agent n’est pas disponible (absent).",
        ("language", "fr"): "L’agent ne parle pas français au niveau requis.",
    }
