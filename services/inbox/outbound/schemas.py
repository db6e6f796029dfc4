"""Request models of outbound email."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.schemas import Schema


class ReplyCreate(Schema):
    """An agent's reply, sent by email to the customer in the conversation's thread."""

    text: str = Field(
        min_length=1,
        max_length=100_000,
        examples=["Bonjour Madame Tremblay,\n\nVotre facture a été corrigée."],
    )
    html: str | None = Field(
        default=None, max_length=500_000, description="Sanitized before it is sent."
    )
    language: Literal["en", "fr"] | None = Field(
        default=None, description="Defaults to the conversation's language."
    )
    confirm_language: bool = Field(
        default=False,
        description="Required to send in a language other than the customer's.",
    )
