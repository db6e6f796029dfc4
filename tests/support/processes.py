"""Real service processes on loopback for end-to-end tests, started and stopped by the test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from shared.settings import UNPREFIXED_FIELDS

COMMAND = [sys.executable, "-m", "services"]
START_TIMEOUT_SECONDS = 30


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
    """A running ``inbox serve`` process and its base URL."""

    url: str
    process: subprocess.Popen[str]


@contextmanager
def serving(*args: str, port: int, env: Mapping[str, str]) -> Iterator[str]:
    """Start ``inbox serve …`` on the port; yields its base URL once ``/healthz`` answers."""
    with started(*args, port=port, env=env) as served:
        yield served.url


@contextmanager
def started(*args: str, port: int, env: Mapping[str, str]) -> Iterator[Served]:
    """Start ``inbox serve …`` on the port; yields it once ``/healthz`` answers, for a test that
    must also act on the process (kill it); stops it afterwards unless it already ended."""
    process = subprocess.Popen(
        [*COMMAND, "serve", *args, "--port", str(port)],
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"server exited early: {process.stderr.read() if process.stderr else ''}"
                )
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server on port {port} did not start")
            time.sleep(0.1)  # polling for readiness, not timing a behaviour
        yield Served(base_url, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()
