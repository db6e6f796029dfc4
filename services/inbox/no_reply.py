"""Addresses that send but read nothing: no-reply senders, mail daemons, bounces."""

from __future__ import annotations

import re

_NO_REPLY = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|ne[-_.]?pas[-_.]?repondre|mailer[-_.]?daemon"
    r"|postmaster|bounces?)([+._-].*)?@",
    re.IGNORECASE,
)


def is_no_reply(address: str | None) -> bool:
    """Whether mail sent to this address is read by no one."""
    return bool(_NO_REPLY.match(address or ""))
