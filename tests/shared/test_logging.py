"""Logs are JSON lines, one event each, carrying the request id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from shared.logging import configure_logging, get_logger, request_id_var


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("info", json=True, stream=stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


def test_events_are_json_with_the_request_id(log_stream: io.StringIO) -> None:
    token = request_id_var.set("req-7")
    try:
        get_logger("tests.logging").info("outbox.delivered", event_id="e-1", attempts=2)
    finally:
        request_id_var.reset(token)
    get_logger("tests.logging").debug("hidden.below.level")

    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]

    assert len(lines) == 1
    assert lines[0]["event"] == "outbox.delivered"
    assert lines[0]["request_id"] == "req-7"
    assert lines[0]["event_id"] == "e-1"
    assert lines[0]["attempts"] == 2
    assert lines[0]["level"] == "info"
    assert "timestamp" in lines[0]
