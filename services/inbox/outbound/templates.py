"""Template replies: the variables the inbox fills in, rendering through the translation client,
and the translation service's refusals turned into the inbox's own localized errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.inbox.errors import (
    ReplyTemplateLanguage,
    ReplyTemplateNotFound,
    ReplyTemplateVariables,
)
from services.inbox.models import ContactIdentity, Conversation
from services.inbox.no_reply import is_no_reply
from shared.clients.base import PeerRejected
from shared.clients.translation import TranslationClient
from shared.contracts.translation import RenderedTemplate, TemplateRenderRequest, TemplateSummary
from shared.errors import FieldError
from shared.i18n import Term
from shared.problems import GENERIC_REASON
from shared.terms import language_name

REASON_MISSING_VARIABLE = "Template '{key}' needs this variable."
REASON_UNKNOWN_VARIABLE = "Template '{key}' does not declare this variable."
#: What a value of each variable type must be (the translation service's types).
REASONS_INVALID_VARIABLE = {
    "text": "Must be text without control characters.",
    "number": "Must be a number.",
    "money": "Must be an amount, or an amount and an ISO 4217 currency.",
    "date": "Must be a date (YYYY-MM-DD).",
    "time": "Must be a time (HH:MM).",
    "datetime": "Must be a date and time with a time zone.",
    "duration": "Must be a duration of zero or more seconds.",
    "phone": "Must be a phone number, in international form (+1 514-555-0177) or of the "
    "customer's country.",
}
#: What a figure beyond the translation service's bound (its problem's ``limit``) must be.
REASONS_OUT_OF_RANGE = {
    "number": "Must be a number between -{limit} and {limit}.",
    "money": "Must be an amount between -{limit} and {limit}.",
    "duration": "Must be a duration of at most {limit} seconds.",
}


#: ``queue_name`` before routing names the conversation's queue (``conversation.queued``): the
#: department, as the seeded signatures name it, in each language.
UNROUTED_QUEUE_NAME = {"en": "Customer Service", "fr": "Service à la clientèle"}


@dataclass(frozen=True, slots=True)
class Worded:
    """A value written in each language: a text in French reads ``fr``, in English ``en``."""

    en: str
    fr: str


async def standard_variables(
    session: AsyncSession, conversation: Conversation, *, author_name: str | None
) -> dict[str, object]:
    """The variables the inbox knows by itself (documented in schemas.STANDARD_VARIABLES).

    ``customer_name`` is always given, empty when the customer gave no name, as for the
    automatic acknowledgement: "Hello {customer_name}," then reads "Hello,". It is the
    contact's name, else the name the customer last wrote with from one of their own addresses:
    never that of someone else whose email joined the thread (a colleague answering our email
    is a contact of their own), nor a no-reply sender's (a web form's email is the Reply-To
    customer's, its sender's name the form's).

    ``queue_name`` is the queue routing named for the conversation, else the department's
    name in each language (``Worded``), so that a text showing it never reads a gap."""
    theirs = await _customer_addresses(session, conversation)
    inbound_names = [
        greeting_name(m.from_name)
        for m in conversation.messages
        if m.direction == "inbound"
        and (m.from_address or "").lower() in theirs
        and not is_no_reply(m.from_address)
    ]
    known: dict[str, object | None] = {
        "reference": conversation.reference,
        "agent_name": author_name,
    }
    customer_name = greeting_name(conversation.contact.display_name) or next(
        (name for name in reversed(inbound_names) if name), ""
    )
    queue_name = conversation.queue_name or Worded(**UNROUTED_QUEUE_NAME)
    return {"customer_name": customer_name, "queue_name": queue_name} | {
        name: value for name, value in known.items() if value
    }


async def _customer_addresses(session: AsyncSession, conversation: Conversation) -> set[str]:
    """Every address and number of the conversation's customer, lower-cased."""
    values = await session.scalars(
        select(ContactIdentity.value).where(ContactIdentity.contact_id == conversation.contact_id)
    )
    return {value.lower() for value in values}


def greeting_name(display_name: str | None) -> str:
    """The name to greet the customer by, or "" when there is none: an address is no name to
    greet anyone by (mailers often repeat it as the display name)."""
    name = (display_name or "").strip()
    return "" if "@" in name else name


