"""Render bilingual templates: placeholder syntax, validation and Babel formatting per locale.

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
    datetime  aware datetime or ISO 8601 str with offset; shown in ``time_zone``, else in its own
              named zone, else in UTC, always with the zone's generic name, never a bare offset:
              ``le mardi 4 mars 2025 à 9 h 30 (heure de l’Est)``, ``Tuesday, March 4, 2025, at
              9:30 a.m. (Eastern Time)`` (long and full styles; short and medium keep CLDR's glue)
    duration  timedelta or seconds; exact days, hours and minutes, never rounded to one unit
    phone     str, a valid number (``phonenumbers``): international ("+1 514-555-0177") or a
              number of the rendering locale's territory; shown as people write it there, a
              North American one ``514\u00a0555-0177`` in French (OQLF), ``514-555-0177`` in
              English (Canadian style guides: hyphens, no parentheses, the area code always
              dialled), another territory's in its national form, a number of another country
              in international form (``+33 1 23 45 67 89``); an extension follows as
              ``, poste 12`` / ``, ext. 12``. Its spaces do not break (U+00A0): a number is
              never split across lines
A number, an amount or a duration in seconds is at most 10^15 in absolute value (``MAX_MAGNITUDE``).
Every declared variable is required; None counts as missing; an undeclared one is an error. A
declared variable the text does not show is allowed (a required template's wording may leave one
out). An empty text value takes the spaces before it along when a space, punctuation or the end of
the line follows it, so ``Hello {name},`` with no name reads ``Hello,`` (never ``Hello ,``).
A value ending with one full stop ("9 a.m.", "etc.") takes the place of the template's full stop
right after it, so ``At {t}.`` reads ``At 9 a.m.`` (never ``At 9 a.m..``); ellipses stay.

Locales. Formatting takes any Babel locale of English or French (``fr-CA``, ``fr_CA``, ``en``...).
A bare ``fr`` or ``en`` has no default territory: it formats as Babel's ``fr`` (France:
``1 234,56 $CA``, ``09:30``) and ``en`` (United States: ``CA$1,234.56``); pass
``default_territory="CA"`` to format bare tags as Canada. Babel does all formatting; times follow
the conventions of the weekly hours in the out-of-hours notice (``shared.times_of_day``):
``fr_CA`` ``9 h`` and ``9 h 30`` as the OQLF recommends, English ``9 a.m.``, ``9:30 a.m.``,
``noon`` and ``midnight``; and the first of the month in long French dates is ``1er avril``.

French typography (``typography.py``) applies to the literal text of French templates only,
never to values. Errors are in ``errors.py``; the twin rules in ``twins.py``.
"""

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal, TypeVar, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, get_datetime_format, get_timezone_name
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal, is_currency
from babel.units import format_unit
from phonenumbers import (
    NumberParseException,
    PhoneNumber,
    PhoneNumberFormat,
    format_number,
    is_valid_number,
    is_valid_number_for_region,
    national_significant_number,
    parse,
)

from services.translation.templates.errors import (
    MAX_MAGNITUDE,
    InvalidVariable,
    MissingVariable,
    SyntaxReason,
    TemplateSyntaxError,
    UnknownTimeZone,
    UnknownVariable,
    UnsupportedLocale,
    VersionNotFound,
)
from services.translation.templates.typography import KEEP_MARK, VALUE_MARK, apply_french_typography
from shared.times_of_day import time_of_day

VariableType = Literal["text", "number", "money", "date", "time", "datetime", "duration", "phone"]

TEMPLATE_LOCALES = ("en", "fr", "en-CA", "fr-CA")
DateStyle = Literal["short", "medium", "long", "full"]
DATE_STYLES: tuple[DateStyle, ...] = get_args(DateStyle)
DEFAULT_CURRENCY = "CAD"
BILINGUAL_SEPARATOR = "-" * 40

_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_KEY = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}\n]*)\}|[{}]")
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu", "Universal"})
_HORIZONTAL_SPACE = " \t\u00a0\u202f"
_ENDS_A_WORD = frozenset(" \t\n\u00a0\u202f,.;:!?)]»")
_T = TypeVar("_T")


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
class _Placeholder:
    name: str
    type: str | None
    style: DateStyle | None


_Segment = str | _Placeholder


