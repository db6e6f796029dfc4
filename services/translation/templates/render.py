"""Render bilingual templates: placeholder syntax, Babel formatting, French typography, twin rules.

Syntax. Literal text with placeholders in braces; nothing else is interpreted:

    {name}             the variable, formatted by its declared type
    {name:type}        the same, stating the declared type (a different type is a syntax error)
    {name:type:style}  date and datetime only: short, medium, long (the default) or full
    {{  }}             a literal brace

Names are lower-case ASCII snake_case (at most 64 characters). No attribute access, indexing,
conversion or expression exists, so a template can never run code or reach into an object.
A placeholder never spans lines and a subject is one line, so no value can inject a header.

Types and the values they take (Python or JSON forms):
    text      str without control characters (and without line breaks in a subject)
    number    int, float, Decimal or numeric str
    money     Money, {"amount": .., "currency": ..}, or a bare number in the declared currency (CAD)
    date      date or "YYYY-MM-DD"
    time      time or "HH:MM"
    datetime  aware datetime or ISO 8601 str with offset; shown with its zone (or in ``time_zone``)
    duration  timedelta or seconds; exact days, hours and minutes, never rounded to one unit
Every declared variable is required; None counts as missing; an undeclared one is an error.

Locales. Formatting takes any Babel locale of English or French (``fr-CA``, ``fr_CA``, ``en``...).
A bare ``fr`` or ``en`` has no default territory: it formats as Babel's ``fr`` (France:
``1 234,56 $CA``, ``09:30``) and ``en`` (United States: ``CA$1,234.56``); pass
``default_territory="CA"`` to format bare tags as Canada. Babel does all formatting except
``fr_CA`` times, written ``9 h 30`` (no leading zero, no-break spaces) as the OQLF recommends,
and the first of the month in long French dates, written ``1er avril``.

French typography applies to the literal text of French templates only, never to values:
U+202F before ; : ! ? and inside « », "straight" quotes become « guillemets » when balanced on a
line, U+00A0 before % after a number, and ' between letters becomes ’. URLs, email addresses and
digit:digit (times, ratios) are left alone.
"""

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import ClassVar, Literal, TypeVar, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time, get_datetime_format
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal, is_currency
from babel.units import format_unit

VariableType = Literal["text", "number", "money", "date", "time", "datetime", "duration"]
TwinProblemKind = Literal["missing_twin", "stale_twin", "variables_differ"]

TEMPLATE_LOCALES = ("en", "fr", "en-CA", "fr-CA")
TWIN_LOCALES = {"en": "fr", "fr": "en", "en-CA": "fr-CA", "fr-CA": "en-CA"}
DateStyle = Literal["short", "medium", "long", "full"]
DATE_STYLES: tuple[DateStyle, ...] = get_args(DateStyle)
DEFAULT_CURRENCY = "CAD"
BILINGUAL_SEPARATOR = "-" * 40
STALE_TOLERANCE = timedelta(seconds=1)

_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_KEY = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}\n]*)\}|[{}]")
_VALUE_MARK = "\ue000"  # stands for a placeholder while typography runs on the literal text
_KEEP_MARK = "\ue001"  # stands for a URL, address or time that typography must not touch
_FR_CA_TIME = "H\u00a0'h'\u00a0mm"
_T = TypeVar("_T")
_FIELD = re.compile(r"\{[^{}]*\}")

