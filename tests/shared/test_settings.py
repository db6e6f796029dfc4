"""Settings: a prefix per service, shared names as a fallback, bad values refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.inbox.settings import InboxSettings
from services.routing.settings import RoutingSettings
from shared.settings import unknown_variables


def test_service_prefix_wins_over_the_shared_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://db/shared")
    monkeypatch.setenv("ROUTING_DATABASE_URL", "postgresql+asyncpg://db/routing")
    monkeypatch.setenv("INBOX_SERVICE_TOKEN", "s3cret")

    inbox, routing = InboxSettings(), RoutingSettings()

    assert inbox.database_url == "postgresql+asyncpg://db/shared"
    assert routing.database_url == "postgresql+asyncpg://db/routing"
    assert inbox.service_token is not None
    assert inbox.service_token.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(inbox)


def test_only_shared_fields_fall_back_to_unprefixed_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN_CACHE_SECONDS", "99")

    assert InboxSettings().token_cache_seconds == 10.0
    assert "TOKEN_CACHE_SECONDS" not in InboxSettings.env_names()
    assert {"INBOX_DATABASE_URL", "DATABASE_URL", "INBOX_GATEWAY_SECRETS"} <= (
        InboxSettings.env_names()
    )


def test_every_common_setting_may_be_set_once_for_all_services(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_POOL_SIZE", "25")
    monkeypatch.setenv("OUTBOX_LEASE_SECONDS", "7")
    monkeypatch.setenv("PEER_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("RUN_WORKERS", "false")
    monkeypatch.setenv("ROUTING_OUTBOX_LEASE_SECONDS", "12")

    inbox, routing = InboxSettings(), RoutingSettings()

    assert (inbox.database_pool_size, routing.database_pool_size) == (25, 25)
    assert (inbox.peer_timeout_seconds, inbox.run_workers) == (2.5, False)
    assert (inbox.outbox_lease_seconds, routing.outbox_lease_seconds) == (7.0, 12.0)
    assert {"OUTBOX_LEASE_SECONDS", "INBOX_OUTBOX_LEASE_SECONDS"} <= InboxSettings.env_names()


def test_a_bad_common_setting_is_refused_by_its_unprefixed_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_POOL_SIZE", "many")

    with pytest.raises(ValidationError, match="database_pool_size"):
        InboxSettings()


def test_unknown_database_backend_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOX_DATABASE_URL", "mysql://db/inbox")

    with pytest.raises(ValidationError, match="sqlite\\+aiosqlite"):
        InboxSettings()


def test_gateway_secrets_are_read_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOX_GATEWAY_SECRETS", '{"postfix": "a", "sendgrid": "b"}')

    secrets = InboxSettings().gateway_secrets

    assert {name: value.get_secret_value() for name, value in secrets.items()} == {
        "postfix": "a",
        "sendgrid": "b",
    }


def test_outgoing_mail_gives_up_after_five_days_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    default = InboxSettings().outbound_max_queue_hours
    monkeypatch.setenv("INBOX_OUTBOUND_MAX_QUEUE_HOURS", "48")

    assert default == 120
    assert InboxSettings().outbound_max_queue_hours == 48


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0", "greater than 0"),
        ("-24", "greater than 0"),
        ("five days", "valid number"),
        ("721", "less than or equal to 720"),
    ],
)
def test_a_queue_lifetime_out_of_range_or_not_a_number_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, reason: str
) -> None:
    monkeypatch.setenv("INBOX_OUTBOUND_MAX_QUEUE_HOURS", value)

    with pytest.raises(ValidationError, match=reason) as refused:
        InboxSettings()

    assert [error["loc"] for error in refused.value.errors()] == [("outbound_max_queue_hours",)]


def test_a_variable_with_a_service_prefix_that_is_no_setting_is_named_with_its_likely_meaning() -> (
    None
):
    environ = {
        "INBOX_OUTBOX_LEASE_SECOND": "5",  # a letter short
        "INBOX_SWEEP_SECONDS": "1",  # routing's setting, under the inbox's prefix
        "ROUTING_COLOUR": "blue",  # nothing close
        "ROUTING_SWEEP_SECONDS": "1",
        "INBOX_DATABASE_URL": "sqlite+aiosqlite:///x.db",
        "INBOX_URL": "http://inbox",  # a common setting that happens to start like a prefix
        "DATABASE_URL": "sqlite+aiosqlite:///x.db",
        "PATH": "/usr/bin",
    }

    assert unknown_variables([InboxSettings, RoutingSettings], environ) == [
        ("INBOX_OUTBOX_LEASE_SECOND", "INBOX_OUTBOX_LEASE_SECONDS"),
        ("INBOX_SWEEP_SECONDS", "ROUTING_SWEEP_SECONDS"),
        ("ROUTING_COLOUR", None),
    ]
