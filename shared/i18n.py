"""Language negotiation and lookup of the English and French texts people read."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from gettext import c2py
from pathlib import Path
from typing import Protocol, runtime_checkable

from babel.lists import format_list
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.units import format_unit

SUPPORTED_LOCALES = ("en", "fr")
SHARED_LOCALE_DIR = Path(__file__).parent / "locales"


def negotiate_locale(accept_language: str | None, default: str = "en") -> str:
    """Return the supported language the client prefers most (RFC 9110 quality values)."""
    if not accept_language:
        return default
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept_language.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = tag.strip().split("-")[0].split("_")[0].lower()
        if language == "*":
            language = default
        if language in SUPPORTED_LOCALES and quality > 0:
            ranked.append((-quality, position, language))
    return sorted(ranked)[0][2] if ranked else default


@lru_cache(maxsize=32)
def _read_catalog(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


#: Which form a count takes: the index into a plural entry's ``msgstr[n]``.
PluralRule = Callable[[int], int]


def _english_plural(n: int) -> int:
    return 0 if n == 1 else 1


class Translator:
    """Looks up French texts in the gettext catalogs of the given folders (English is the key);
    plural entries (``msgid_plural``, ``msgstr[0]``, ``msgstr[1]``) follow each catalog's
    ``Plural-Forms`` rule."""

    def __init__(self, locale_dirs: Iterable[Path]) -> None:
        self._messages: dict[str, dict[str, str]] = {"fr": {}}
        self._plurals: dict[str, dict[tuple[str, str], tuple[tuple[str, ...], PluralRule]]] = {
            "fr": {}
        }
        for folder in locale_dirs:
            for locale in self._messages:
                po = folder / locale / "LC_MESSAGES" / "messages.po"
                if po.exists():
                    catalog = _read_catalog(po)
                    rule: PluralRule = c2py(catalog.plural_expr)
                    for message in catalog:
                        if not message.id or message.fuzzy:
                            continue
                        if isinstance(message.id, tuple | list):
                            forms = tuple(str(form) for form in message.string or ())
                            if len(forms) == catalog.num_plurals and all(forms):
                                key = (str(message.id[0]), str(message.id[1]))
                                self._plurals[locale][key] = (forms, rule)
                        elif message.string:
                            self._messages[locale][str(message.id)] = str(message.string)

    def gettext(self, message: str, locale: str) -> str:
        """Return the message in the locale, or the English text when it has no translation."""
        if isinstance(message, Plural):
            return self.ngettext(message.singular, message, 2, locale)
        return self._messages.get(locale, {}).get(message, message)

    def ngettext(self, singular: str, plural: str, n: int, locale: str) -> str:
        """The form of the message that goes with ``n`` in the locale; English when untranslated."""
        entry = self._plurals.get(locale, {}).get((singular, str(plural)))
        if entry is None:
            return (singular, str(plural))[_english_plural(n)]
        forms, rule = entry
        return forms[min(int(rule(n)), len(forms) - 1)]

    def has(self, message: str, locale: str) -> bool:
        """Whether the catalog of the locale translates this message (all its forms)."""
        if locale == "en":
            return True
        if isinstance(message, Plural):
            return (message.singular, str(message)) in self._plurals.get(locale, {})
        return message in self._messages.get(locale, {})

    def format(self, message: str, locale: str, params: Mapping[str, object]) -> str:
        """Translate, then fill ``{name}`` placeholders, numbers written the locale's way; a
        ``Plural`` message takes the form its count calls for."""
        count = params.get(message.number) if isinstance(message, Plural) else None
        if isinstance(message, Plural) and isinstance(count, int) and not isinstance(count, bool):
            text = self.ngettext(message.singular, message, count, locale)
        else:
            text = self.gettext(message, locale)
        try:
            return text.format(
                **{name: self._local(value, locale) for name, value in params.items()}
            )
        except (KeyError, IndexError, ValueError, ArithmeticError):
            # a problem is rendered whatever its values: its words without them, not a 500
            return text

    def _local(self, value: object, locale: str) -> object:
        """A placeholder's value as the locale writes it: a term from the catalogs translated, a
        localized value in its words, a number with the locale's separators (plain digits when
        too large for Babel); else as is."""
        if isinstance(value, Term):
            return self.gettext(value.text, locale)
        if isinstance(value, Localized):
            return value.in_locale(locale)
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                return format_decimal(value, locale=locale)
            except ArithmeticError:  # past the ~10^26 Babel's decimal context can round
                return str(value)
        return value


@runtime_checkable
class Localized(Protocol):
    """A placeholder's value that writes itself out in each language (see ``Seconds``)."""

    def in_locale(self, locale: str) -> str:
        """The words in this locale."""
        ...


class Term:
    """A word the catalogs translate (a status, a channel, a role), for a message's placeholder:
    ``Term("resolved")`` reads "resolved" in English and « réglée » where French has it."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Term({self.text!r})"


class Seconds:
    """A number of seconds written out, singular or plural as each language has it (``1 second``,
    ``30 secondes``), for a message's placeholder; Babel's units."""

    __slots__ = ("count",)

    def __init__(self, count: int) -> None:
        self.count = count

    def in_locale(self, locale: str) -> str:
        """The words in this locale."""
        return format_unit(self.count, "duration-second", length="long", locale=locale)

    def __str__(self) -> str:
        return self.in_locale("en")


class Plural(str):
    """A message whose words follow a count: the string is the English plural, ``singular`` the
    English singular and ``number`` the placeholder holding the count. ``Translator.format`` picks
    the form: "1 open task" / "2 open tasks", and in French the catalog's plural entry (``msgid``
    the singular, ``msgid_plural`` the plural) by the catalog's rule: « 0 tâche », « 1 tâche »,
    « 2 tâches »."""

    singular: str
    number: str

    def __new__(cls, singular: str, plural: str, *, number: str = "count") -> Plural:
        text = super().__new__(cls, plural)
        text.singular = singular
        text.number = number
        return text

    def __repr__(self) -> str:
        return f"Plural({self.singular!r}, {str(self)!r}, number={self.number!r})"


class Choices:
    """Allowed values listed as each language does: ``'en', 'fr', or 'und'`` and
    « « en », « fr » ou « und » » (Babel's "or" lists), for a message's placeholder."""

    __slots__ = ("values",)

    def __init__(self, values: Iterable[str]) -> None:
        self.values = tuple(values)

    def in_locale(self, locale: str) -> str:
        """The words in this locale."""
        if locale.split("-")[0].split("_")[0] == "fr":
            quoted = [f"\u00ab\u202f{value}\u202f\u00bb" for value in self.values]
        else:
            quoted = [f"'{value}'" for value in self.values]
        return format_list(quoted, style="or", locale=locale)

    def __str__(self) -> str:
        return self.in_locale("en")

    def __repr__(self) -> str:
        return f"Choices({self.values!r})"
