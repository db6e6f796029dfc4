"""Wire models of the translation service: language detection, templates and what it can do."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "text": "Bonjour, ma facture de novembre est erronée : "
                    "on m’a facturé deux fois.",
                    "hints": {"content_language": "fr-CA", "phone_region": "CA-QC"},
                },
                {"text": "Hi, I was charged twice on my November bill."},
            ]
        }
    )

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


class TemplateRenderRequest(BaseModel):
    """Variables for a template and the locale to render it in (`und`: both languages)."""

    locale: str = Field(min_length=1, max_length=35, examples=["fr-CA"])
    variables: dict[str, Any] = Field(default_factory=dict)
    #: Values already written in each language, laid over ``variables`` for that language.
    language_variables: dict[Literal["en", "fr"], dict[str, Any]] = Field(default_factory=dict)
    time_zone: str | None = Field(default=None, max_length=64)


class RenderedTemplate(BaseModel):
    key: str
    locale: str
    subject: str
    body: str


class TemplateVariable(BaseModel):
    """A variable a template declares; every declared variable is required when rendering."""

    name: str
    type: str = "text"


class TemplateVersionSummary(BaseModel):
    locale: str
    variables: list[TemplateVariable] = Field(default_factory=list)


class TemplateSummary(BaseModel):
    """A template's languages and the variables each declares (its wording left out)."""

    key: str
    versions: list[TemplateVersionSummary]


class TranslationCapabilities(BaseModel):
    """What the translation service is configured to do."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"machine_translation": True, "provider": "deepl"}]}
    )

    machine_translation: bool = Field(
        description="Whether `POST /translation/v1/translate` translates; false when machine "
        "translation is off (`TRANSLATION_MT_PROVIDER=none`), and the endpoint answers 501."
    )
    provider: Literal["none", "libretranslate", "deepl"] = Field(examples=["deepl"])
