"""Real service processes on loopback for end-to-end tests, started and stopped by the test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import httpx

from shared.settings import UNPREFIXED_FIELDS

COMMAND = [sys.executable, "-m", "services"]
#: How long a server may take to answer ``/healthz``: a bound for a server that never starts,
#: generous for a loaded machine (four of them start one after the other, on two cores).
START_TIMEOUT_SECONDS = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def clean_environment(**variables: str) -> dict[str, str]:
    """The current environment without any of the product's settings, plus ``variables``."""
    prefixes = ("INBOX_", "ROUTING_", "TRANSLATION_")
    shared = {name.upper() for name in UNPREFIXED_FIELDS}
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes) and k not in shared}
    env.update({"LOG_JSON": "true", "LOG_LEVEL": "warning"})
    env.update(variables)
    return env


def run_cli(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the ``inbox`` command to completion and capture what it printed."""
    return subprocess.run(
        [*COMMAND, *args], env=dict(env), capture_output=True, text=True, timeout=60, check=False
    )


@dataclass(frozen=True)
class Served:
    """A running ``inbox serve`` process, its base URL, and what it wrote to stderr."""

    url: str
    process: subprocess.Popen[str]
    log: IO[str]

    def stderr(self) -> str:
        """Everything the process wrote to stderr so far."""
        self.log.seek(0)
        return self.log.read()


@contextmanager
def serving(*args: str, port: int, env: Mapping[str, str]) -> Iterator[str]:
    """Start ``inbox serve …`` on the port; yields its base URL once ``/healthz`` answers."""
    with started(*args, port=port, env=env) as served:
        yield served.url


@contextmanager
def started(*args: str, port: int, env: Mapping[str, str]) -> Iterator[Served]:
    """Start ``inbox serve …`` on the port; yields it once ``/healthz`` answers, for a test that
    must also act on the process (kill it); stops it afterwards unless it already ended."""
    # stderr goes to a file: a pipe that nobody reads while the server runs fills up (64 KiB of
    # logged errors under load) and then stops the whole server at its next log line.
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as log:
        process = subprocess.Popen(
            [*COMMAND, "serve", *args, "--port", str(port)],
            env=dict(env),
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
        )
        served = Served(f"http://127.0.0.1:{port}", process, log)
        try:
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"server exited early: {served.stderr()}")
                try:
                    if httpx.get(f"{served.url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"server on port {port} did not answer /healthz within "
                        f"{START_TIMEOUT_SECONDS} s; its stderr: {served.stderr()}"
                    )
                time.sleep(0.1)  # polling for readiness, not timing a behaviour
            yield served
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
