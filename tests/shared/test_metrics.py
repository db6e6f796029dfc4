"""Prometheus metrics: requests by route template, outbox backlog, stored messages, routing."""

from __future__ import annotations

import asyncio
import gc
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.auth import Role
from shared.db import utc_now
from shared.metrics import Metrics, watch_loop
from tests.inbox.builders import email, raw_headers
from tests.routing.scenario import (
    admin,
    agent_headers,
    create_agent,
    offers_of,
    open_task,
    run_engine,
)
from tests.support.apps import Running, running_all_in_one

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
FRENCH_EMAIL_QUEUE = "Courriel — français"


async def scrape(app: Running, headers: dict[str, str] | None = None) -> Samples:
    answer = await app.client.get("/metrics", headers=headers or {})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    # Prometheus refuses a scrape that declares a family twice.
    declared = [line.split()[2] for line in answer.text.splitlines() if line.startswith("# TYPE")]
    assert len(declared) == len(set(declared))
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value; 0 when the series does not exist (yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_requests_are_counted_under_their_route_template_not_their_path(
    app: Running,
) -> None:
    headers = await admin(app)
    missing = [str(uuid.uuid4()), str(uuid.uuid4())]
    before = await scrape(app)

    for agent_id in missing:
        answer = await app.client.get(f"/routing/v1/agents/{agent_id}", headers=headers)
        assert answer.status_code == 404
    listed = await app.client.get("/routing/v1/agents", headers=headers)
    nowhere = await app.client.get(f"/inbox/v1/nowhere/{missing[0]}")
    after = await scrape(app)

    assert listed.status_code == 200
    assert nowhere.status_code == 404
    route = {"service": "routing", "method": "GET", "route": "/routing/v1/agents/{agent_id}"}
    assert value(after, "http_requests_total", **route, status="4xx") == 2
    assert value(before, "http_requests_total", **route, status="4xx") == 0
    assert value(after, "http_request_duration_seconds_count", **route) == 2
    assert (
        value(
            after,
            "http_requests_total",
            service="routing",
            method="GET",
            route="/routing/v1/agents",
            status="2xx",
        )
        == 1
    )
    assert (
        value(
            after,
            "http_requests_total",
            service="inbox",
            method="GET",
            route="<unmatched>",
            status="4xx",
        )
        == 1
    )
    labels = {label for _, series in after for _, label in series}
    assert not any(agent_id in label for agent_id in missing for label in labels)


async def test_an_email_moves_the_stored_count_and_the_outboxes_until_it_is_routed(
    app: Running,
) -> None:
    gateway = await app.token(Role.GATEWAY)
    raw = email()
    stored = {"direction": "inbound", "channel": "email", "status": "accepted"}
    empty = await scrape(app)

    first = await app.client.post(
        "/inbox/v1/inbound/email", content=raw, headers=raw_headers(gateway)
    )
    again = await app.client.post(
        "/inbox/v1/inbound/email", content=raw, headers=raw_headers(gateway)
    )
    pending = await scrape(app)
    await app.relay("inbox").run_once()
    await run_engine(app)
    routed = await scrape(app)

    assert first.status_code in (200, 201, 202), first.text
    assert again.status_code in (200, 201, 202), again.text
    assert value(empty, "outbox_events_waiting", service="inbox") == 0
    assert value(empty, "inbox_messages_stored_total", **stored) == 0
    # The duplicate was not stored again.
    assert value(pending, "inbox_messages_stored_total", **stored) == 1
    assert value(pending, "outbox_events_waiting", service="inbox") == 1
    assert value(pending, "outbox_oldest_event_age_seconds", service="inbox") >= 0
    assert value(pending, "metrics_source_up", source="inbox_outbox") == 1
    # Delivered to routing, which queued the task and told the inbox through its own outbox.
    assert value(routed, "outbox_events_waiting", service="inbox") == 0
    assert value(routed, "outbox_events_waiting", service="routing") >= 1
    assert value(routed, "routing_tasks_waiting", queue=FRENCH_EMAIL_QUEUE, language="fr") == 1
    assert value(routed, "routing_tasks_waiting", queue=FRENCH_EMAIL_QUEUE, language="en") == 0
    assert (
        value(routed, "routing_oldest_task_wait_seconds", queue=FRENCH_EMAIL_QUEUE, language="fr")
        >= 0
    )


async def test_an_email_s_stages_are_timed_and_a_duplicate_only_parsed(app: Running) -> None:
    gateway = await app.token(Role.GATEWAY)
    raw = email()
    unreadable = b"\x00\x01 not a mail message"

    for body in (raw, raw, unreadable):
        answer = await app.client.post(
            "/inbox/v1/inbound/email", content=body, headers=raw_headers(gateway)
        )
        assert answer.status_code == 202, answer.text
    samples = await scrape(app)

    def count(stage: str) -> float:
        return value(samples, "inbox_email_stage_seconds_count", stage=stage)

    # All three were parsed (or tried); only the new, readable one had its language detected;
    # the new and the quarantined one were stored and their files synced.
    assert [count(stage) for stage in ("parse", "detect", "store", "files")] == [3, 1, 2, 2]
    assert value(samples, "inbox_email_stage_seconds_sum", stage="parse") > 0


async def test_offers_made_and_rejected_are_counted_once_committed(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    luc = await create_agent(app, headers, name="Luc", languages={"en": 5})
    await open_task(app, language="fr")
    await run_engine(app)
    [offer] = await offers_of(app, marie["id"], headers)
    offered = await scrape(app)

    stolen = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/reject", headers=await agent_headers(app, luc["id"])
    )
    after_stolen = await scrape(app)
    rejected = await app.client.post(
        f"/routing/v1/offers/{offer['id']}/reject", headers=await agent_headers(app, marie["id"])
    )
    after = await scrape(app)

    assert value(offered, "routing_offers_made_total", channel="email") == 1
    assert value(offered, "routing_time_to_offer_seconds_count") == 1
    assert value(offered, "routing_agents", status="available") == 2
    assert value(offered, "routing_agents", status="away") == 0
    assert value(offered, "routing_tasks_waiting", queue=FRENCH_EMAIL_QUEUE, language="fr") == 0
    # Another agent's answer is refused (as for an unknown offer) and counts nothing.
    assert stolen.status_code == 404
    ended = {"channel": "email", "outcome": "rejected"}
    assert value(after_stolen, "routing_offers_ended_total", **ended) == 0
    assert rejected.status_code == 200, rejected.text
    assert value(after, "routing_offers_ended_total", **ended) == 1
    assert value(after, "routing_offers_made_total", channel="email") == 1
    assert value(after, "routing_tasks_waiting", queue=FRENCH_EMAIL_QUEUE, language="fr") == 1


async def test_a_metrics_token_when_set_is_required(db_url: str, tmp_path: Path) -> None:
    async with running_all_in_one(db_url, tmp_path, metrics_token="scrape-secret-42") as app:
        anonymous = await app.client.get("/metrics", headers={"Accept-Language": "fr"})
        wrong = await app.client.get("/metrics", headers={"Authorization": "Bearer nope"})
        scraped = await scrape(app, {"Authorization": "Bearer scrape-secret-42"})

    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.json()["title"] == "Authentification requise"
    assert "http_requests" not in anonymous.text
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "auth.invalid_token"
    assert value(scraped, "metrics_source_up", source="routing") == 1


async def test_a_database_that_is_down_leaves_the_scrape_answering(tmp_path: Path) -> None:
    unreachable = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"
    async with running_all_in_one(unreachable, tmp_path) as app:
        samples = await scrape(app)

    assert value(samples, "metrics_source_up", source="inbox_outbox") == 0
    assert value(samples, "metrics_source_up", source="routing") == 0
    assert ("outbox_events_waiting", frozenset({("service", "inbox")})) not in samples


async def test_accepted_and_expired_offers_are_counted_by_outcome(app: Running) -> None:
    headers = await admin(app)
    marie = await create_agent(app, headers, name="Marie", languages={"fr": 5})
    now = utc_now()
    for _ in range(2):
        await open_task(app, language="fr")
    await run_engine(app, now)
    first, _ = await offers_of(app, marie["id"], headers)

    accepted = await app.client.post(
        f"/routing/v1/offers/{first['id']}/accept", headers=await agent_headers(app, marie["id"])
    )
    await run_engine(app, now + timedelta(minutes=10))
    samples = await scrape(app)

    assert accepted.status_code == 200, accepted.text
    assert value(samples, "routing_offers_made_total", channel="email") >= 2
    assert value(samples, "routing_offers_ended_total", channel="email", outcome="accepted") == 1
    assert value(samples, "routing_offers_ended_total", channel="email", outcome="expired") == 1
    assert value(samples, "routing_offers_ended_total", channel="email", outcome="rejected") == 0


async def test_a_call_is_counted_once_whatever_the_events_repeated(app: Running) -> None:
    gateway = {"Authorization": f"Bearer {await app.token(Role.GATEWAY, name='cti')}"}
    body = {"call_id": "call-7", "from": "+14165550123", "to": "+18005550100"}

    answers = [
        await app.client.post(
            "/inbox/v1/inbound/calls", json={**body, "event": event}, headers=gateway
        )
        for event in ("ringing", "ringing", "answered")
    ]
    samples = await scrape(app)

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    stored = {"direction": "inbound", "status": "accepted"}
    assert value(samples, "inbox_messages_stored_total", **stored, channel="phone") == 1
    assert value(samples, "inbox_messages_stored_total", **stored, channel="email") == 0


async def test_the_event_loop_lag_is_how_late_a_timer_woke() -> None:
    clock = [100.0]
    lags = [0.0, 0.004, 0.180]
    observed: list[float] = []

    async def sleep(seconds: float) -> None:
        if not lags:
            raise asyncio.CancelledError
        clock[0] += seconds + lags.pop(0)

    with pytest.raises(asyncio.CancelledError):
        await watch_loop(observed.append, interval=0.25, clock=lambda: clock[0], sleep=sleep)

    assert observed == pytest.approx([0.0, 0.004, 0.180])


async def test_one_lag_probe_runs_per_process_whatever_the_apps(app: Running) -> None:
    def probes() -> int:
        return sum(
            getattr(task.get_coro(), "__name__", "") == "watch_loop" for task in asyncio.all_tasks()
        )

    samples = await scrape(app)
    metrics = Metrics()
    async with metrics.watching_loop(), metrics.watching_loop():
        during = probes()
    after = probes()

    # The all-in-one's three services share the process's probe; a second registry has its own.
    assert ("event_loop_lag_seconds_count", frozenset()) in samples
    assert (during, after) == (2, 1)


async def test_garbage_collections_are_timed_by_generation_while_the_loop_is_watched() -> None:
    metrics = Metrics()

    def full_ones() -> float | None:
        return metrics.registry.get_sample_value(
            "python_gc_pause_seconds_count", {"generation": "2"}
        )

    gc.collect()
    async with metrics.watching_loop():
        gc.collect()
        gc.collect()
        during = full_ones()
        took = metrics.registry.get_sample_value("python_gc_pause_seconds_sum", {"generation": "2"})
    gc.collect()

    assert during == 2
    assert took is not None
    assert took > 0
    # Once nobody watches, collections are no longer timed.
    assert full_ones() == 2
