"""The translation service's error codes, and the API error for each template error."""

from __future__ import annotations

from services.translation.templates.errors import (
    MAX_MAGNITUDE,
    TWIN_MESSAGES,
    InvalidVariable,
    MissingVariable,
    TemplateError,
    TemplateSyntaxError,
    UnknownTimeZone,
    UnknownVariable,
    UnsupportedLocale,
    VersionNotFound,
)
from shared.errors import (
    AppError,
    Conflict,
    FieldError,
    InvalidInput,
    NotConfigured,
    NotFound,
    Unavailable,
)


class TemplateNotFound(NotFound):
    code = "template.not_found"
    title = "Template not found"
    detail_template = "There is no template '{key}'."


class TemplateVersionNotFound(NotFound):
    code = VersionNotFound.code
    title = "Template version not found"
    detail_template = VersionNotFound.text


class TemplateExists(Conflict):
    code = "template.exists"
    title = "Template already exists"
    detail_template = "A template '{key}' already exists: change it with PATCH instead."


class TemplateRequired(Conflict):
    code = "template.required"
    title = "Template required"
    detail_template = (
        "Template '{key}' cannot be deleted: the inbox sends it to customers automatically. "
        "Change its text with PATCH instead."
    )


class RequiredLocales(Conflict):
    code = "template.required_locales"
    title = "Template languages required"
    detail_template = (
        "Template '{key}' must keep an English and a French version: the inbox sends it to "
        "customers automatically in their language."
    )


class RequiredVariables(Conflict):
    code = "template.required_variables"
    title = "Template variables required"
    detail_template = (
        "Template '{key}' must declare exactly the variables the inbox supplies: {variables}. "
        "Change its subject and body, not its variables."
    )


class TemplateInvalid(InvalidInput):
    code = TemplateSyntaxError.code
    title = "Invalid template"
    detail_template = "The template cannot be used as written."


class LocaleRepeated(InvalidInput):
    code = "template.locale_repeated"
    title = "Repeated locale"
    detail_template = "Locale '{locale}' is given more than once."


class NoVersionLeft(InvalidInput):
    code = "template.no_versions"
    title = "No version left"
    detail_template = "A template keeps at least one version: delete the template instead."


class TwinMissing(InvalidInput):
    code = "template.missing_twin"
    title = "Missing twin"
    detail_template = TWIN_MESSAGES["missing_twin"]


class TwinVariablesDiffer(InvalidInput):
    code = "template.variables_differ"
    title = "Twins declare different variables"
    detail_template = TWIN_MESSAGES["variables_differ"]


class VariableMissing(InvalidInput):
    code = MissingVariable.code
    title = "Missing variable"
    detail_template = MissingVariable.text


class VariableUnknown(InvalidInput):
    code = UnknownVariable.code
    title = "Unknown variable"
    detail_template = UnknownVariable.text


class VariableInvalid(InvalidInput):
    code = InvalidVariable.code
    title = "Invalid variable"
    detail_template = "Variable '{name}' does not have its declared type ({expected})."


class LocaleUnsupported(InvalidInput):
    code = UnsupportedLocale.code
    title = "Unsupported locale"
    detail_template = UnsupportedLocale.text


class TimeZoneUnknown(InvalidInput):
    code = UnknownTimeZone.code
    title = "Unknown time zone"
    detail_template = UnknownTimeZone.text


class TranslationNotConfigured(NotConfigured):
    code = "translation.not_configured"
    title = "Machine translation not configured"
    detail_template = (
        "Machine translation is off on this server: set TRANSLATION_MT_PROVIDER to "
        "libretranslate or deepl."
    )


class TranslationUnavailable(Unavailable):
    code = "translation.provider_unavailable"
    title = "Translation provider unavailable"
    detail_template = (
        "The {provider} translation provider failed or did not answer in time; retry in {retry_in}."
    )


class SameLanguage(InvalidInput):
    code = "translation.same_language"
    title = "Nothing to translate"
    detail_template = "The source and target languages are both '{language}'."


_FOR_TEMPLATE_ERROR: dict[type[TemplateError], type[AppError]] = {
    TemplateSyntaxError: TemplateInvalid,
    MissingVariable: VariableMissing,
    UnknownVariable: VariableUnknown,
    InvalidVariable: VariableInvalid,
    UnsupportedLocale: LocaleUnsupported,
    UnknownTimeZone: TimeZoneUnknown,
    VersionNotFound: TemplateVersionNotFound,
}


def template_problem(error: TemplateError, *, at: str = "") -> AppError:
    """The API error for a template error; ``at`` is the path of the version in the request."""
    params = dict(error.params)
    field: str | None = None
    code = error.code
    if isinstance(error, TemplateSyntaxError):
        params["field"] = field = f"{at}{error.field}"
        code = error.reason
    elif isinstance(error, MissingVariable | UnknownVariable | InvalidVariable):
        field = f"{at}variables.{error.name}"
    elif isinstance(error, UnsupportedLocale):
        field = f"{at}locale"
    elif isinstance(error, UnknownTimeZone):
        field = f"{at}time_zone"
    reasons = [FieldError(field, code, error.message, tuple(params.items()))] if field else []
    problem = _FOR_TEMPLATE_ERROR[type(error)](error.message, errors=reasons)
    problem.params = params  # the message's placeholders, filled in the request's language
    if isinstance(error, InvalidVariable) and error.out_of_range:
        # the bound as a number too, so that a caller (the inbox) words it in its own reason
        problem.extensions["limit"] = MAX_MAGNITUDE
    return problem