# English and French texts of every message, by code; French is typeset when read.
_TEXTS: dict[str, tuple[str, str]] = {
    "template.variable_missing": ("Variable '{name}' is required.",
                                  "La variable « {name} » est requise."),
    "template.variable_unknown": ("Variable '{name}' is not declared by this template.",
                                  "La variable « {name} » n'est pas déclarée dans ce modèle."),
    "template.variable_invalid": ("Variable '{name}' must be {expected}.",
                                  "La variable « {name} » doit être {expected}."),
    "template.locale_unsupported": ("Locale '{locale}' is not supported here: use {expected}.",
                                    "La langue « {locale} » n'est pas prise en charge ici : "
                                    "utilisez {expected}."),
    "template.time_zone_unknown": ("Unknown time zone '{zone}'.",
                                   "Fuseau horaire inconnu : « {zone} »."),
    "template.version_not_found": ("Template '{key}' has no version for '{locale}'.",
                                   "Le modèle « {key} » n'a aucune version pour « {locale} »."),
    "template.syntax": ("{field}: {reason}{where}.", "{field} : {reason}{where}."),
    "where": (" (line {line}, column {column})", " (ligne {line}, colonne {column})"),
    "unmatched_brace": ("unmatched '{brace}' (write '{brace}{brace}' for a literal one)",
                        "« {brace} » sans pendant (écrivez « {brace}{brace} » pour l'afficher)"),
    "bad_placeholder": ("'{placeholder}' is not {{name}}, {{name:type}} or {{name:type:style}}",
                        "« {placeholder} » n'est ni {{nom}}, ni {{nom:type}}, "
                        "ni {{nom:type:style}}"),
    "unknown_type": ("unknown type '{type}'", "type inconnu « {type} »"),
    "unknown_style": ("unknown style '{style}'", "style inconnu « {style} »"),
    "type_mismatch": ("'{name}' is used as {used} but declared as {type}",
                      "« {name} » est employée comme {used}, mais déclarée comme {type}"),
    "bad_name": ("'{name}' is not a unique snake_case name",
                 "« {name} » n'est pas un nom snake_case unique"),
    "bad_key": ("must be dotted snake_case, e.g. email.acknowledgement",
                "doit être en snake_case pointé, p. ex. email.acknowledgement"),
    "empty": ("is empty", "est vide"),
    "multiline": ("must be one line", "doit tenir sur une ligne"),
    "private_use": ("contains a private-use character", "contient un caractère à usage privé"),
    "text": ("text without control characters (nor line breaks in a subject)",
             "un texte sans caractère de contrôle (ni saut de ligne dans l'objet)"),
    "number": ("a number", "un nombre"),
    "money": ("an amount, or an amount and an ISO 4217 currency",
              "un montant, ou un montant et une devise ISO 4217"),
    "date": ("a date (YYYY-MM-DD)", "une date (AAAA-MM-JJ)"),
    "time": ("a time (HH:MM)", "une heure (HH:MM)"),
    "datetime": ("a date and time with a time zone",
                 "une date et une heure avec un fuseau horaire"),
    "duration": ("a duration of zero or more seconds", "une durée positive ou nulle en secondes"),
    "missing_twin": ("Template '{key}' {locale} has no {twin} twin: add it or mark {locale} "
                     "single-language.", "La version {locale} du modèle « {key} » n'a pas de "
                     "pendant {twin} : ajoutez-le ou marquez {locale} comme unilingue."),
    "stale_twin": ("Template '{key}' {locale} is older than its {twin} twin: review it.",
                   "La version {locale} du modèle « {key} » est plus ancienne que son pendant "
                   "{twin} : révisez-la."),
    "variables_differ": ("Template '{key}' {locale} and {twin} declare different variables.",
                         "Les versions {locale} et {twin} du modèle « {key} » ne déclarent pas "
                         "les mêmes variables."),
}  # fmt: skip


@lru_cache(maxsize=64)
def _french(key: str) -> str:
    fields = _FIELD.findall(_TEXTS[key][1])  # kept out of typography, like placeholders
    pieces = apply_french_typography(_FIELD.sub(_VALUE_MARK, _TEXTS[key][1])).split(_VALUE_MARK)
    return pieces[0] + "".join(f + p for f, p in zip(fields, pieces[1:], strict=True))


def _text(message: str, language: str, /, **params: object) -> str:
    french = language.lower().startswith("fr")
    return (_french(message) if french else _TEXTS[message][0]).format(**params)


