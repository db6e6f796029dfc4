"""Request and response models for bilingual templates."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field, JsonValue, TypeAdapter

from services.translation.templates.errors import TwinProblemKind
from services.translation.templates.render import TemplateVersion, Variable, VariableType
from services.translation.templates.seed import SEED_EXAMPLES, SEED_TEMPLATES
from shared.schemas import Schema

TemplateLocale = Literal["en", "fr", "en-CA", "fr-CA"]
_JSON: TypeAdapter[JsonValue] = TypeAdapter(JsonValue)


def _example_variables(key: str, language: str) -> JsonValue:
    return _JSON.validate_python(SEED_EXAMPLES[key][language])


def _version_json(version: TemplateVersion, **changes: str) -> dict[str, JsonValue]:
    variables: list[JsonValue] = [
        {"name": v.name, "type": v.type, "currency": v.currency} for v in version.variables
    ]
    return {
        "locale": version.locale,
        "subject": version.subject,
        "body": version.body,
        "variables": variables,
        "single_language": False,
        **changes,
    }


def _example_versions(key: str) -> list[JsonValue]:
    return [_version_json(version) for version in SEED_TEMPLATES if version.key == key]


# A key no seed uses, so the create example is accepted as documented.
_REMINDER_VARIABLES = (
    Variable("customer_name"),
    Variable("reference"),
    Variable("amount", "money"),
    Variable("due_on", "date"),
)
_REMINDER = (
    TemplateVersion(
        "billing.reminder",
        "en",
        "Reminder: invoice {reference} is due on {due_on:date}",
        "Hello {customer_name},\n\n"
        "This is a reminder that invoice {reference}, for {amount}, is due on {due_on:date}. "
        "If you have already paid it, please disregard this message.\n\n"
        "Customer Service",
        _REMINDER_VARIABLES,
    ),
    TemplateVersion(
        "billing.reminder",
        "fr",
        "Rappel : la facture {reference} est payable au plus tard le {due_on:date}",
        "Bonjour {customer_name},\n\n"
        "Nous vous rappelons que la facture {reference}, d'un montant de {amount}, est payable "
        "au plus tard le {due_on:date}. Si vous l'avez déjà réglée, veuillez ne pas tenir compte "
        "de ce message.\n\n"
        "Le Service à la clientèle",
        _REMINDER_VARIABLES,
    ),
)
# One language alone changes: the answer reports its twin stale until that is revised too.
_CLOSING_FRENCH_REVISED = _version_json(
    next(v for v in SEED_TEMPLATES if (v.key, v.locale) == ("conversation.closing", "fr")),
    subject="Votre demande {reference} a été réglée",
)


class VariableSpec(Schema):
    """A declared variable: every one is required when rendering."""

    name: str = Field(
        min_length=1,
        max_length=64,
        description="snake_case",
        examples=["customer_name"],
        # Documented only: the server answers a bad name as bad_name, with the field's path.
        json_schema_extra={"pattern": "^[a-z][a-z0-9_]{0,63}$"},
    )
    type: VariableType = Field(
        default="text",
        examples=["money"],
        description="How values are checked and shown: text, number, money, date, time, "
        "datetime, duration, or phone (a valid phone number, written as people write it in "
        "the rendering locale's country; international form for another country's).",
    )
    currency: str = Field(
        default="CAD",
        min_length=3,
        max_length=3,
        description="Money only: the ISO 4217 currency of a bare amount.",
    )


class VersionWrite(Schema):
    """One language of a template. Placeholders: `{name}`, `{name:type}`, `{name:date:full}`."""

    locale: TemplateLocale
    subject: str = Field(max_length=1000, examples=["Your request {reference} has been resolved"])
    body: str = Field(max_length=100_000, examples=["Hello {customer_name},\n\n…"])
    variables: list[VariableSpec] = Field(
        default_factory=list,
        max_length=50,
        description="Every placeholder of the subject and body, each declared once.",
        examples=[[{"name": "customer_name"}, {"name": "reference"}]],
    )
    single_language: bool = Field(
        default=False,
        description="Deliberately without its other-language twin (en↔fr, en-CA↔fr-CA).",
    )


class TemplateCreate(Schema):
    """A new template: each language with its twin, unless marked single-language."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "key": "billing.reminder",
                    "versions": [_version_json(version) for version in _REMINDER],
                }
            ]
        }
    )

    key: str = Field(
        min_length=1,
        max_length=100,
        description="Dotted snake_case.",
        examples=["billing.reminder"],
        # Documented only: the server answers a bad key as bad_key.
        json_schema_extra={"pattern": r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"},
    )
    versions: list[VersionWrite] = Field(min_length=1, max_length=4)


class TemplateUpdate(Schema):
    """Versions to add or replace, and locales to remove; the others stay as they are."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"versions": _example_versions("conversation.closing")},
                {"versions": [_CLOSING_FRENCH_REVISED]},
            ]
        }
    )

    versions: list[VersionWrite] = Field(default_factory=list, max_length=4)
    remove_locales: list[TemplateLocale] = Field(
        default_factory=list,
        max_length=4,
        description='Versions to delete, e.g. `["en-CA", "fr-CA"]` together; a version '
        "left without its twin must be marked `single_language`.",
    )


class VersionRead(Schema):
    locale: TemplateLocale
    subject: str
    body: str
    variables: list[VariableSpec]
    single_language: bool
    created_at: datetime
    updated_at: datetime


class TwinProblemRead(Schema):
    """A twin to review: missing, older than the other language, or declaring other variables."""

    kind: TwinProblemKind
    locale: str = Field(description="The version concerned (the older one when stale).")
    twin_locale: str
    detail: str = Field(description="In the language chosen by Accept-Language.")


class TemplateRead(Schema):
    key: str = Field(examples=["conversation.closing"])
    versions: list[VersionRead]
    problems: list[TwinProblemRead] = Field(
        description="Stale twins to review; empty when every twin is current."
    )


class RenderRequest(Schema):
    """Values for every declared variable, and the customer's locale (`und`: both languages)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "locale": "fr-CA",
                    "variables": _JSON.validate_python(
                        SEED_EXAMPLES["callback.confirmation"]["fr"]
                    ),
                    "time_zone": "America/Toronto",
                },
                {
                    "locale": "und",
                    "variables": _example_variables("callback.confirmation", "en"),
                    "time_zone": "America/Vancouver",
                },
            ]
        }
    )

    locale: str = Field(
        min_length=1,
        max_length=35,
        description="en, fr, en-CA, fr-CA…; `und` renders both languages in one message.",
    )
    variables: dict[str, JsonValue] = Field(
        default_factory=dict,
        description='Money: a number or {"amount": "12.50", "currency": "CAD"}; dates '
        "YYYY-MM-DD; datetimes ISO 8601 with an offset; durations in seconds; phones "
        "international (+15145550177) or of the locale's country, shown as people write them "
        "there (514 555-0177 in French, 514-555-0177 in English, +33 1 23 45 67 89 abroad).",
    )
    language_variables: dict[Literal["en", "fr"], dict[str, JsonValue]] = Field(
        default_factory=dict,
        description="Values already written in each language (e.g. opening hours in words), "
        "laid over `variables` for that language's text; with `und`, each half gets its own.",
    )
    time_zone: str | None = Field(
        default=None, max_length=64, description="IANA zone for datetimes, e.g. America/Toronto."
    )
    first: Literal["fr", "en"] | None = Field(
        default=None, description="With `und`: which language comes first (default: configured)."
    )


class RenderedRead(Schema):
    key: str = Field(examples=["callback.confirmation"])
    locale: str = Field(description="The formatting locale, or `und` for both languages.")
    subject: str
    body: str
