"""The product as an operator runs it: the `inbox` command, real processes, real HTTP."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import httpx

from tests.support.apps import SERVICE_TOKEN
from tests.support.processes import clean_environment, free_port, run_cli, serving, started

TOKEN = re.compile(r"^ibx_[A-Za-z0-9_-]{43}$")


def test_all_in_one_creates_its_database_and_serves_docs(tmp_path: Path) -> None:
    database = tmp_path / "var" / "inbox.db"
    env = clean_environment(DATABASE_URL=f"sqlite+aiosqlite:///{database}")

    with serving(port=(port := free_port()), env=env) as url:
        admin = run_cli("token", "create", "--role", "admin", env=env).stdout.strip()
        docs = httpx.get(f"{url}/docs")
        spec = httpx.get(f"{url}/openapi.json").json()
        ready = httpx.get(f"{url}/readyz")
        tokens = httpx.get(f"{url}/inbox/v1/tokens", headers={"Authorization": f"Bearer {admin}"})
        anonymous = httpx.get(f"{url}/routing/v1/events")

    assert port > 0
    assert database.exists()
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    assert {"/inbox/v1/tokens", "/routing/v1/events"} <= set(spec["paths"])
    assert ready.json() == {"status": "ready"}
    assert tokens.status_code == 200
    assert tokens.json()[0]["role"] == "admin"
    assert anonymous.status_code in (401, 405)


def test_each_service_runs_alone_and_they_talk_over_http(db_url: str) -> None:
    ports = {name: free_port() for name in ("inbox", "routing", "translation")}
    env = clean_environment(
        DATABASE_URL=db_url,
        SERVICE_TOKEN=SERVICE_TOKEN,
        INBOX_ROUTING_URL=f"http://127.0.0.1:{ports['routing']}",
        INBOX_TRANSLATION_URL=f"http://127.0.0.1:{ports['translation']}",
        ROUTING_INBOX_URL=f"http://127.0.0.1:{ports['inbox']}",
        TRANSLATION_INBOX_URL=f"http://127.0.0.1:{ports['inbox']}",
    )
    agent = run_cli("token", "create", "--role", "agent", "--agent-id", str(uuid.uuid4()), env=env)
    envelope = {
        "id": str(uuid.uuid4()),
        "type": "test.ping",
        "source": "inbox",
        "occurred_at": "2026-11-22T10:00:00Z",
        "payload": {},
    }

    with (
        serving("inbox", port=ports["inbox"], env=env),
        serving("routing", port=ports["routing"], env=env) as routing,
        serving("translation", port=ports["translation"], env=env) as translation,
    ):
        as_agent = httpx.post(
            f"{routing}/routing/v1/events",
            json=envelope,
            headers={"Authorization": f"Bearer {agent.stdout.strip()}"},
        )
        service = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
        first = httpx.post(f"{routing}/routing/v1/events", json=envelope, headers=service)
        again = httpx.post(f"{routing}/routing/v1/events", json=envelope, headers=service)
        translation_ready = httpx.get(f"{translation}/readyz")
        translation_spec = httpx.get(f"{translation}/openapi.json").json()

    assert as_agent.status_code == 403
    assert first.json() == {"id": envelope["id"], "applied": True}
    assert again.json() == {"id": envelope["id"], "applied": False}
    assert translation_ready.status_code == 200
    assert translation_spec["info"]["title"] == "Translation service"


def test_token_create_prints_only_the_token(tmp_path: Path) -> None:
    env = clean_environment(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}")
    assert run_cli("db", "upgrade", env=env).returncode == 0

    created = run_cli("token", "create", "--role", "gateway", "--name", "Postfix", env=env)
    refused = run_cli("token", "create", "--role", "agent", env=env)
    bad_role = run_cli("token", "create", "--role", "root", env=env)

    assert created.returncode == 0
    assert TOKEN.match(created.stdout.strip())
    assert created.stdout.count("\n") == 1
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr.strip().count("\n") == 0
    assert bad_role.returncode == 2
    assert bad_role.stdout == ""
    with serving(port=free_port(), env=env) as url:
        admin = run_cli("token", "create", "--role", "admin", env=env).stdout.strip()
        listed = httpx.get(f"{url}/inbox/v1/tokens", headers={"Authorization": f"Bearer {admin}"})
    assert sorted(item["role"] for item in listed.json()) == ["admin", "gateway"]


def test_bad_configuration_stops_start_up_with_one_clear_line(tmp_path: Path) -> None:
    sqlite = f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
    cases = {
        "unreachable database": (
            ["serve", "--port", "1"],
            {"DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"},
            "cannot reach the database postgresql+asyncpg://postgres@127.0.0.1:1/nowhere",
        ),
        "unknown backend": (
            ["serve"],
            {"DATABASE_URL": "mysql://db/inbox"},
            "invalid setting INBOX_DATABASE_URL (or DATABASE_URL)",
        ),
        "no queue lifetime": (
            ["serve"],
            {"DATABASE_URL": sqlite, "INBOX_OUTBOUND_MAX_QUEUE_HOURS": "0"},
            "invalid setting INBOX_OUTBOUND_MAX_QUEUE_HOURS: Input should be greater than 0",
        ),
        "missing peer": (
            ["serve", "routing"],
            {"DATABASE_URL": sqlite, "SERVICE_TOKEN": "x"},
            "ROUTING_INBOX_URL is not set",
        ),
        "missing secret": (
            ["serve", "inbox"],
            {
                "DATABASE_URL": sqlite,
                "INBOX_ROUTING_URL": "http://127.0.0.1:9",
                "INBOX_TRANSLATION_URL": "http://127.0.0.1:9",
            },
            "SERVICE_TOKEN",
        ),
    }
    for label, (args, variables, expected) in cases.items():
        result = run_cli(*args, env=clean_environment(**variables))
        assert result.returncode == 2, label
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (label, result.stderr)
        assert expected in lines[0], (label, lines[0])


def test_a_misspelt_setting_is_named_at_start_up_with_the_one_meant() -> None:
    env = clean_environment(
        DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:1/nowhere",
        INBOX_OUTBOX_LEASE_SECOND="5",
    )

    result = run_cli("serve", "--port", "1", env=env)

    warning, error = result.stderr.strip().splitlines()
    assert json.loads(warning) == {
        **json.loads(warning),
        "level": "warning",
        "event": "settings.unknown_variable",
        "variable": "INBOX_OUTBOX_LEASE_SECOND",
        "did_you_mean": "INBOX_OUTBOX_LEASE_SECONDS",
    }
    assert error.startswith("inbox: cannot reach the database")


def test_a_service_already_served_on_a_sqlite_file_is_not_served_twice(tmp_path: Path) -> None:
    database = tmp_path / "inbox.db"
    env = clean_environment(
        DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        SERVICE_TOKEN=SERVICE_TOKEN,
        INBOX_ROUTING_URL="http://127.0.0.1:9",
        INBOX_TRANSLATION_URL="http://127.0.0.1:9",
    )

    with serving(port=free_port(), env=env) as url:
        second = run_cli("serve", "--port", str(free_port()), env=env)
        inbox_alone = run_cli("serve", "inbox", "--port", str(free_port()), env=env)
        first_still = httpx.get(f"{url}/readyz")
    # Once the first process is gone, so is its hold: the next one starts.
    with serving(port=free_port(), env=env) as url:
        next_one = httpx.get(f"{url}/readyz")

    for refused, service in ((second, "inbox"), (inbox_alone, "inbox")):
        assert refused.returncode == 2
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1, refused.stderr
        assert lines[0].startswith(f"inbox: the {service} service already runs on {database}")
        assert "use PostgreSQL to run replicas" in lines[0]
    assert first_still.status_code == 200
    assert next_one.status_code == 200


def test_a_stopped_server_leaves_no_parser_worker_behind(tmp_path: Path) -> None:
    env = clean_environment(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}")
    email = b"From: Lise <lise@example.ca>\r\nSubject: Facture\r\n\r\nBonjour, ma facture ?\r\n"

    with started(port=free_port(), env=env) as served:
        gateway = run_cli("token", "create", "--role", "gateway", env=env).stdout.strip()
        received = httpx.post(
            f"{served.url}/inbox/v1/inbound/email",
            content=email,
            headers={"Authorization": f"Bearer {gateway}", "Content-Type": "message/rfc822"},
        )
        served.process.terminate()
        served.process.wait(timeout=30)
        stderr = served.stderr()

    # The email was parsed by a worker process, which the stop then ended cleanly.
    assert received.status_code == 202, received.text
    assert "leaked semaphore" not in stderr, stderr
    assert "Traceback" not in stderr, stderr
