"""The inbox's own error codes."""

from __future__ import annotations

from shared.errors import NotFound


class TokenNotFound(NotFound):
    code = "token.not_found"
    title = "Token not found"
    detail_template = "There is no API token {token_id}."
