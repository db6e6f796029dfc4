"""A server killed mid-way loses nothing it acknowledged and does nothing twice.

`inbox serve` runs as a real process on the run's backend and is killed with SIGKILL (no
shutdown of any kind: requests in flight, commits under way and outbox deliveries are cut
wherever they are), then started again on the same database and data directory.

- Inbound: gateway clients post corpus messages concurrently; once some have been acknowledged
  the process is killed, and after the restart the gateway posts every message again, as a
  gateway does when it is not sure.
- Outbound: the process is killed while the mail server holds an agent's reply unanswered;
  after the restart the reply goes out once.
"""

from __future__ import annotations

import asyncio
import email
import hashlib
import signal
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from services.inbox.ingest.mime import normalize_message_id, parse_email
from tests.inbox.builders import email as build_email
from tests.inbox.test_mime import CORPUS, INDEX, UNPARSEABLE
from tests.support.processes import clean_environment, free_port, run_cli, started
from tests.support.smtp import RecordingHandler, serving_smtp

SAMPLE = 40
CLIENTS = 4
#: Acknowledged posts before the kill: the others are in flight or not yet sent.
KILL_AFTER = 12
#: Less than the default lease (30 s): on SQLite the restart must not wait for it.
SETTLE_SECONDS = 20
SERVICES_WITH_OUTBOX = ("inbox", "routing")
RAW = {"Content-Type": "message/rfc822"}


def sample() -> list[tuple[str, bytes]]:
    """Distinct corpus messages that are routed (not auto-replies), with and without files."""
    picked: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for row in INDEX:
        path = str(row["path"])
        message_id = normalize_message_id(row["message_id"])
        if path in UNPARSEABLE or message_id is None or message_id in seen:
            continue
        raw = (CORPUS / path).read_bytes()
        if parse_email(raw).auto_reply:
            continue
        seen.add(message_id)
        picked.append((path, raw))
        if len(picked) == SAMPLE:
            break
    return picked


async def post_all(
    url: str, token: str, messages: list[tuple[str, bytes]], *, kill: Callable[[], None] | None
) -> dict[str, dict[str, Any] | None]:
    """Post every message with concurrent clients; a receipt per path, None where the connection
    failed. With ``kill``, calls it as the KILL_AFTER-th acknowledgement arrives."""
    waiting = list(messages)
    receipts: dict[str, dict[str, Any] | None] = {}
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "message/rfc822"}

    async def client(http: httpx.AsyncClient) -> None:
        while waiting:
            path, raw = waiting.pop(0)
            try:
                answer = await http.post("/inbox/v1/inbound/email", content=raw, headers=headers)
            except httpx.TransportError:
                receipts[path] = None
                continue
            assert answer.status_code == 202, (path, answer.status_code, answer.text[:300])
            receipts[path] = answer.json()
            acknowledged = sum(receipt is not None for receipt in receipts.values())
            if kill is not None and acknowledged == KILL_AFTER:
                kill()

    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))
    return receipts


def environment(db_url: str, tmp_path: Path, **variables: str) -> dict[str, str]:
    """The server's environment. Deliveries a kill cut short are taken up again: on SQLite,
    where one process serves, by the next process as it starts; on PostgreSQL, where replicas
    share the outbox, once their lease ends (shortened here, to less than the settling bound)."""
    lease = {} if db_url.startswith("sqlite") else {"OUTBOX_LEASE_SECONDS": "2"}
    return clean_environment(
        DATABASE_URL=db_url, DATA_DIR=str(tmp_path / "data"), **lease, **variables
    )


def api(url: str, token: str) -> httpx.AsyncClient:
    """A client of the server acting with this token."""
    return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


async def backlog(http: httpx.AsyncClient) -> dict[str, float]:
    """The outbox figures an operator scrapes, per service."""
    figures: dict[str, float] = {}
    for family in text_string_to_metric_families((await http.get("/metrics")).text):
        if family.name in ("outbox_events_waiting", "outbox_dead_letters"):
            for sample_ in family.samples:
                figures[f"{family.name}:{sample_.labels['service']}"] = sample_.value
    return figures


async def settled(http: httpx.AsyncClient) -> dict[str, float]:
    """Waits (bounded) until no service's outbox holds an event still to deliver; returns the
    figures as last scraped."""
    deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
    while True:
        figures = await backlog(http)
        waiting = [v for k, v in figures.items() if k.startswith("outbox_events_waiting")]
        if len(waiting) == len(SERVICES_WITH_OUTBOX) and not any(waiting):
            return figures
        if asyncio.get_running_loop().time() > deadline:
            return figures
        await asyncio.sleep(0.1)  # polling the relays' progress, not timing a behaviour


