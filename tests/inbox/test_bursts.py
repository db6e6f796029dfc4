"""A customer's emails that arrive together (a burst, or a gateway catching up) thread as
they would one after the other: on PostgreSQL too, where their transactions run side by side."""

from __future__ import annotations

import asyncio

import pytest

from shared.auth import Role
from tests.inbox.builders import email
from tests.inbox.test_copies_to_two_addresses import MARIE, messages_in, post_to
from tests.inbox.test_threading_http import needs_agent_events
from tests.support.apps import Running


@pytest.fixture
async def gateway(app: Running) -> str:
    return await app.token(Role.GATEWAY)


async def test_a_customers_emails_sent_together_thread_into_one_conversation(
    app: Running, gateway: str
) -> None:
    """A burst: six emails of one customer, one subject, each its own Message-ID, posted at
    once. One conversation holds the six; one request for an agent."""
    emails = [
        email(sender=MARIE, subject="Panne", body=f"Message {n} : toujours en panne.")
        for n in range(6)
    ]

    answers = await asyncio.gather(
        *(post_to(app, gateway, raw, "billing@centre.example") for raw in emails)
    )

    assert [answer["duplicate"] for answer in answers] == [False] * 6
    assert len({answer["conversation_id"] for answer in answers}) == 1
    assert len(await messages_in(app, answers[0]["conversation_id"])) == 6
    assert len(await needs_agent_events(app)) == 1
