"""Logs are JSON lines, one event each, carrying the request id."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from shared.logging import configure_logging, get_logger, request_id_var


@pytest.fixture
def json_logging(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    del capsys  # requested first, so the handler writes to the captured stderr
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("info", json=True)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("json_logging")
def test_events_are_json_with_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    token = request_id_var.set("req-7")
    try:
        get_logger("tests.logging").info("outbox.delivered", event_id="e-1", attempts=2)
    finally:
        request_id_var.reset(token)
    get_logger("tests.logging").debug("hidden.below.level")

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]

    assert len(lines) == 1
    assert lines[0]["event"] == "outbox.delivered"
    assert lines[0]["request_id"] == "req-7"
    assert lines[0]["event_id"] == "e-1"
    assert lines[0]["attempts"] == 2
    assert lines[0]["level"] == "info"
    assert "timestamp" in lines[0]