def _syntax(
    field: str, text: str, at: int, reason: SyntaxReason, /, **params: str
) -> TemplateSyntaxError:
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
    if VALUE_MARK in text or KEEP_MARK in text:
        raise TemplateSyntaxError(field, "private_use")
    if not french:
        return tuple(segments)
    joined = VALUE_MARK.join(s for s in segments if isinstance(s, str))
    typeset = iter(apply_french_typography(joined).split(VALUE_MARK))
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
    if language_of(locale) not in ("en", "fr"):  # checked first: Babel reads "und" as en_US
        raise UnsupportedLocale(locale)
    try:
        parsed = Locale.parse(locale.replace("-", "_"))
        if parsed.territory is None and default_territory:
            parsed = Locale.parse(f"{parsed.language}_{default_territory.upper()}")
    except (ValueError, TypeError, UnknownLocaleError) as error:
        raise UnsupportedLocale(locale) from error
    return parsed


def language_of(tag: str) -> str:
    """The lower-case language subtag of a BCP 47 or POSIX tag (``fr-CA`` → ``fr``)."""
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
    if abs(number) > MAX_MAGNITUDE:  # Babel cannot round past ~10^26; no real figure is near
        raise InvalidVariable(name, expected, out_of_range=True)
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
    # the customer's out-of-hours notice writes its hours the same way (``shared.times_of_day``)
    return time_of_day(moment, locale)


def _zone_name(zone: ZoneInfo, locale: Locale, local: datetime | None = None) -> str:
    """The zone's generic long name (« heure de l’Est », "Eastern Time"), as the hours use it;
    for a ``local`` time the clocks show twice (the hour repeated when they go back), its
    specific name (« heure avancée de l’Est », then « heure normale de l’Est »), which tells
    the two apart."""
    if zone.key in _UTC_NAMES:
        return "UTC"  # CLDR has no generic name for UTC: Babel invents « région inconnue »
    variant: Literal["generic", "daylight", "standard"] = "generic"
    if local is not None and local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        variant = "daylight" if local.dst() else "standard"
    return str(get_timezone_name(zone, width="long", zone_variant=variant, locale=locale))


def _datetime_text(
    value: object, name: str, style: DateStyle, locale: Locale, zone: tzinfo | None
) -> str:
    moment = _temporal(value, name, "datetime", datetime, datetime.fromisoformat)
    if moment.utcoffset() is None:
        raise InvalidVariable(name, "datetime")
    local = moment.astimezone(zone) if zone else moment
    named = local.tzinfo if isinstance(local.tzinfo, ZoneInfo) else ZoneInfo("UTC")
    # a bare offset ("-0500") names no place a customer knows: without a zone, show UTC
    local = local.astimezone(named)
    clock = f"{_time_text(local.time(), locale)} ({_zone_name(named, locale, local)})"
    day = _date_text(local.date(), style, locale)
    if style in ("long", "full"):
        # CLDR keeps « à » / "at" in separate atTime formats Babel does not read; the comma after
        # the year is the Canadian and US usage
        return f"{day} à {clock}" if locale.language == "fr" else f"{day}, at {clock}"
    glue = str(get_datetime_format(style, locale=locale)).replace("'", "")
    return glue.replace("{0}", clock).replace("{1}", day)


_NUMBER_THEN_SPACE = re.compile(r"(\d) (?=\D)")


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
    if locale.language == "fr":
        # French keeps a number with its unit; older CLDR data gave fr-CA a plain space there.
        parts = [_NUMBER_THEN_SPACE.sub("\\1\u00a0", part) for part in parts]
    return str(format_list(parts, locale=locale))


_PHONE_LENGTH = 100  # a written number with an extension is far shorter; parsing stays cheap
_EXTENSION = {"en": "ext.", "fr": "poste"}


def _phone(value: object, name: str, locale: Locale) -> PhoneNumber:
    if not isinstance(value, str) or len(value) > _PHONE_LENGTH:
        raise InvalidVariable(name, "phone")
    try:
        number = parse(value, locale.territory)  # without "+": a number of the locale's territory
    except NumberParseException as error:
        raise InvalidVariable(name, "phone") from error
    if not is_valid_number(number):
        raise InvalidVariable(name, "phone")
    return number


def _phone_text(value: object, name: str, locale: Locale) -> str:
    """The number as people write it where the locale is (see the module's docstring)."""
    number = _phone(value, name, locale)
    extension, number.extension = number.extension, None
    # not "the number's region": a toll-free 800 number is the United States' and Canada's
    abroad = not locale.territory or not is_valid_number_for_region(number, locale.territory)
    if number.country_code == 1:  # North America: "(514) 555-0177" is US usage
        digits = national_significant_number(number)
        area = " " if locale.language == "fr" else "-"
        text = f"{'+1 ' if abroad else ''}{digits[:3]}{area}{digits[3:6]}-{digits[6:]}"
    elif abroad:
        text = format_number(number, PhoneNumberFormat.INTERNATIONAL)
    else:
        text = format_number(number, PhoneNumberFormat.NATIONAL)
    text = text.replace(" ", "\u00a0")
    if extension:
        text += f", {_EXTENSION[locale.language]}\u00a0{extension}"
    return text


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
        case "phone":
            return _phone_text(value, name, locale)
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


