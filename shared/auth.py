"""Authentication primitives: API tokens, roles, principals and gateway request signatures."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol
from uuid import UUID

TOKEN_PREFIX = "ibx_"
SIGNATURE_TOLERANCE_SECONDS = 300


class Role(StrEnum):
    """What a credential may do. ``service`` is the services' own shared secret."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    GATEWAY = "gateway"
    SERVICE = "service"


#: Roles an API token may be created with (``service`` comes from configuration only).
TOKEN_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.GATEWAY)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role, and for agents the agent they act as."""

    role: Role
    name: str
    token_id: UUID | None = None
    agent_id: UUID | None = None


class TokenVerifier(Protocol):
    """Resolves a presented API token to its principal, or None when unknown or revoked."""

    async def verify(self, token: str) -> Principal | None: ...


def generate_token() -> str:
    """A new random API token (256 bits), shown once and stored only as its hash."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a token; SHA-256 suffices for 256-bit random secrets."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(presented: str, expected: str) -> bool:
    """Constant-time comparison of two secrets."""
    return hmac.compare_digest(presented.encode(), expected.encode())


def sign_body(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The ``X-Signature`` header value a gateway sends for this body."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


@dataclass(frozen=True)
class SignatureCheck:
    """What an ``X-Signature`` header proves: the gateway that signed, or why it proves nothing
    (``malformed``, ``stale`` with the timestamp's distance from this clock, ``mismatch``)."""

    gateway: str | None
    refusal: Literal["malformed", "stale", "mismatch"] | None = None
    skew_seconds: int = 0


def check_signature(
    header: str,
    body: bytes,
    secrets_by_gateway: dict[str, str],
    *,
    now: float | None = None,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> SignatureCheck:
    """Which gateway's secret signed this body at most ``tolerance`` seconds from now."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return SignatureCheck(None, "malformed")
    if not fields.get("v1"):
        return SignatureCheck(None, "malformed")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return SignatureCheck(None, "stale", skew_seconds=round(abs(current - timestamp)))
    signed = f"{timestamp}.".encode() + body
    for name, secret in secrets_by_gateway.items():
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, given) for given in fields["v1"]):
            return SignatureCheck(name)
    return SignatureCheck(None, "mismatch")
