"""The JSON log lines the process writes while a block runs, for tests that read the logs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shared.logging import configure_logging


@contextmanager
def captured_logs() -> Iterator[list[dict[str, Any]]]:
    """Log as in production (JSON lines) into a list, filled when the block ends."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("info", json=True, stream=stream)
    records: list[dict[str, Any]] = []
    try:
        yield records
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        records.extend(json.loads(line) for line in stream.getvalue().splitlines())