class TemplateError(Exception):
    """Base of template errors: a stable ``code``, its ``params`` and ``detail()`` in en or fr."""

    code: ClassVar[str] = "template.invalid"

    def __init__(self, **params: str) -> None:
        self.params = params
        super().__init__(self.detail("en"))

    def detail(self, language: str = "en") -> str:
        """The explanation in French for any fr* tag, else in English."""
        return _text(self.code, language, **self.params)


class TemplateSyntaxError(TemplateError):
    """A template (key, subject, body or declarations) that cannot be used; ``reason`` is a code."""

    code = "template.syntax"

    def __init__(self, field: str, reason: str, *, line: int = 0, column: int = 0, **params: str):
        self.field, self.reason, self.line, self.column = field, reason, line, column
        super().__init__(field=field, reason=reason, **params)

    def detail(self, language: str = "en") -> str:
        """The explanation, with the line and column when known, in French or English."""
        where = _text("where", language, line=self.line, column=self.column) if self.line else ""
        reason = _text(self.reason, language, **self.params)
        return _text(self.code, language, field=self.field, reason=reason, where=where)


class _VariableError(TemplateError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(name=name)


class MissingVariable(_VariableError):
    code = "template.variable_missing"


class UnknownVariable(_VariableError):
    code = "template.variable_unknown"


class InvalidVariable(TemplateError):
    code = "template.variable_invalid"

    def __init__(self, name: str, expected: str) -> None:
        self.name, self.expected = name, expected
        super().__init__(name=name, expected=expected)

    def detail(self, language: str = "en") -> str:
        """What the variable must be, in French or English."""
        expected = _text(self.expected, language)
        return _text(self.code, language, name=self.name, expected=expected)


class UnsupportedLocale(TemplateError):
    code = "template.locale_unsupported"

    def __init__(self, locale: str, expected: str = "en/fr") -> None:
        self.locale, self.expected = locale, expected
        super().__init__(locale=locale, expected=expected)


class UnknownTimeZone(TemplateError):
    code = "template.time_zone_unknown"

    def __init__(self, zone: str) -> None:
        self.zone = zone
        super().__init__(zone=zone)


class VersionNotFound(TemplateError):
    code = "template.version_not_found"

    def __init__(self, key: str, locale: str) -> None:
        self.key, self.locale = key, locale
        super().__init__(key=key, locale=locale)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in an ISO 4217 currency."""

    amount: Decimal
    currency: str = DEFAULT_CURRENCY


@dataclass(frozen=True, slots=True)
class Variable:
    """A declared variable: its name and the type its values are checked and formatted as."""

    name: str
    type: VariableType = "text"
    currency: str = DEFAULT_CURRENCY  # money only: the currency of a bare amount


@dataclass(frozen=True, slots=True)
class TemplateVersion:
    """One language of a template: what the store keeps and what rendering reads."""

    key: str
    locale: str  # one of TEMPLATE_LOCALES
    subject: str
    body: str
    variables: tuple[Variable, ...] = ()
    single_language: bool = False
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A rendered subject and body, ready to send."""

    subject: str
    body: str
    locale: str  # BCP 47 tag of the formatting locale, or "und" for a bilingual message


@dataclass(frozen=True, slots=True)
class TwinProblem:
    """A broken twin rule for one key: a missing, stale or mismatched other-language version."""

    key: str
    locale: str  # missing_twin: the lone version; stale_twin: the older one; else the English one
    twin_locale: str
    kind: TwinProblemKind

    def detail(self, language: str = "en") -> str:
        """The problem in French for any fr* tag, else in English."""
        return _text(self.kind, language, key=self.key, locale=self.locale, twin=self.twin_locale)


@dataclass(frozen=True, slots=True)
class _Placeholder:
    name: str
    type: str | None
    style: DateStyle | None


_Segment = str | _Placeholder
_PROTECTED = re.compile(
    r"(?:https?://|ftp://|mailto:|tel:|www\.)[^\s<>«»\"]+?(?=[.,;:!?)\]»'\"]*(?:\s|\Z))"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|\d+(?::\d+)+"
)
_SPACES = "[ \t\u00a0\u202f]*"


def apply_french_typography(text: str) -> str:
    """French punctuation spacing, guillemets and apostrophes, leaving URLs, addresses, times."""
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return _KEEP_MARK

    text = _PROTECTED.sub(keep, text)
    text = "\n".join(_guillemets(line) for line in text.split("\n"))
    text = re.sub(rf"«{_SPACES}(?=\S)", "«\u202f", text)
    text = re.sub(rf"(?<=\S){_SPACES}»", "\u202f»", text)
    text = re.sub(rf"(?<=[^\s;:!?(\[«]){_SPACES}([;:!?])", "\u202f\\1", text)
    text = re.sub(rf"(?<=[\d{_VALUE_MARK}]){_SPACES}%", "\u00a0%", text)
    text = re.sub(rf"(?<=[\w{_VALUE_MARK}])'(?=[\w{_VALUE_MARK}])", "’", text)
    pieces = text.split(_KEEP_MARK)
    return pieces[0] + "".join(k + p for k, p in zip(kept, pieces[1:], strict=True))


def _guillemets(line: str) -> str:
    parts = line.split('"')
    if len(parts) % 2 == 0:
        return line  # an unbalanced quote cannot be placed safely
    return "".join(p + ("«»"[i % 2] if i < len(parts) - 1 else "") for i, p in enumerate(parts))


def _syntax(field: str, text: str, at: int, reason: str, /, **params: str) -> TemplateSyntaxError:
    line = text.count("\n", 0, at) + 1
    column = at - text.rfind("\n", 0, at)
    return TemplateSyntaxError(field, reason, line=line, column=column, **params)


@lru_cache(maxsize=1024)
def _compile(text: str, field: str, french: bool) -> tuple[_Segment, ...]:
    segments: list[_Segment] = []
    literal: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        literal.append(text[position : match.start()])
        position = match.end()
        if match.group(0) in ("{{", "}}"):
            literal.append(match.group(0)[0])
        elif match.group(1) is None:
            raise _syntax(field, text, match.start(), "unmatched_brace", brace=match.group(0))
        else:
            segments.append("".join(literal))
            segments.append(_placeholder(match.group(1), field, text, match.start()))
            literal = []
    segments.append("".join([*literal, text[position:]]))
    if _VALUE_MARK in text or _KEEP_MARK in text:
        raise TemplateSyntaxError(field, "private_use")
    if not french:
        return tuple(segments)
    joined = _VALUE_MARK.join(s for s in segments if isinstance(s, str))
    typeset = iter(apply_french_typography(joined).split(_VALUE_MARK))
    return tuple(next(typeset) if isinstance(s, str) else s for s in segments)


def _placeholder(inner: str, field: str, text: str, position: int) -> _Placeholder:
    name, *spec = inner.split(":")
    if not _NAME.fullmatch(name) or len(spec) > 2:
        raise _syntax(field, text, position, "bad_placeholder", placeholder=f"{{{inner}}}")
    kind, style = [*spec, None, None][:2]
    if kind is not None and kind not in get_args(VariableType):
        raise _syntax(field, text, position, "unknown_type", type=kind)
    if style is not None and (kind not in ("date", "datetime") or style not in DATE_STYLES):
        raise _syntax(field, text, position, "unknown_style", style=style)
    return _Placeholder(name, kind, style)


def resolve_locale(locale: str, *, default_territory: str | None = None) -> Locale:
    """The Babel locale for an English or French tag; raises UnsupportedLocale."""
    if _language(locale) not in ("en", "fr"):  # checked first: Babel reads "und" as en_US
        raise UnsupportedLocale(locale)
    try:
        parsed = Locale.parse(locale.replace("-", "_"))
        if parsed.territory is None and default_territory:
            parsed = Locale.parse(f"{parsed.language}_{default_territory.upper()}")
    except (ValueError, TypeError, UnknownLocaleError) as error:
        raise UnsupportedLocale(locale) from error
    return parsed


def _language(tag: str) -> str:
    return tag.replace("_", "-").split("-")[0].lower()


def _check_text(value: object, name: str, single_line: bool) -> str:
    allowed = "\t" if single_line else "\t\n"
    if not isinstance(value, str) or any(
        unicodedata.category(c) in ("Cc", "Zl", "Zp") and c not in allowed for c in value
    ):
        raise InvalidVariable(name, "text")
    return value


def _number(value: object, name: str, expected: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise InvalidVariable(name, expected)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as error:
        raise InvalidVariable(name, expected) from error
    if not number.is_finite():
        raise InvalidVariable(name, expected)
    return number


def _money(value: object, variable: Variable) -> Money:
    amount, currency = value, variable.currency
    if isinstance(value, Money):
        amount, currency = value.amount, value.currency
    elif isinstance(value, Mapping):
        if not set(value) <= {"amount", "currency"}:
            raise InvalidVariable(variable.name, "money")
        amount, currency = value.get("amount"), value.get("currency", variable.currency)
    if not isinstance(currency, str) or not is_currency(currency.upper()):
        raise InvalidVariable(variable.name, "money")
    return Money(_number(amount, variable.name, "money"), currency.upper())


def _temporal(value: object, name: str, kind: str, cls: type[_T], parse: Callable[[str], _T]) -> _T:
    if isinstance(value, str):
        try:
            value = parse(value.strip())
        except ValueError as error:
            raise InvalidVariable(name, kind) from error
    # a datetime is a date too, but its day depends on a zone the caller did not state
    if not isinstance(value, cls) or (cls is date and isinstance(value, datetime)):
        raise InvalidVariable(name, kind)
    return value


def _date_text(day: date, style: DateStyle, locale: Locale) -> str:
    if locale.language == "fr" and day.day == 1 and style in ("long", "full"):
        pattern = re.sub(r"(?<![d'])d(?!d)", "d'er'", locale.date_formats[style].pattern)
        return str(format_date(day, pattern, locale=locale))  # "1er avril", as French writes it
    return str(format_date(day, style, locale=locale))


def _time_text(moment: time, locale: Locale) -> str:
    pattern = _FR_CA_TIME if (locale.language, locale.territory) == ("fr", "CA") else "short"
    return str(format_time(moment.replace(tzinfo=None), pattern, locale=locale))


def _datetime_text(
    value: object, name: str, style: DateStyle, locale: Locale, zone: tzinfo | None
) -> str:
    moment = _temporal(value, name, "datetime", datetime, datetime.fromisoformat)
    if moment.utcoffset() is None:
        raise InvalidVariable(name, "datetime")
    local = moment.astimezone(zone) if zone else moment
    if not isinstance(local.tzinfo, ZoneInfo) and local.utcoffset() == timedelta(0):
        local = local.astimezone(ZoneInfo("UTC"))  # named "UTC" / "TU", not "GMT+00:00"
    pattern = "z" if isinstance(local.tzinfo, ZoneInfo) else "ZZZZ"
    zone_name = format_datetime(local, pattern, tzinfo=local.tzinfo, locale=locale)
    glue = str(get_datetime_format(style, locale=locale)).replace("'", "")
    glue = glue.replace("{0}", f"{_time_text(local.time(), locale)} {zone_name}")
    return glue.replace("{1}", _date_text(local.date(), style, locale))


def _duration_text(value: object, name: str, locale: Locale) -> str:
    if isinstance(value, timedelta):
        total = round(value.total_seconds())
    else:
        total = int(_number(value, name, "duration").to_integral_value())
    if total < 0:
        raise InvalidVariable(name, "duration")
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    units = (("day", days), ("hour", hours), ("minute", minutes), ("second", seconds))
    parts = [format_unit(n, f"duration-{u}", length="long", locale=locale) for u, n in units if n]
    parts = parts or [format_unit(0, "duration-minute", locale=locale)]
    return str(format_list(parts, locale=locale))


def _format(
    value: object,
    variable: Variable,
    style: DateStyle | None,
    locale: Locale,
    zone: tzinfo | None,
    field: str,
) -> str:
    name = variable.name
    match variable.type:
        case "text":
            return _check_text(value, name, single_line=field == "subject")
        case "number":
            return str(format_decimal(_number(value, name, "number"), locale=locale))
        case "money":
            money = _money(value, variable)
            return str(format_currency(money.amount, money.currency, locale=locale))
        case "date":
            day = _temporal(value, name, "date", date, date.fromisoformat)
            return _date_text(day, style or "long", locale)
        case "time":
            return _time_text(_temporal(value, name, "time", time, time.fromisoformat), locale)
        case "datetime":
            return _datetime_text(value, name, style or "long", locale, zone)
        case "duration":
            return _duration_text(value, name, locale)
    raise TemplateSyntaxError("variables", "unknown_type", type=str(variable.type))


def _check_subject(subject: str) -> None:
    if not subject.strip():
        raise TemplateSyntaxError("subject", "empty")
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in subject):
        raise TemplateSyntaxError("subject", "multiline")


def _declared(placeholder: _Placeholder, declared: Mapping[str, Variable], field: str) -> Variable:
    variable = declared.get(placeholder.name)
    if variable is None:
        raise UnknownVariable(placeholder.name)
    if placeholder.type not in (None, variable.type):
        raise TemplateSyntaxError(field, "type_mismatch", name=placeholder.name,
                                  used=str(placeholder.type), type=variable.type)  # fmt: skip
    return variable


def validate_template(template: TemplateVersion) -> None:
    """Check key, locale, subject, body and declared variables; raises the first TemplateError."""
    if not _KEY.fullmatch(template.key) or len(template.key) > 100:
        raise TemplateSyntaxError("key", "bad_key")
    if template.locale not in TEMPLATE_LOCALES:
        raise UnsupportedLocale(template.locale, "/".join(TEMPLATE_LOCALES))
    _check_subject(template.subject)
    if not template.body.strip():
        raise TemplateSyntaxError("body", "empty")
    declared: dict[str, Variable] = {}
    for variable in template.variables:
        if not _NAME.fullmatch(variable.name) or variable.name in declared:
            raise TemplateSyntaxError("variables", "bad_name", name=variable.name)
        if variable.type not in get_args(VariableType):
            raise TemplateSyntaxError("variables", "unknown_type", type=str(variable.type))
        if variable.type == "money" and not is_currency(variable.currency):
            raise InvalidVariable(variable.name, "money")
        declared[variable.name] = variable
    french = _language(template.locale) == "fr"
    for field, text in (("subject", template.subject), ("body", template.body)):
        for segment in _compile(text, field, french):
            if isinstance(segment, _Placeholder):
                _declared(segment, declared, field)


def render(
    template: TemplateVersion,
    variables: Mapping[str, object],
    *,
    locale: str,
    time_zone: str | None = None,
    default_territory: str | None = None,
) -> RenderedMessage:
    """Subject and body with every variable formatted for ``locale``; raises a TemplateError."""
    babel_locale = resolve_locale(locale, default_territory=default_territory)
    if babel_locale.language != _language(template.locale):
        raise UnsupportedLocale(locale, _language(template.locale))
    try:
        zone = ZoneInfo(time_zone) if time_zone else None
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise UnknownTimeZone(str(time_zone)) from error
    declared = {variable.name: variable for variable in template.variables}
    for name in variables:
        if name not in declared:
            raise UnknownVariable(name)
    for variable in template.variables:
        if variables.get(variable.name) is None:
            raise MissingVariable(variable.name)
    _check_subject(template.subject)
    french = babel_locale.language == "fr"

    def fill(text: str, field: str) -> str:
        return "".join(
            s if isinstance(s, str) else _format(variables[s.name], _declared(s, declared, field),
                                                 s.style, babel_locale, zone, field)
            for s in _compile(text, field, french)
        )  # fmt: skip

    tag = str(babel_locale).replace("_", "-")
    return RenderedMessage(fill(template.subject, "subject"), fill(template.body, "body"), tag)


def render_bilingual(
    french: TemplateVersion,
    english: TemplateVersion,
    variables: Mapping[str, object],
    *,
    french_locale: str | None = None,
    english_locale: str | None = None,
    first: Literal["fr", "en"] = "fr",
    separator: str = BILINGUAL_SEPARATOR,
    time_zone: str | None = None,
    default_territory: str | None = None,
) -> RenderedMessage:
    """Both languages in one message, French first unless ``first="en"``; its locale is "und"."""
    for version, language in ((french, "fr"), (english, "en")):
        if _language(version.locale) != language:
            raise UnsupportedLocale(version.locale, language)
    fr = render(french, variables, locale=french_locale or french.locale, time_zone=time_zone,
                default_territory=default_territory)  # fmt: skip
    en = render(english, variables, locale=english_locale or english.locale, time_zone=time_zone,
                default_territory=default_territory)  # fmt: skip
    top, bottom = (fr, en) if first == "fr" else (en, fr)
    body = f"{top.body.rstrip()}\n\n{separator}\n\n{bottom.body}"
    return RenderedMessage(f"{top.subject} / {bottom.subject}", body, "und")


def choose_version(versions: Iterable[TemplateVersion], locale: str) -> TemplateVersion:
    """The version for ``locale``: its exact tag, else its bare language, else that language's."""
    wanted = resolve_locale(locale)
    candidates = list(versions)
    same = sorted((v for v in candidates if _language(v.locale) == wanted.language),
                  key=lambda v: v.locale)  # fmt: skip
    for preferred in (str(wanted).replace("_", "-"), wanted.language):
        for version in same:
            if version.locale == preferred:
                return version
    if same:
        return same[0]
    raise VersionNotFound(candidates[0].key if candidates else "", locale)


def _signature(version: TemplateVersion) -> set[tuple[str, str]]:
    return {(variable.name, variable.type) for variable in version.variables}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # stored naive means UTC


def check_twins(
    versions: Iterable[TemplateVersion], *, tolerance: timedelta = STALE_TOLERANCE
) -> list[TwinProblem]:
    """Missing, stale and mismatched twins (en with fr, en-CA with fr-CA), ordered by key."""
    slots = {(v.key, v.locale): v for v in versions}
    order = {tag: i for i, tag in enumerate(TEMPLATE_LOCALES)}
    problems: list[TwinProblem] = []
    for version in sorted(slots.values(), key=lambda v: (v.key, order.get(v.locale, len(order)))):
        key, locale = version.key, version.locale
        twin_locale = TWIN_LOCALES.get(locale)
        twin = slots.get((key, twin_locale)) if twin_locale else None
        if twin_locale is None or (twin is None and version.single_language):
            continue
        if twin is None:
            problems.append(TwinProblem(key, locale, twin_locale, "missing_twin"))
            continue
        if _language(locale) != "en":
            continue  # each pair is compared once, from its English side
        if version.updated_at and twin.updated_at:
            drift = _aware(version.updated_at) - _aware(twin.updated_at)
            if drift > tolerance:
                problems.append(TwinProblem(key, twin_locale, locale, "stale_twin"))
            elif -drift > tolerance:
                problems.append(TwinProblem(key, locale, twin_locale, "stale_twin"))
        if _signature(version) != _signature(twin):
            problems.append(TwinProblem(key, locale, twin_locale, "variables_differ"))
    return problems
