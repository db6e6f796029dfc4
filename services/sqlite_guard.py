"""One process per service on a SQLite file: a second ``inbox serve`` of a service already served
on the same file is refused at start-up.

Within a process, SQLite's writers take turns in arrival order; between processes only SQLite's
busy handler arbitrates, and under load one process's writers can starve another's until their
requests time out. Each service holds an advisory lock beside the database file while it serves;
the lock goes with the process, however it ends. Replicas need PostgreSQL.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

_HELD: list[IO[str]] = []


class ServedElsewhere(Exception):
    """Another process already serves this service on this SQLite file."""


def claim(database_url: str, services: Iterable[str]) -> None:
    """Hold each service's lock on the SQLite file for this process's life; raises
    ServedElsewhere when another process holds one. Does nothing for other databases."""
    url = make_url(database_url)
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return
    for service in services:
        path = Path(f"{database}.{service}.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+", encoding="ascii")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise ServedElsewhere(
                f"the {service} service already runs on {database} (process {holder}): on "
                "SQLite each service runs in one process; stop that one, or use PostgreSQL to "
                "run replicas"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        _HELD.append(handle)