async def render_reply_template(
    translation: TranslationClient,
    *,
    key: str,
    language: str,
    variables: Mapping[str, object],
    explicit: set[str],
) -> RenderedTemplate:
    """The template rendered in ``language`` (both for ``und``) with the variables it declares,
    a ``Worded`` value in each text's own language; raises ReplyTemplateNotFound,
    ReplyTemplateLanguage, ReplyTemplateVariables or PeerUnavailable."""
    try:
        template = await translation.get_template(key)
    except PeerRejected as rejected:
        if rejected.params.get("peer_status") == 404:
            raise _not_found(key) from rejected
        raise
    declared = _declared(template, language)
    if declared is None:
        raise _no_version(key, language)
    problems = [
        FieldError(
            f"variables.{name}", "variable_unknown", REASON_UNKNOWN_VARIABLE, (("key", key),)
        )
        for name in sorted(explicit - set(declared))
    ] + [
        FieldError(
            f"variables.{name}", "variable_missing", REASON_MISSING_VARIABLE, (("key", key),)
        )
        for name in sorted(set(declared) - set(variables))
    ]
    if problems:
        raise ReplyTemplateVariables(key=key, errors=problems)
    given = {name: value for name, value in variables.items() if name in declared}
    worded = {name: value for name, value in given.items() if isinstance(value, Worded)}
    request = TemplateRenderRequest(
        locale=language if language in ("en", "fr") else "und",
        variables={name: value for name, value in given.items() if name not in worded},
        language_variables={
            "en": {name: value.en for name, value in worded.items()},
            "fr": {name: value.fr for name, value in worded.items()},
        }
        if worded
        else {},
    )
    try:
        return await translation.render_template(key, request)
    except PeerRejected as rejected:
        raise _template_problem(rejected, key=key, language=language, types=declared) from rejected


def _declared(template: TemplateSummary, language: str) -> dict[str, str] | None:
    """The variables (name: type) the versions rendered for ``language`` declare; None when the
    template has no version in that language."""
    wanted = ("en", "fr") if language not in ("en", "fr") else (language,)
    versions = [v for v in template.versions if v.locale.split("-")[0].lower() in wanted]
    if not versions:
        return None
    return {variable.name: variable.type for version in versions for variable in version.variables}


def _not_found(key: str) -> ReplyTemplateNotFound:
    return ReplyTemplateNotFound(
        key=key,
        errors=[FieldError("template_key", "template_not_found", ReplyTemplateNotFound.title)],
    )


def _no_version(key: str, language: str) -> ReplyTemplateLanguage:
    # "und" renders both versions: a template with neither lacks "English or French".
    name = language_name(language) if language in ("en", "fr") else Term("English or French")
    return ReplyTemplateLanguage(
        key=key,
        language=name,
        errors=[FieldError("language", "template_language", ReplyTemplateLanguage.title)],
    )


def _template_problem(
    rejected: PeerRejected, *, key: str, language: str, types: Mapping[str, str]
) -> Exception:
    """Our error for the translation service's refusal to render, with its fields."""
    code = str(rejected.problem.get("code", ""))
    if code == "template.not_found":
        return _not_found(key)
    if code in ("template.version_not_found", "template.locale_unsupported"):
        return _no_version(key, language)
    if code.startswith("template.variable_"):
        # The peer's reasons are already formatted in one language: ours are localized.
        limit = rejected.problem.get("limit")
        fields = []
        for item in rejected.problem.get("errors", []):
            where = str(item.get("field", "")) if isinstance(item, dict) else ""
            name = where.removeprefix("variables.")
            params: tuple[tuple[str, object], ...] = (("key", key),)
            if code == "template.variable_missing":  # e.g. a null value given
                reason = REASON_MISSING_VARIABLE
            elif _is_bound(limit) and types.get(name) in REASONS_OUT_OF_RANGE:
                reason, params = REASONS_OUT_OF_RANGE[types[name]], (*params, ("limit", limit))
            else:
                reason = REASONS_INVALID_VARIABLE.get(types.get(name, ""), GENERIC_REASON)
            fields.append(
                FieldError(where or "variables", code.removeprefix("template."), reason, params)
            )
        return ReplyTemplateVariables(key=key, errors=fields)
    return rejected


def _is_bound(limit: object) -> bool:
    """Whether the peer's ``limit`` is a bound it refused a figure for (a positive integer)."""
    return isinstance(limit, int) and not isinstance(limit, bool) and limit > 0