def validate_key(key: str) -> None:
    """Check a template key is dotted snake_case of at most 100 characters; raises if not."""
    if not _KEY.fullmatch(key) or len(key) > 100:
        raise TemplateSyntaxError("key", "bad_key")


def validate_template(template: TemplateVersion) -> None:
    """Check key, locale, subject, body and declared variables; raises the first TemplateError."""
    validate_key(template.key)
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
    french = language_of(template.locale) == "fr"
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
    if babel_locale.language != language_of(template.locale):
        raise UnsupportedLocale(locale, language_of(template.locale))
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
        segments = _compile(text, field, french)
        out: list[str] = []
        for index, s in enumerate(segments):
            if isinstance(s, str):
                out.append(_after_value(out[-1], s) if index else s)
                continue
            value = _format(variables[s.name], _declared(s, declared, field), s.style,
                            babel_locale, zone, field)  # fmt: skip
            if not value and out and _ends_a_word(segments, index):
                out[-1] = out[-1].rstrip(_HORIZONTAL_SPACE)  # "Hello {name}," → "Hello,"
            out.append(value)
        return "".join(out)

    tag = str(babel_locale).replace("_", "-")
    return RenderedMessage(fill(template.subject, "subject"), fill(template.body, "body"), tag)


def _after_value(value: str, literal: str) -> str:
    """The template's text after a value, less a full stop the value's own ends: "At {t}." with
    "9 a.m." reads "At 9 a.m.", not "At 9 a.m..". An ellipsis, ending the value or starting the
    text, is left as written."""
    if value.endswith(".") and not value.endswith("..") and literal.startswith("."):
        return literal if literal.startswith("..") else literal[1:]
    return literal


def _ends_a_word(segments: tuple[_Segment, ...], index: int) -> bool:
    """Whether the placeholder at ``index`` ends a word: a space, punctuation or the end of the
    line follows it (not another placeholder or a letter, which the empty value would join)."""
    after = segments[index + 1] if index + 1 < len(segments) else ""
    if not isinstance(after, str):
        return False
    if not after:
        return index + 2 >= len(segments)
    return after[0] in _ENDS_A_WORD


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
    language_variables: Mapping[str, Mapping[str, object]] | None = None,
) -> RenderedMessage:
    """Both languages in one message, French first unless ``first="en"``; its locale is "und".
    ``language_variables`` holds values written in each language, laid over ``variables``."""
    for version, language in ((french, "fr"), (english, "en")):
        if language_of(version.locale) != language:
            raise UnsupportedLocale(version.locale, language)
    fr = render(french, in_language(variables, language_variables, "fr"),
                locale=french_locale or french.locale, time_zone=time_zone,
                default_territory=default_territory)  # fmt: skip
    en = render(english, in_language(variables, language_variables, "en"),
                locale=english_locale or english.locale, time_zone=time_zone,
                default_territory=default_territory)  # fmt: skip
    top, bottom = (fr, en) if first == "fr" else (en, fr)
    body = f"{top.body.rstrip()}\n\n{separator}\n\n{bottom.body}"
    return RenderedMessage(f"{top.subject} / {bottom.subject}", body, "und")


def in_language(
    variables: Mapping[str, object],
    language_variables: Mapping[str, Mapping[str, object]] | None,
    language: str,
) -> Mapping[str, object]:
    """The variables for one language's text: its own values over the shared ones."""
    own = (language_variables or {}).get(language)
    return {**variables, **own} if own else variables


def choose_version(versions: Iterable[TemplateVersion], locale: str) -> TemplateVersion:
    """The version for ``locale``: its exact tag, else its bare language, else that language's."""
    wanted = resolve_locale(locale)
    candidates = list(versions)
    same = sorted((v for v in candidates if language_of(v.locale) == wanted.language),
                  key=lambda v: v.locale)  # fmt: skip
    for preferred in (str(wanted).replace("_", "-"), wanted.language):
        for version in same:
            if version.locale == preferred:
                return version
    if same:
        return same[0]
    raise VersionNotFound(candidates[0].key if candidates else "", locale)
