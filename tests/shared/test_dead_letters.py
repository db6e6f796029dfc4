"""Dead letters: an event refused again and again is set aside for an operator, kept whole, no
longer holds back its conversation, and can be sent again; outages never set one aside."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import ClassVar

from sqlalchemy import select

from services.inbox.models import OutboxEvent
from services.routing.models import OutboxEvent as RoutingOutboxEvent
from shared.auth import Role
from shared.clients.base import PeerRejected
from shared.contracts.events import Event, EventEnvelope
from shared.contracts.inbox_events import ConversationNeedsAgent
from shared.db import session_scope
from shared.errors import PeerUnavailable
from shared.outbox import Deliver, OutboxEventMixin, Relay, RetryLater, emit
from tests.routing.scenario import admin
from tests.shared.test_metrics import scrape, value
from tests.support.apps import Running, running_all_in_one

FRENCH = {"Accept-Language": "fr-CA"}


class Step(Event):
    event_type: ClassVar[str] = "test.step"
    conversation_id: uuid.UUID
    n: int


class Malformed(Event):
    """A needs-agent event missing everything routing needs: routing answers 422."""

    event_type: ClassVar[str] = ConversationNeedsAgent.event_type
    conversation_id: uuid.UUID


class Consumer:
    """Raises ``failure`` for the listed event ids while ``failing``; records what it applied."""

    def __init__(self, failure: Exception, ids: set[uuid.UUID] | None = None) -> None:
        self.failure = failure
        self.ids = ids
        self.failing = True
        self.applied: list[uuid.UUID] = []

    async def __call__(self, envelope: EventEnvelope) -> None:
        if self.failing and (self.ids is None or envelope.id in self.ids):
            raise self.failure
        self.applied.append(envelope.id)


async def _emit(app: Running, *events: Event, service: str = "inbox") -> list[uuid.UUID]:
    model: type[OutboxEventMixin] = OutboxEvent if service == "inbox" else RoutingOutboxEvent
    async with session_scope(app.context(service).require_sessions()) as session:
        rows = [emit(session, model, event) for event in events]
    return [row.id for row in rows]


async def _row(app: Running, event_id: uuid.UUID) -> OutboxEvent:
    async with app.context("inbox").require_sessions()() as session:
        row = await session.get(OutboxEvent, event_id)
    assert row is not None
    return row


def _relay(app: Running, deliver: Deliver, *, max_rejections: int = 2) -> Relay:
    return Relay(
        app.context("inbox").require_sessions(),
        OutboxEvent,
        deliver,
        source="inbox",
        max_backoff_seconds=0,
        max_rejections=max_rejections,
    )


async def _dead_letter(app: Running, *events: Event) -> list[uuid.UUID]:
    """The events emitted and dead-lettered at their first refusal."""
    ids = await _emit(app, *events)
    assert await _relay(app, Consumer(ValueError("bad payload")), max_rejections=1).run_once()
    return ids


async def test_an_event_routing_refuses_is_dead_lettered_and_frees_its_conversation(
    app: Running,
) -> None:
    conversation = uuid.uuid4()
    refused, later = await _emit(
        app, Malformed(conversation_id=conversation), Step(conversation_id=conversation, n=2)
    )
    # The inbox's real delivery to routing, which validates the payload and answers 422.
    relay = _relay(app, app.context("inbox").extras["deliver"], max_rejections=3)

    rounds = [await relay.run_once() for _ in range(3)]
    held = await _row(app, later)
    freed = await relay.run_once()

    # Three tries of the refused event alone: the later one waited behind it.
    assert rounds == [1, 1, 1]
    assert held.attempts == 0
    assert held.delivered_at is None
    dead = await _row(app, refused)
    assert dead.dead_at is not None
    assert dead.delivered_at is None
    assert (dead.attempts, dead.rejections) == (3, 3)
    assert "PeerRejected" in (dead.last_error or "")
    assert "422" in (dead.last_error or "")
    # Set aside, it is never tried again; its conversation's next event goes through.
    assert freed == 1
    assert (await _row(app, later)).delivered_at is not None
    assert await relay.run_once() == 0
    assert (await _row(app, refused)).attempts == 3


async def test_the_services_relay_takes_its_limit_from_the_settings(
    db_url: str, tmp_path: Path
) -> None:
    async with running_all_in_one(db_url, tmp_path / "data", outbox_max_rejections=1) as app:
        [refused] = await _emit(app, Malformed(conversation_id=uuid.uuid4()))

        assert await app.relay("inbox").run_once() == 1

        row = await _row(app, refused)
    assert row.dead_at is not None
    assert row.rejections == 1


async def test_outages_are_retried_for_as_long_as_they_last_never_dead_lettered(
    app: Running,
) -> None:
    outages: list[Exception] = [
        ConnectionError("connection refused"),
        TimeoutError(),
        PeerUnavailable(service="routing"),
        PeerRejected(service="routing", peer_status=401),
        RetryLater("452 mailbox full"),
    ]
    ids = await _emit(app, *(Step(conversation_id=uuid.uuid4(), n=n) for n in range(5)))
    consumers = [
        Consumer(outage, {event_id}) for outage, event_id in zip(outages, ids, strict=True)
    ]

    async def deliver(envelope: EventEnvelope) -> None:
        for consumer in consumers:
            if consumer.ids == {envelope.id}:
                await consumer(envelope)

    relay = _relay(app, deliver)
    rounds = [await relay.run_once() for _ in range(4)]
    during = [await _row(app, event_id) for event_id in ids]
    for consumer in consumers:
        consumer.failing = False
    recovered = await relay.run_once()

    assert rounds == [5, 5, 5, 5]
    assert all(row.dead_at is None and row.rejections == 0 for row in during)
    assert all(row.attempts == 4 for row in during)
    assert recovered == 5
    assert [consumer.applied for consumer in consumers] == [[event_id] for event_id in ids]


async def test_admins_list_dead_letters_last_set_aside_first_with_why(app: Running) -> None:
    conversation = uuid.uuid4()
    first = await _dead_letter(app, Step(conversation_id=conversation, n=1))
    second = await _dead_letter(app, Step(conversation_id=uuid.uuid4(), n=2))
    third = await _dead_letter(app, Malformed(conversation_id=uuid.uuid4()))
    headers = await admin(app)

    listed = await app.client.get("/inbox/v1/outbox/dead-letters", headers=headers)
    steps = await app.client.get(
        "/inbox/v1/outbox/dead-letters", params={"type": "test.step"}, headers=headers
    )
    pages, cursor = [], None
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = await app.client.get("/inbox/v1/outbox/dead-letters", params=params, headers=headers)
        assert page.status_code == 200, page.text
        pages += [item["id"] for item in page.json()["items"]]
        if not (cursor := page.json()["next_cursor"]):
            break

    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    newest_first = [str(event_id) for event_id in third + second + first]
    assert [item["id"] for item in items] == newest_first
    assert pages == newest_first
    oldest = items[-1]
    assert oldest["type"] == "test.step"
    assert oldest["conversation_id"] == str(conversation)
    assert oldest["payload"]["n"] == 1
    assert (oldest["attempts"], oldest["rejections"]) == (1, 1)
    assert "bad payload" in oldest["last_error"]
    assert oldest["dead_at"]
    assert oldest["occurred_at"]
    assert [item["id"] for item in steps.json()["items"]] == newest_first[1:]


async def test_only_admins_see_or_retry_dead_letters_and_a_bad_cursor_is_refused(
    app: Running,
) -> None:
    [event_id] = await _dead_letter(app, Step(conversation_id=uuid.uuid4(), n=1))
    supervisor = {"Authorization": f"Bearer {await app.token(Role.SUPERVISOR)}"}
    url = "/inbox/v1/outbox/dead-letters"

    anonymous = await app.client.get(url)
    forbidden = await app.client.get(url, headers=supervisor)
    retry_forbidden = await app.client.post(f"{url}/{event_id}/retry", headers=supervisor)
    bad_cursor = await app.client.get(
        url, params={"cursor": "not-ours"}, headers=await admin(app) | FRENCH
    )

    assert anonymous.status_code == 401
    assert forbidden.status_code == 403
    assert retry_forbidden.status_code == 403
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["code"] == "request.invalid_cursor"
    assert bad_cursor.json()["title"] == "Curseur invalide"
    row = await _row(app, event_id)
    assert row.dead_at is not None
    assert row.rejections == 1


async def test_a_retried_dead_letter_is_delivered_once_and_a_second_retry_is_refused(
    app: Running,
) -> None:
    [event_id] = await _dead_letter(app, Step(conversation_id=uuid.uuid4(), n=1))
    headers = await admin(app)
    url = f"/inbox/v1/outbox/dead-letters/{event_id}/retry"

    retried = await app.client.post(url, headers=headers)
    consumer = Consumer(ValueError("never raised"), ids=set())
    delivered = await _relay(app, consumer).run_once()
    again = await app.client.post(url, headers=headers | FRENCH)
    listed = await app.client.get("/inbox/v1/outbox/dead-letters", headers=headers)

    assert retried.status_code == 202, retried.text
    assert retried.json() == {"retried": 1}
    assert delivered == 1
    assert consumer.applied == [event_id]
    row = await _row(app, event_id)
    assert row.delivered_at is not None
    assert row.dead_at is None
    assert row.rejections == 0
    assert again.status_code == 404
    assert again.json()["code"] == "outbox.dead_letter_not_found"
    assert again.json()["title"] == "Lettre morte introuvable"
    assert "identifiant\u202f: il est inconnu" in again.json()["detail"]
    assert (await _row(app, event_id)).delivered_at == row.delivered_at
    assert listed.json()["items"] == []


async def test_retrying_an_event_that_is_not_dead_lettered_changes_nothing(app: Running) -> None:
    [pending] = await _emit(app, Step(conversation_id=uuid.uuid4(), n=1))
    relay = _relay(app, Consumer(ValueError("bad payload")), max_rejections=3)
    assert await relay.run_once() == 1
    before = await _row(app, pending)
    headers = await admin(app)

    answers = [
        await app.client.post(f"/inbox/v1/outbox/dead-letters/{event_id}/retry", headers=headers)
        for event_id in (pending, uuid.uuid4())
    ]
    malformed = await app.client.post("/inbox/v1/outbox/dead-letters/abc/retry", headers=headers)

    assert [answer.status_code for answer in answers] == [404, 404]
    assert malformed.status_code == 422
    after = await _row(app, pending)
    assert (after.rejections, after.available_at, after.dead_at) == (
        before.rejections,
        before.available_at,
        None,
    )


async def test_retrying_all_of_a_type_leaves_the_other_dead_letters(app: Running) -> None:
    steps = await _dead_letter(
        app, Step(conversation_id=uuid.uuid4(), n=1), Step(conversation_id=uuid.uuid4(), n=2)
    )
    [other] = await _dead_letter(app, Malformed(conversation_id=uuid.uuid4()))
    headers = await admin(app)

    retried = await app.client.post(
        "/inbox/v1/outbox/dead-letters/retry", params={"type": "test.step"}, headers=headers
    )
    none_left = await app.client.post(
        "/inbox/v1/outbox/dead-letters/retry", params={"type": "test.step"}, headers=headers
    )

    assert retried.status_code == 202, retried.text
    assert retried.json() == {"retried": 2}
    assert none_left.json() == {"retried": 0}
    assert [(await _row(app, event_id)).dead_at for event_id in steps] == [None, None]
    assert (await _row(app, other)).dead_at is not None


async def test_routing_has_its_own_dead_letters(app: Running) -> None:
    [event_id] = await _emit(app, Step(conversation_id=uuid.uuid4(), n=1), service="routing")
    sessions = app.context("routing").require_sessions()
    relay = Relay(
        sessions,
        RoutingOutboxEvent,
        Consumer(ValueError("bad payload")),
        source="routing",
        max_rejections=1,
    )
    assert await relay.run_once() == 1
    headers = await admin(app)

    listed = await app.client.get("/routing/v1/outbox/dead-letters", headers=headers)
    retried = await app.client.post("/routing/v1/outbox/dead-letters/retry", headers=headers)

    assert [item["id"] for item in listed.json()["items"]] == [str(event_id)]
    assert retried.json() == {"retried": 1}
    async with sessions() as session:
        dead = await session.scalar(
            select(RoutingOutboxEvent.dead_at).where(RoutingOutboxEvent.id == event_id)
        )
    assert dead is None


async def test_dead_letters_are_counted_apart_from_the_events_waiting(app: Running) -> None:
    await _dead_letter(app, Step(conversation_id=uuid.uuid4(), n=1))
    await _emit(app, Step(conversation_id=uuid.uuid4(), n=2))
    headers = await admin(app)

    samples = await scrape(app, headers)

    assert value(samples, "outbox_dead_letters", service="inbox") == 1
    assert value(samples, "outbox_events_waiting", service="inbox") == 1
    assert value(samples, "outbox_dead_letters", service="routing") == 0