async def conversations(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every conversation, read one by one after listing them page by page."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        page = (await http.get("/inbox/v1/conversations", params=params)).json()
        for item in page["items"]:
            read = await http.get(f"/inbox/v1/conversations/{item['id']}")
            assert read.status_code == 200
            found.append(read.json())
        cursor = page.get("next_cursor")
        if not cursor:
            return found


async def files_of_acknowledged(
    http: httpx.AsyncClient, acknowledged: dict[str, dict[str, Any]]
) -> int:
    """Checks that every acknowledged message is stored, with each of its files whole; returns
    how many files were checked."""
    checked = 0
    for path, receipt in acknowledged.items():
        read = await http.get(f"/inbox/v1/conversations/{receipt['conversation_id']}")
        assert read.status_code == 200, f"{path}: acknowledged, then lost ({read.status_code})"
        stored = {message["id"]: message for message in read.json()["messages"]}
        assert receipt["message_id"] in stored, f"{path}: acknowledged, then lost"
        for attachment in stored[receipt["message_id"]]["attachments"]:
            if not attachment["stored"]:
                continue
            body = await http.get(
                f"/inbox/v1/conversations/{receipt['conversation_id']}"
                f"/attachments/{attachment['id']}"
            )
            assert body.status_code == 200, path
            assert hashlib.sha256(body.content).hexdigest() == attachment["sha256"], path
            checked += 1
    return checked


async def test_a_killed_server_keeps_what_it_acknowledged_and_retries_store_once(
    db_url: str, tmp_path: Path
) -> None:
    messages = sample()
    env = environment(db_url, tmp_path)
    port = free_port()
    gateway = run_cli("token", "create", "--role", "gateway", env=env)
    admin = run_cli("token", "create", "--role", "admin", env=env)
    assert gateway.returncode == admin.returncode == 0

    with started(port=port, env=env) as served:

        def kill() -> None:
            served.process.kill()
            served.process.wait()

        before = await post_all(served.url, gateway.stdout.strip(), messages, kill=kill)
        assert served.process.returncode == -signal.SIGKILL

    acknowledged = {path: receipt for path, receipt in before.items() if receipt is not None}
    assert len(acknowledged) >= KILL_AFTER
    assert len(acknowledged) < SAMPLE  # the kill cut the burst short

    with started(port=port, env=env) as served:
        async with api(served.url, admin.stdout.strip()) as http:
            # What was acknowledged is there, with its files, before anything is posted again.
            assert await files_of_acknowledged(http, acknowledged) > 0
            after = await post_all(served.url, gateway.stdout.strip(), messages, kill=None)
            figures = await settled(http)
            everything = await conversations(http)

    # Retried: the acknowledged ones are duplicates of themselves; every message stored once.
    for path, receipt in acknowledged.items():
        again = after[path]
        assert again is not None
        assert again["duplicate"] is True, path
        assert (again["message_id"], again["conversation_id"]) == (
            receipt["message_id"],
            receipt["conversation_id"],
        ), path
    assert all(receipt is not None for receipt in after.values())
    posted = {receipt["message_id"] for receipt in after.values() if receipt is not None}
    inbound = [
        message["id"]
        for conversation in everything
        for message in conversation["messages"]
        if message["direction"] == "inbound"
    ]
    assert len(posted) == SAMPLE
    assert sorted(inbound) == sorted(posted)

    # The hand-offs cut by the kill were delivered after the restart, each once: every
    # conversation reached a queue, and none got its acknowledgement twice.
    assert figures == {
        f"{figure}:{service}": 0
        for figure in ("outbox_events_waiting", "outbox_dead_letters")
        for service in SERVICES_WITH_OUTBOX
    }
    assert {conversation["routing_status"] for conversation in everything} == {"queued"}
    outbound = [
        message
        for conversation in everything
        for message in conversation["messages"]
        if message["direction"] == "outbound"
    ]
    per_conversation = Counter(
        conversation["id"]
        for conversation in everything
        for message in conversation["messages"]
        if message["direction"] == "outbound"
    )
    assert outbound
    assert max(per_conversation.values()) == 1
    assert {message["status"] for message in outbound} == {"sent"}
    assert len(list((tmp_path / "data" / "mail").glob("*.eml"))) == len(outbound)


@dataclass
class HoldingHandler(RecordingHandler):
    """Holds the first DATA unanswered until released, as a mail server that is slow to answer;
    what it was holding is not accepted: its client is gone by then."""

    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.arrived.is_set():
            self.attempts += 1
            self.arrived.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
            return "421 4.4.2 Connection dropped"
        return await super().handle_DATA(server, session, envelope)


async def test_a_reply_cut_short_by_a_kill_goes_out_once_after_the_restart(
    db_url: str, tmp_path: Path
) -> None:
    handler = HoldingHandler()
    with serving_smtp(handler=handler) as smtp:
        env = environment(
            db_url,
            tmp_path,
            INBOX_SMTP_HOST=smtp.host,
            INBOX_SMTP_PORT=str(smtp.port),
            INBOX_SMTP_SECURITY="none",
            INBOX_AUTO_ACKNOWLEDGE="false",
        )
        port = free_port()
        gateway = run_cli("token", "create", "--role", "gateway", env=env).stdout.strip()
        supervisor = run_cli("token", "create", "--role", "supervisor", env=env).stdout.strip()
        customer = build_email(message_id="<avant-panne@exemple.ca>", to="factures@centre.example")

        try:
            with started(port=port, env=env) as served:
                async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
                    received = await http.post(
                        "/inbox/v1/inbound/email",
                        content=customer,
                        headers={"Authorization": f"Bearer {gateway}", **RAW},
                    )
                    conversation_id = received.json()["conversation_id"]
                    reply = await http.post(
                        f"/inbox/v1/conversations/{conversation_id}/replies",
                        json={"text": "Bonjour Marie,\n\nVotre facture a été corrigée."},
                        headers={"Authorization": f"Bearer {supervisor}"},
                    )
                    assert reply.status_code == 201, reply.text
                # The mail server has the message and has not answered yet: the process dies.
                assert await asyncio.to_thread(handler.arrived.wait, SETTLE_SECONDS)
                served.process.kill()
                served.process.wait()
        finally:
            handler.release.set()  # never left holding, whatever happened

        with started(port=port, env=env) as served:
            async with api(served.url, supervisor) as http:
                figures = await settled(http)
                conversation = (await http.get(f"/inbox/v1/conversations/{conversation_id}")).json()

    assert figures["outbox_events_waiting:inbox"] == 0
    [sent] = smtp.messages
    assert email.message_from_bytes(sent.data)["Message-ID"] == (
        f"<{reply.json()['message_id_header']}>"
    )
    assert handler.attempts == 2  # the one cut short, then the one accepted
    assert [m["status"] for m in conversation["messages"]] == ["accepted", "sent"]
