"""Wire models of the translation service: language detection."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shared.schemas import Language


class DetectHints(BaseModel):
    """Signals besides the text, used when the text alone is too short or ambiguous."""

    content_language: str | None = Field(default=None, examples=["fr-CA"])
    accept_language: str | None = Field(default=None, examples=["fr-CA,fr;q=0.9,en;q=0.5"])
    contact_language: Language | None = None
    line_language: Language | None = None
    phone_region: str | None = Field(default=None, examples=["CA-QC"])
    sender_domain: str | None = Field(default=None, examples=["exemple.fr"])


class DetectRequest(BaseModel):
    text: str = Field(max_length=200_000, examples=["Bonjour, ma facture est erronée."])
    hints: DetectHints | None = None


class LanguageScores(BaseModel):
    en: float = Field(ge=0, le=1)
    fr: float = Field(ge=0, le=1)


class DetectResult(BaseModel):
    language: Language
    confidence: float = Field(ge=0, le=1)
    evidence: list[str] = Field(examples=[["text"]])
    scores: LanguageScores
