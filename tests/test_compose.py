"""docker-compose.yml runs what the code serves: commands, ports and variable names agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from services.cli import DEFAULT_PORTS, SETTINGS, _parser

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def test_each_service_runs_alone_with_a_command_the_cli_accepts() -> None:
    services = compose()["services"]

    for name, settings in SETTINGS.items():
        command = services[name]["command"]
        assert command[:3] == ["inbox", "serve", name]
        parsed = _parser().parse_args(command[1:])
        assert parsed.service == name
        assert parsed.port == DEFAULT_PORTS[name]
        assert f"{parsed.port}:{parsed.port}" in services[name]["ports"]
        assert str(parsed.port) in " ".join(services[name]["healthcheck"]["test"])
        unknown = set(services[name]["environment"]) - settings.env_names()
        assert unknown == set(), f"{name} sets variables the code never reads: {unknown}"


def test_peers_are_wired_to_the_right_ports() -> None:
    services = compose()["services"]

    assert services["inbox"]["environment"]["INBOX_ROUTING_URL"].endswith(":8002")
    assert services["inbox"]["environment"]["INBOX_TRANSLATION_URL"].endswith(":8003")
    assert services["routing"]["environment"]["ROUTING_INBOX_URL"].endswith(":8001")
    assert services["translation"]["environment"]["TRANSLATION_INBOX_URL"].endswith(":8001")
    for name in SETTINGS:
        prefix = name.upper()
        assert f"{prefix}_SERVICE_TOKEN" in services[name]["environment"]
        assert services[name]["environment"][f"{prefix}_DATABASE_URL"].startswith(
            "postgresql+asyncpg://"
        )


def test_outgoing_mail_goes_to_the_mail_catcher() -> None:
    services = compose()["services"]
    inbox = services["inbox"]["environment"]

    assert inbox["INBOX_SMTP_HOST"] == "mailcatcher"
    assert "mailcatcher" in services
    # Mailpit takes mail on 1025, in clear, without authentication.
    assert (inbox["INBOX_SMTP_PORT"], inbox["INBOX_SMTP_SECURITY"]) == ("1025", "none")


def test_migration_runs_once_before_the_services_start() -> None:
    services = compose()["services"]

    assert services["migrate"]["command"] == ["inbox", "db", "upgrade"]
    assert set(services["migrate"]["environment"]) <= SETTINGS["inbox"].env_names()
    for name in SETTINGS:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in services["postgres"]
    assert "mailcatcher" in services


def test_the_image_installs_the_package_and_ships_the_migrations() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert "COPY migrations ./migrations" in dockerfile
    assert "alembic.ini" in dockerfile
    assert "pip install" in dockerfile
